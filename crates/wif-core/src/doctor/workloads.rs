//! The manifest rules: every workload's pod template and ServiceAccount, as the webhook would
//! see them (its own planner runs, so its warnings and denials become findings with their
//! rules), plus what only a look at the whole set shows: a label in the wrong place (on a
//! ServiceAccount: [`crate::manifest::misplaced_labels`], the advice `wif render` gives too),
//! one identity shared by many workloads. Each finding is about the object that carries the
//! wrong value; refusals are placed by [`super::refusals`], the container rules (secrets that
//! DefaultAzureCredential would pick first, variables that contradict the ServiceAccount) are
//! [`super::containers`]'s.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::containers::{self, Expected};
use super::federation;
use super::fixes::{Place, fix_of_advice};
use super::input::{Document, Finding, Input, ObjectRef, subject_of};
use super::refusals::{Refused, refusal};
use crate::contract;
use crate::manifest::{
    PodTemplateUse, ServiceAccountUsers, is_opted_in, misplaced_labels, namespace_and_name, pod_template_path,
    service_account_name,
};
use crate::mutation::{MutationRequest, PodView, ServiceAccountInfo, Target, annotation_warnings, plan_mutation};
use crate::rules::Rule;

/// One object of the input (`List` items flattened).
struct Object<'a> {
    document: &'a Document,
    value: &'a Value,
    kind: &'a str,
    namespace: String,
    name: String,
}

impl Object<'_> {
    fn reference(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.to_owned(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            source: Some(self.document.source.clone()),
            document: Some(self.document.index),
        }
    }
}

fn collect<'a>(document: &'a Document, value: &'a Value, default_namespace: &str, out: &mut Vec<Object<'a>>) {
    let Some(kind) = value.get("kind").and_then(Value::as_str) else {
        return;
    };
    if kind == "List" {
        for item in value.get("items").and_then(Value::as_array).into_iter().flatten() {
            collect(document, item, default_namespace, out);
        }
        return;
    }
    let (namespace, name) = namespace_and_name(value, default_namespace);
    out.push(Object {
        document,
        value,
        kind,
        namespace,
        name,
    });
}

fn string_map(value: Option<&Value>) -> BTreeMap<&str, &str> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
                .collect()
        })
        .unwrap_or_default()
}

struct Account<'a> {
    object: &'a Object<'a>,
    info: ServiceAccountInfo,
}

impl Account<'_> {
    fn client_id(&self) -> &str {
        self.info
            .annotations
            .get(contract::ANNOTATION_CLIENT_ID)
            .map_or("", |s| s.trim())
    }

    fn tenant_id<'s>(&'s self, input: &'s Input<'_>) -> &'s str {
        self.info
            .annotations
            .get(contract::ANNOTATION_TENANT_ID)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .unwrap_or(&input.settings.default_tenant_id)
    }
}

