//! Stranded pods: labelled pods that run without what the webhook injects. With
//! `failurePolicy: Ignore`, a pod created while the webhook is unreachable (or before it is
//! installed) is stored unmutated and fails at run time; a container added by a later webhook
//! without reinvocation misses the token; a ServiceAccount annotated after the pod leaves it
//! with stale variables. This module decides, for one stored pod, whether it is stranded and
//! why; the webhook's reconciler (Events, metric, eviction) and `wif doctor --cluster` both
//! ask it, and it does no I/O.
//!
//! The truth is the planner itself: [`plan_mutation`] runs on the pod as stored, with its
//! ServiceAccount as it is now. An empty plan (or one that only writes the record annotation,
//! as for a pod the upstream webhook mutated) means the pod has everything; anything else is
//! read back, operation by operation, into plain words ([`Stranded::missing`]). Fields the
//! API server defaults after admission (the projected volume's `defaultMode`, container
//! defaults) are outside what the planner compares, so a mutated pod re-plans empty.
//! Grouping pods by owner and acting on them belong to the callers.

mod gaps;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::contract;
use crate::mutation::{Denial, MutationRequest, PodView, ServiceAccountInfo, plan_mutation};
use crate::settings::WebhookSettings;
use gaps::{Change, Gap};

/// Why a labelled pod runs without what the webhook injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StrandedReason {
    /// No trace of the webhook (no record annotation, no reserved token volume, no
    /// `AZURE_FEDERATED_TOKEN_FILE`): admitted while the webhook was unreachable under
    /// `failurePolicy: Ignore`, or before it was installed.
    NeverMutated,
    /// The webhook mutated the pod, but a container it does not skip lacks the env or the
    /// mount (added after the webhook ran, by a later webhook without reinvocation).
    ContainerMissed,
    /// The record is stale: what the webhook would inject now differs (the ServiceAccount was
    /// annotated after the pod: no `AZURE_CLIENT_ID` then, a client id now; or the webhook's
    /// settings changed).
    ServiceAccountChanged,
    /// The pod's ServiceAccount does not exist now: the webhook refuses such a pod, so
    /// recreating it does not help until the ServiceAccount is back.
    ServiceAccountMissing,
    /// The webhook would refuse this pod now: recreating it would fail too.
    WouldBeDenied,
}

impl StrandedReason {
    /// Every reason, in order (metric label values are initialised from it).
    pub const ALL: [StrandedReason; 5] = [
        StrandedReason::NeverMutated,
        StrandedReason::ContainerMissed,
        StrandedReason::ServiceAccountChanged,
        StrandedReason::ServiceAccountMissing,
        StrandedReason::WouldBeDenied,
    ];

    /// The metric label value (`wif_webhook_stranded_pods{reason}`), `snake_case`.
    pub fn label(self) -> &'static str {
        match self {
            StrandedReason::NeverMutated => "never_mutated",
            StrandedReason::ContainerMissed => "container_missed",
            StrandedReason::ServiceAccountChanged => "service_account_changed",
            StrandedReason::ServiceAccountMissing => "service_account_missing",
            StrandedReason::WouldBeDenied => "would_be_denied",
        }
    }

    /// Whether recreating the pod through a healthy webhook fixes it.
    pub fn healable(self) -> bool {
        matches!(
            self,
            StrandedReason::NeverMutated | StrandedReason::ContainerMissed | StrandedReason::ServiceAccountChanged
        )
    }

    /// The reason in plain words, for any number of pods (`never mutated by the webhook
    /// (...)`): the doctor's grouped findings use it.
    pub fn explain(self) -> &'static str {
        match self {
            StrandedReason::NeverMutated => {
                "never mutated by the webhook (admitted while it was unreachable under failurePolicy: Ignore, or before it was installed)"
            }
            StrandedReason::ContainerMissed => {
                "mutated by the webhook, but a container was added after it ran (by a later webhook, without reinvocation)"
            }
            StrandedReason::ServiceAccountChanged => {
                "mutated for what the ServiceAccount (or the webhook's settings) said then: what the webhook injects has changed since"
            }
            StrandedReason::ServiceAccountMissing => {
                "left unmutated, and their ServiceAccount does not exist: the webhook refuses such pods"
            }
            StrandedReason::WouldBeDenied => "left unmutated, and the webhook would refuse them now",
        }
    }
}

impl std::fmt::Display for StrandedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// A stranded pod: why, what the webhook would add or change, and one sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stranded {
    /// Why.
    pub reason: StrandedReason,
    /// What the webhook would add or change, one item each, in plain words
    /// (`env AZURE_CLIENT_ID in container web`, `token mount in container web`, `token volume`).
    pub missing: Vec<String>,
    /// One sentence naming the pod, the reason (its label too), what is missing and the fix:
    /// a Kubernetes Event's message or a doctor finding's.
    pub message: String,
}

