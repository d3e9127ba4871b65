//! `wif doctor --cluster`'s stranded pods: the labelled pods of a live cluster that run
//! without what the webhook injects, judged by [`crate::stranded::stranded`] (the rule the
//! webhook's reconciler runs), reported once per owner and reason, since the fix is the
//! owner's (a Deployment's rollout restart), and once per pod without a controller. The CLI
//! lists the objects; this only reads them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::input::{Finding, ObjectRef};
use crate::contract;
use crate::manifest::namespace_and_name;
use crate::mutation::{MutationRequest, PodView, ServiceAccountInfo, plan_mutation};
use crate::rules::Rule;
use crate::settings::WebhookSettings;
use crate::stranded::{Stranded, StrandedReason, stranded, summarize};

/// The live objects the stranded-pod check reads, as the API server lists them.
#[derive(Debug, Clone, Copy)]
pub struct LivePods<'a> {
    /// Pods (those not labelled `azure.workload.identity/use: "true"` are passed over).
    pub pods: &'a [Value],
    /// ServiceAccounts: a pod's is looked up among them, and missing when not there.
    pub service_accounts: &'a [Value],
    /// ReplicaSets: a ReplicaSet's pods are reported under its Deployment.
    pub replica_sets: &'a [Value],
}

/// How many pod names a finding lists before `and N more`.
const NAMED_PODS: usize = 3;

/// Who recreates a pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Owner {
    namespace: String,
    /// `Deployment`, `ReplicaSet`, `StatefulSet`..., or `Pod` for a pod without a controller.
    kind: String,
    name: String,
    /// The ReplicaSet between a Deployment and its pods.
    replica_set: Option<String>,
}