/// Every manifest rule.
pub(super) fn check(input: &Input<'_>) -> Vec<Finding> {
    let mut objects = Vec::new();
    for document in input.documents {
        collect(document, &document.value, input.default_namespace, &mut objects);
    }
    let mut findings = Vec::new();
    let mut accounts: BTreeMap<(String, String), Account<'_>> = BTreeMap::new();
    let runs_as =
        ServiceAccountUsers::from_documents(input.documents.iter().map(|d| &d.value), input.default_namespace);
    for object in objects.iter().filter(|o| o.kind == "ServiceAccount") {
        let metadata = object.value.get("metadata");
        let annotations = string_map(metadata.and_then(|m| m.get("annotations")));
        for misplaced in misplaced_labels(object.value, input.default_namespace, &runs_as) {
            let advice = misplaced.advice;
            findings.push(Finding::new(
                advice.rule,
                object.reference(),
                advice.message,
                misplaced.fix,
            ));
        }
        let wif_keys: Vec<&str> = annotations
            .keys()
            .copied()
            .filter(|k| k.starts_with(contract::WIF_PREFIX))
            .collect();
        let sa_ref = format!("{}/{}", object.namespace, object.name);
        let place = Place::ServiceAccount {
            reference: &sa_ref,
            users: runs_as.of(&object.namespace, &object.name),
        };
        for advice in annotation_warnings(Target::ServiceAccount, &sa_ref, &annotations, &wif_keys) {
            let fix = fix_of_advice(advice.rule, &advice.message, &place);
            findings.push(Finding::new(advice.rule, object.reference(), advice.message, fix));
        }
        let info = ServiceAccountInfo {
            namespace: object.namespace.clone(),
            name: object.name.clone(),
            annotations: annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        accounts.insert(
            (object.namespace.clone(), object.name.clone()),
            Account { object, info },
        );
    }

    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for object in &objects {
        let Some(path) = pod_template_path(object.kind) else {
            continue;
        };
        let Some(template) = path.iter().try_fold(object.value, |v, token| v.get(*token)) else {
            continue;
        };
        let template_use = PodTemplateUse {
            object: object.reference().to_string(),
            template_path: path.join("."),
            labelled: is_opted_in(template),
        };
        if let Some(leftover) = pod_identity_leftover(object, template, &template_use.template_path) {
            findings.push(leftover);
        }
        let workload = Workload {
            object,
            template,
            template_use: &template_use,
        };
        if let Some(client_id) = check_workload(input, &workload, &accounts, &runs_as, &mut findings) {
            users
                .entry(client_id.to_ascii_lowercase())
                .or_default()
                .insert(object.reference().to_string());
        }
    }
    for (client_id, workloads) in users {
        if workloads.len() > 1 {
            let list: Vec<&str> = workloads.iter().map(String::as_str).collect();
            findings.push(Finding::new(
                Rule::ClientIdShared,
                ObjectRef {
                    kind: "Identity".into(),
                    namespace: String::new(),
                    name: client_id.clone(),
                    source: None,
                    document: None,
                },
                format!("client id {client_id} is used by {} workloads: {}", list.len(), list.join(", ")),
                "give each workload its own managed identity or application (and credential), with only the roles it needs",
            ));
        }
    }
    findings
}

/// A pod template that still carries aad-pod-identity's binding label. One migrated whose
/// selector names the label (it cannot change) is left alone: it opts in to the webhook too.
fn pod_identity_leftover(object: &Object<'_>, template: &Value, template_path: &str) -> Option<Finding> {
    let label = crate::migrate::BINDING_LABEL;
    let selector = template.pointer("/metadata/labels")?.get(label)?.as_str()?;
    let pinned = crate::migrate::selector_needs_binding_label(object.value);
    if pinned && is_opted_in(template) {
        return None;
    }
    Some(Finding::new(
        Rule::PodIdentityLeftover,
        object.reference(),
        format!(
            "the pod template ({template_path}) carries aad-pod-identity's label {label}: {selector}, which gives its pods no identity once aad-pod-identity's NMI is gone"
        ),
        "wif migrate pod-identity -f (this workload and its AzureIdentity and AzureIdentityBinding objects): a ServiceAccount with the identity's client id, the azure.workload.identity/use label and the federated credential, in place of the label",
    ))
}

/// A workload object and its pod template.
struct Workload<'a> {
    object: &'a Object<'a>,
    template: &'a Value,
    template_use: &'a PodTemplateUse,
}