/// How many parts a summary names before `and N more`.
const NAMED_PARTS: usize = 6;

/// `a, b and c`.
fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [only] => only.clone(),
        [first @ .., last] => format!("{} and {last}", first.join(", ")),
    }
}

/// The items of [`Stranded::missing`] in a few words: the items about one container together
/// (`env AZURE_CLIENT_ID, AZURE_TENANT_ID and token mount in container web`), the first few
/// such parts named, the others counted.
pub fn summarize(items: &[String]) -> String {
    // Consecutive items about the same container (and change) make one part.
    let mut parts: Vec<(Vec<&str>, Option<&str>)> = Vec::new();
    for item in items {
        match item.split_once(" in container ") {
            Some((what, container)) => match parts.last_mut() {
                Some((whats, Some(last))) if *last == container => whats.push(what),
                _ => parts.push((vec![what], Some(container))),
            },
            None => parts.push((vec![item.as_str()], None)),
        }
    }
    let phrases: Vec<String> = parts
        .iter()
        .map(|(whats, container)| {
            // `env A`, `env B` → `env A, B`.
            let mut words: Vec<String> = Vec::new();
            for what in whats {
                match (what.strip_prefix("env "), words.last_mut()) {
                    (Some(name), Some(last)) if last.starts_with("env ") => {
                        last.push_str(", ");
                        last.push_str(name);
                    }
                    _ => words.push((*what).to_owned()),
                }
            }
            let words = and_list(&words);
            match container {
                Some(c) => format!("{words} in container {c}"),
                None => words,
            }
        })
        .collect();
    let shown = phrases.len().min(NAMED_PARTS);
    match (&phrases[..shown], phrases.len() - shown) {
        ([], _) => String::new(),
        ([only], 0) => only.clone(),
        ([first @ .., last], 0) => format!("{}, and {last}", first.join(", ")),
        (named, rest) => format!("{}, and {rest} more", named.join(", ")),
    }
}

/// The annotation the kubelet puts on the mirror pod of a static pod.
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Whether the pod carries the webhook's label (`azure.workload.identity/use: "true"`, exactly
/// as its objectSelector matches).
fn labelled(pod: &PodView<'_>) -> bool {
    pod.label(contract::LABEL_USE) == Some(contract::LABEL_USE_VALUE)
}

/// Whether a webhook (this one or upstream's) has mutated the pod: the record annotation, a
/// reserved token volume, or `AZURE_FEDERATED_TOKEN_FILE` in a container. A volume alone
/// is no trace: users pre-declare the legacy `azure-identity-token` volume themselves.
fn bears_the_webhooks_trace(pod: &PodView<'_>) -> bool {
    let reserved_volume = pod.volumes().unwrap_or_default().iter().any(|v| {
        v.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.starts_with(contract::RESERVED_VOLUME_PREFIX))
    });
    let token_env = pod
        .init_containers()
        .unwrap_or_default()
        .iter()
        .chain(pod.containers())
        .any(|c| {
            c.env
                .iter()
                .flatten()
                .any(|e| e.name.as_str() == contract::ENV_FEDERATED_TOKEN_FILE)
        });
    pod.annotation(contract::WIF_ANNOTATION_INJECTED_ENV).is_some() || reserved_volume || token_env
}

/// The planner's gaps for the pod with `account`, or its denial.
fn plan_gaps(
    pod: &PodView<'_>,
    namespace: &str,
    account: &ServiceAccountInfo,
    settings: &WebhookSettings,
) -> Result<gaps::Reading, Denial> {
    let request = MutationRequest {
        pod,
        namespace,
        service_account: account,
        pod_name_hint: None,
    };
    plan_mutation(&request, settings).map(|plan| gaps::read(pod, &plan.operations))
}