/// The `kind` and `name` of `object`'s controller, if it has one.
fn controller(object: &Value) -> Option<(String, String)> {
    let owners = object.pointer("/metadata/ownerReferences")?.as_array()?;
    let owner = owners.iter().find(|o| o["controller"] == Value::Bool(true))?;
    Some((owner["kind"].as_str()?.to_owned(), owner["name"].as_str()?.to_owned()))
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// One finding per owner and reason (for a pod without a controller: per pod), errors.
pub fn stranded_pods(live: &LivePods<'_>, settings: &WebhookSettings) -> Vec<Finding> {
    let accounts: BTreeMap<(String, String), ServiceAccountInfo> = live
        .service_accounts
        .iter()
        .map(|sa| {
            let (namespace, name) = namespace_and_name(sa, "default");
            let annotations = string_map(sa.pointer("/metadata/annotations"));
            let key = (namespace.clone(), name.clone());
            (
                key,
                ServiceAccountInfo {
                    namespace,
                    name,
                    annotations,
                },
            )
        })
        .collect();
    let replica_sets: BTreeMap<(String, String), &Value> = live
        .replica_sets
        .iter()
        .map(|rs| (namespace_and_name(rs, "default"), rs))
        .collect();

    let mut groups: BTreeMap<(Owner, StrandedReason), Vec<Pod>> = BTreeMap::new();
    for value in live.pods {
        let Ok(view) = PodView::from_value(value) else {
            continue;
        };
        let (namespace, name) = namespace_and_name(value, "default");
        let account = accounts.get(&(namespace.clone(), view.service_account_name().to_owned()));
        let Some(found) = stranded(&view, &namespace, account, settings) else {
            continue;
        };
        // Values merely out of date may be the doctor's settings, not the webhook's (its
        // tenant, cloud or layout): only a pod that runs without a client id is reported.
        if found.reason == StrandedReason::ServiceAccountChanged
            && !crate::stranded::evicting_heals(found.reason, value)
        {
            continue;
        }
        let refusal = (found.reason == StrandedReason::WouldBeDenied)
            .then(|| account.and_then(|sa| refusal(&view, &namespace, sa, settings)))
            .flatten();
        let owner = match controller(value) {
            Some((kind, rs)) if kind == "ReplicaSet" => {
                let deployment = replica_sets
                    .get(&(namespace.clone(), rs.clone()))
                    .and_then(|rs| controller(rs))
                    .filter(|(kind, _)| kind == "Deployment");
                match deployment {
                    Some((kind, deployment)) => Owner {
                        namespace: namespace.clone(),
                        kind,
                        name: deployment,
                        replica_set: Some(rs),
                    },
                    None => Owner {
                        namespace: namespace.clone(),
                        kind,
                        name: rs,
                        replica_set: None,
                    },
                }
            }
            Some((kind, owner)) => Owner {
                namespace: namespace.clone(),
                kind,
                name: owner,
                replica_set: None,
            },
            None => Owner {
                namespace: namespace.clone(),
                kind: "Pod".into(),
                name: name.clone(),
                replica_set: None,
            },
        };
        groups.entry((owner, found.reason)).or_default().push(Pod {
            name,
            service_account: view.service_account_name().to_owned(),
            found,
            refusal,
        });
    }
    groups
        .into_iter()
        .map(|((owner, reason), pods)| finding(&owner, reason, &pods))
        .collect()
}

/// A stranded pod of a group.
struct Pod {
    name: String,
    service_account: String,
    found: Stranded,
    /// What the webhook refuses, for `WouldBeDenied`.
    refusal: Option<String>,
}

/// The webhook's reason to refuse the pod now.
fn refusal(
    view: &PodView<'_>,
    namespace: &str,
    account: &ServiceAccountInfo,
    settings: &WebhookSettings,
) -> Option<String> {
    let request = MutationRequest {
        pod: view,
        namespace,
        service_account: account,
        pod_name_hint: None,
    };
    plan_mutation(&request, settings).err().map(|denial| denial.message)
}

fn finding(owner: &Owner, reason: StrandedReason, pods: &[Pod]) -> Finding {
    let ns = &owner.namespace;
    let label = reason.label();
    let explain = reason.explain();
    let first = pods.first();
    let missing = first.map(|p| summarize(&p.found.missing)).unwrap_or_default();
    let missing = if missing.is_empty() {
        String::new()
    } else {
        format!("; missing: {missing}")
    };
    let bare = owner.kind == "Pod";
    let message = if bare {
        format!(
            "stranded ({label}): pod {ns}/{} (no controller) runs without what the webhook would inject now, {explain}{missing}",
            owner.name
        )
    } else {
        let names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
        let listed = match names.as_slice() {
            [] => String::new(),
            [only] => (*only).to_owned(),
            [first @ .., last] if names.len() <= NAMED_PODS => format!("{} and {last}", first.join(", ")),
            many => format!("{} and {} more", many[..NAMED_PODS].join(", "), many.len() - NAMED_PODS),
        };
        let via = owner
            .replica_set
            .as_ref()
            .map(|rs| format!(" (ReplicaSet {rs})"))
            .unwrap_or_default();
        let count = match pods.len() {
            1 => "1 pod".to_owned(),
            n => format!("{n} pods"),
        };
        let verb = if pods.len() == 1 { "runs" } else { "run" };
        format!(
            "stranded ({label}): {count} of {} {ns}/{}{via} {verb} without what the webhook would inject now, {explain}: {listed}{missing}",
            owner.kind, owner.name
        )
    };
    let recreate = match owner.kind.as_str() {
        "Deployment" | "StatefulSet" | "DaemonSet" => format!(
            "kubectl rollout restart {}/{} -n {ns}",
            owner.kind.to_ascii_lowercase(),
            owner.name
        ),
        "Pod" => format!(
            "recreate the pod through the webhook: kubectl get pod {} -n {ns} -o yaml | kubectl replace --force -f -",
            owner.name
        ),
        kind => format!(
            "kubectl delete pod {} -n {ns} (its {kind} creates them again, through the webhook)",
            pods.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(" ")
        ),
    };
    let fix = match reason {
        StrandedReason::ServiceAccountMissing => format!(
            "create ServiceAccount {ns}/{} with its {} annotation, then {recreate}",
            first.map_or("default", |p| p.service_account.as_str()),
            contract::ANNOTATION_CLIENT_ID
        ),
        StrandedReason::WouldBeDenied => {
            let why = first
                .and_then(|p| p.refusal.as_deref())
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!("fix what the webhook refuses{why}, then {recreate}")
        }
        _ if bare => format!("{recreate} (wif webhook --heal=evict leaves pods without a controller alone)"),
        _ => format!(
            "{recreate}; or let the webhook do it: wif webhook --heal=evict evicts the stranded pods of controllers"
        ),
    };
    let object = ObjectRef {
        kind: owner.kind.clone(),
        namespace: ns.clone(),
        name: owner.name.clone(),
        source: None,
        document: None,
    };
    Finding::new(Rule::PodStranded, object, message, fix)
}

#[cfg(test)]
mod tests;