/// The rules of one workload; returns the client id it federates with, if it does.
fn check_workload(
    input: &Input<'_>,
    workload: &Workload<'_>,
    accounts: &BTreeMap<(String, String), Account<'_>>,
    runs_as: &ServiceAccountUsers,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let Workload {
        object,
        template,
        template_use,
    } = *workload;
    let metadata = template.get("metadata");
    let spec = template.get("spec");
    let sa_name = service_account_name(template);
    let sa_ref = format!("{}/{sa_name}", object.namespace);
    let account = accounts.get(&(object.namespace.clone(), sa_name.to_owned()));
    let here = object.reference();
    let use_label = format!("{}: \"true\"", contract::LABEL_USE);
    let pod_place = Place::PodTemplate {
        template: template_use,
        service_account: &sa_ref,
    };
    if !template_use.labelled {
        let workload_labels = if object.kind == "Pod" {
            None
        } else {
            object
                .value
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(Value::as_object)
        };
        let advice = crate::mutation::opt_in_advice(
            workload_labels,
            metadata.and_then(|m| m.get("labels")).and_then(Value::as_object),
            metadata.and_then(|m| m.get("annotations")).and_then(Value::as_object),
        );
        if advice.is_empty() {
            if let Some(account) = account.filter(|a| !a.client_id().is_empty()) {
                findings.push(Finding::new(
                    Rule::LabelMissing,
                    here,
                    format!(
                        "ServiceAccount {sa_ref} names client id {}, but the pod template is not labelled {use_label}: the webhook leaves it alone",
                        account.client_id()
                    ),
                    fix_of_advice(Rule::LabelMissing, "", &pod_place),
                ));
            }
        } else {
            for advice in advice {
                let fix = fix_of_advice(advice.rule, &advice.message, &pod_place);
                findings.push(Finding::new(advice.rule, here.clone(), advice.message, fix));
            }
        }
        return None;
    }

    // Federated: what the webhook would say, rule by rule.
    let Some(account) = account else {
        findings.push(Finding::new(
            Rule::ServiceAccountMissing,
            here,
            format!(
                "ServiceAccount {sa_ref} is not in the input, so its client id and the credentials cannot be checked"
            ),
            "pass the ServiceAccount's manifest too (another -f)",
        ));
        return None;
    };
    let annotations = string_map(metadata.and_then(|m| m.get("annotations")));
    let account_users = runs_as.of(&object.namespace, sa_name);
    let refused = Refused {
        workload: &here,
        template: template_use,
        annotations: &annotations,
        account: &account.object.reference(),
        account_annotations: &account.info.annotations,
        users: account_users,
    };
    let pod = match PodView::from_value(template) {
        Ok(pod) => pod,
        Err(denial) => {
            findings.push(refusal(denial, &refused));
            return None;
        }
    };
    let hint = format!("{}- (prefix)", object.name);
    let request = MutationRequest {
        pod: &pod,
        namespace: &object.namespace,
        service_account: &account.info,
        pod_name_hint: (object.kind != "Pod").then_some(hint.as_str()),
    };
    match plan_mutation(&request, input.settings) {
        Ok(plan) => {
            let on_account = Place::ServiceAccount {
                reference: &sa_ref,
                users: account_users,
            };
            for advice in plan.warnings {
                let (target, place) = if advice.message.starts_with("ServiceAccount ") {
                    (account.object.reference(), &on_account)
                } else {
                    (here.clone(), &pod_place)
                };
                let fix = fix_of_advice(advice.rule, &advice.message, place);
                findings.push(Finding::new(advice.rule, target, advice.message, fix));
            }
        }
        Err(denial) => {
            findings.push(refusal(denial, &refused));
            return None;
        }
    }

    let client_id = account.client_id().to_owned();
    let expected = Expected {
        client_id: &client_id,
        tenant_id: account.tenant_id(input),
        service_account: &sa_ref,
    };
    findings.extend(containers::check(spec, &annotations, &here, &pod_place, &expected));

    if client_id.is_empty() {
        return None;
    }
    // A client id that is not a GUID is its own finding: no credential can be looked up for it.
    if let Some(credentials) = input.credentials.filter(|_| crate::mutation::is_guid(&client_id)) {
        let subject = subject_of(&object.namespace, sa_name);
        findings.extend(federation::check(
            input,
            credentials,
            &here,
            &sa_ref,
            &client_id,
            &subject,
        ));
    }
    Some(client_id)
}