/// Whether `pod` (as stored by the API server, any defaulted fields included) in `namespace`,
/// labelled for workload identity, lacks what the webhook would inject given its
/// ServiceAccount now (`None`: the ServiceAccount does not exist) and the settings; `None`
/// when it is fine, not labelled, being deleted, or finished (phase `Succeeded`/`Failed`),
/// and for the mirror pod of a static pod.
///
/// A pod the webhook mutated but would refuse now, or whose ServiceAccount is gone, has its
/// token and is not stranded; only an unmutated one is (`WouldBeDenied`,
/// `ServiceAccountMissing`).
///
/// ```
/// use wif_core::mutation::{PodView, ServiceAccountInfo};
/// use wif_core::stranded::{StrandedReason, stranded};
/// use wif_core::{WebhookSettings, contract};
/// // Stored while the webhook was down: labelled, but no env, no token volume.
/// let pod = r#"{"metadata": {"name": "web-5d8f-abcde", "namespace": "demo",
///                            "labels": {"azure.workload.identity/use": "true"}},
///               "spec": {"serviceAccountName": "app", "containers": [{"name": "web", "image": "web:1"}]},
///               "status": {"phase": "Running"}}"#;
/// let view = PodView::from_json(pod).expect("a pod");
/// let account = ServiceAccountInfo {
///     namespace: "demo".into(),
///     name: "app".into(),
///     annotations: [(contract::ANNOTATION_CLIENT_ID.to_owned(), "11111111-0000-4000-8000-000000000001".to_owned())].into(),
/// };
/// let settings = WebhookSettings::new("aaaaaaaa-0000-4000-8000-00000000000a");
/// let found = stranded(&view, "demo", Some(&account), &settings).expect("stranded");
/// assert_eq!(found.reason, StrandedReason::NeverMutated);
/// assert!(found.missing.contains(&"env AZURE_CLIENT_ID in container web".to_owned()));
/// assert!(found.message.starts_with("pod demo/web-5d8f-abcde is stranded (never_mutated)"));
/// ```
pub fn stranded(
    pod: &PodView<'_>,
    namespace: &str,
    service_account: Option<&ServiceAccountInfo>,
    settings: &WebhookSettings,
) -> Option<Stranded> {
    // A mirror pod stands for a static pod, which the kubelet runs from its file: no webhook
    // acts on it, and recreating the mirror changes nothing.
    let mirror = pod.annotation(MIRROR_ANNOTATION).is_some();
    if !labelled(pod) || mirror || pod.is_being_deleted() || matches!(pod.phase(), Some("Succeeded" | "Failed")) {
        return None;
    }
    let traced = bears_the_webhooks_trace(pod);
    let sa_ref = format!("{namespace}/{}", pod.service_account_name());
    let pod_ref = format!("{namespace}/{}", pod.display_name().unwrap_or_default());
    // What an unplannable pod lacks: the plan for a ServiceAccount without annotations.
    let bare_gaps = || {
        let placeholder = ServiceAccountInfo {
            namespace: namespace.to_owned(),
            name: pod.service_account_name().to_owned(),
            annotations: BTreeMap::new(),
        };
        plan_gaps(pod, namespace, &placeholder, settings).map_or_else(|_| Vec::new(), |r| r.gaps)
    };
    let (reason, gaps, detail) = match service_account.map(|sa| plan_gaps(pod, namespace, sa, settings)) {
        None if traced => return None,
        None => (StrandedReason::ServiceAccountMissing, bare_gaps(), None),
        Some(Err(_)) if traced => return None,
        Some(Err(denial)) => (StrandedReason::WouldBeDenied, bare_gaps(), Some(denial.message)),
        Some(Ok(reading)) if reading.gaps.is_empty() => return None,
        Some(Ok(reading)) => {
            let record_stale =
                reading.record_changes && pod.annotation(contract::WIF_ANNOTATION_INJECTED_ENV).is_some();
            let outdated = reading.gaps.iter().any(|g| g.change() != Change::Missing);
            let reason = if !traced {
                StrandedReason::NeverMutated
            } else if record_stale || outdated {
                StrandedReason::ServiceAccountChanged
            } else {
                StrandedReason::ContainerMissed
            };
            (reason, reading.gaps, None)
        }
    };
    let missing: Vec<String> = gaps.iter().map(Gap::to_string).collect();
    let message = message(reason, &pod_ref, &sa_ref, detail.as_deref(), &missing);
    Some(Stranded {
        reason,
        missing,
        message,
    })
}

fn message(reason: StrandedReason, pod_ref: &str, sa_ref: &str, denial: Option<&str>, missing: &[String]) -> String {
    let why = match reason {
        StrandedReason::NeverMutated => {
            "the webhook never mutated it (it was admitted while the webhook was unreachable under failurePolicy: Ignore, or before the webhook was installed)".to_owned()
        }
        StrandedReason::ContainerMissed => {
            "the webhook mutated it, but a container was added after the webhook ran (by a later webhook, without reinvocation)".to_owned()
        }
        StrandedReason::ServiceAccountChanged => format!(
            "what the webhook injects changed after the pod was created (ServiceAccount {sa_ref} or the webhook's settings changed)"
        ),
        StrandedReason::ServiceAccountMissing => {
            format!("it was not mutated and its ServiceAccount {sa_ref} does not exist (the webhook refuses such pods)")
        }
        StrandedReason::WouldBeDenied => format!(
            "it was not mutated and the webhook would refuse it now: {}",
            denial.unwrap_or("denied")
        ),
    };
    let fix = match reason {
        StrandedReason::ServiceAccountMissing => {
            format!(
                "create ServiceAccount {sa_ref} with its {} annotation, then recreate the pod",
                contract::ANNOTATION_CLIENT_ID
            )
        }
        StrandedReason::WouldBeDenied => "fix what the webhook refuses, then recreate the pod".to_owned(),
        _ => "recreate it through the webhook (restart its workload, or let wif webhook --heal=evict evict it)"
            .to_owned(),
    };
    let label = reason.label();
    let lacks = if reason == StrandedReason::ServiceAccountChanged {
        "out of date"
    } else {
        "missing"
    };
    if missing.is_empty() {
        format!("pod {pod_ref} is stranded ({label}): {why}; {fix}")
    } else {
        format!(
            "pod {pod_ref} is stranded ({label}): {why}; {lacks}: {}; {fix}",
            summarize(missing)
        )
    }
}

/// Whether evicting a pod stranded for `reason` heals it: its controller's new pod gets what
/// the webhook injects. A changed ServiceAccount counts only for a pod that runs without a
/// client id (its account was created or annotated after it): one whose values are merely out
/// of date (the webhook's settings changed since) has its token and works, and healing it
/// would restart every labelled pod after a settings change. `pod` is the stored pod's JSON.
///
/// ```
/// use wif_core::stranded::{StrandedReason, evicting_heals};
/// let running = serde_json::json!({"spec": {"containers": [{"name": "app", "env": [{"name": "AZURE_CLIENT_ID", "value": "c"}]}]}});
/// assert!(!evicting_heals(StrandedReason::ServiceAccountChanged, &running));
/// assert!(evicting_heals(StrandedReason::NeverMutated, &running));
/// let without = serde_json::json!({"spec": {"containers": [{"name": "app"}]}});
/// assert!(evicting_heals(StrandedReason::ServiceAccountChanged, &without));
/// assert!(!evicting_heals(StrandedReason::WouldBeDenied, &without));
/// assert!(!evicting_heals(StrandedReason::ServiceAccountMissing, &without));
/// ```
pub fn evicting_heals(reason: StrandedReason, pod: &serde_json::Value) -> bool {
    if reason != StrandedReason::ServiceAccountChanged {
        return reason.healable();
    }
    let has_client_id = pod["spec"]["containers"].as_array().is_some_and(|containers| {
        containers.iter().any(|c| {
            c["env"]
                .as_array()
                .is_some_and(|env| env.iter().any(|e| e["name"] == crate::contract::ENV_CLIENT_ID))
        })
    });
    !has_client_id
}

/// The cheap look, on metadata only (what a metadata-only watch gives): whether the pod may
/// be stranded and is worth fetching whole. True when labelled and: no record annotation, or
/// the record does not match what the ServiceAccount's annotations would inject now (or the
/// ServiceAccount is missing, or the webhook would refuse the pod). False for pods not
/// labelled. A pod the upstream webhook mutated has no record: it is worth one look, which
/// finds it fine. A container added later is seen only by [`stranded`]: the record says
/// nothing about containers.
///
/// ```
/// use std::collections::BTreeMap;
/// use wif_core::mutation::ServiceAccountInfo;
/// use wif_core::stranded::worth_a_look;
/// use wif_core::{WebhookSettings, contract};
/// let labels = BTreeMap::from([(contract::LABEL_USE.to_owned(), "true".to_owned())]);
/// let account = ServiceAccountInfo { namespace: "demo".into(), name: "app".into(), annotations: BTreeMap::new() };
/// let settings = WebhookSettings::new("aaaaaaaa-0000-4000-8000-00000000000a");
/// // No record annotation: never seen by wif's webhook.
/// assert!(worth_a_look(&labels, &BTreeMap::new(), Some(&account), &settings));
/// // Not labelled: none of the webhook's business.
/// assert!(!worth_a_look(&BTreeMap::new(), &BTreeMap::new(), Some(&account), &settings));
/// ```
pub fn worth_a_look(
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    service_account: Option<&ServiceAccountInfo>,
    settings: &WebhookSettings,
) -> bool {
    if labels.get(contract::LABEL_USE).map(String::as_str) != Some(contract::LABEL_USE_VALUE) {
        return false;
    }
    let Some(account) = service_account else {
        return true;
    };
    if !annotations.contains_key(contract::WIF_ANNOTATION_INJECTED_ENV) {
        return true;
    }
    // A pod of these annotations and no containers: the planner writes the record only when
    // the one it has differs from what it would inject now.
    let annotations: Map<String, Value> = annotations
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let shell = serde_json::json!({ "metadata": { "annotations": annotations }, "spec": { "containers": [] } });
    let Ok(view) = PodView::from_value(&shell) else {
        return true;
    };
    plan_gaps(&view, &account.namespace, account, settings).map_or(true, |reading| reading.record_changes)
}

#[cfg(test)]
mod tests;
