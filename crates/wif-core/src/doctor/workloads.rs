//! The manifest rules: every workload's pod template and ServiceAccount, as the webhook would
//! see them (its own planner runs, so its warnings and denials become findings with their
//! rules), plus what only a look at the whole set shows: a label in the wrong place, a
//! secret that DefaultAzureCredential would pick first, user-set variables that contradict
//! the ServiceAccount, one identity shared by many workloads.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::federation;
use super::fixes::fix_of_advice;
use super::input::{Document, Finding, Input, ObjectRef, subject_of};
use crate::contract;
use crate::manifest::{namespace_and_name, pod_template_path};
use crate::mutation::{MutationRequest, PodView, ServiceAccountInfo, Target, annotation_warnings, plan_mutation};
use crate::rules::Rule;

/// Variables that make DefaultAzureCredential's EnvironmentCredential win over workload identity.
const OVERRIDING_ENV: [&str; 4] = [
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE",
    "AZURE_USERNAME",
];

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

fn label(metadata: Option<&Value>) -> Option<&Value> {
    metadata
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.get(contract::LABEL_USE))
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

fn finding(rule: Rule, object: ObjectRef, message: String, fix: impl Into<String>) -> Finding {
    Finding {
        rule,
        object,
        message,
        fix: fix.into(),
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
    for object in objects.iter().filter(|o| o.kind == "ServiceAccount") {
        let metadata = object.value.get("metadata");
        let annotations = string_map(metadata.and_then(|m| m.get("annotations")));
        if label(metadata).is_some() {
            findings.push(finding(
                Rule::LabelOnServiceAccount,
                object.reference(),
                format!(
                    "the ServiceAccount carries the label {}, which the webhook reads from pods only",
                    contract::LABEL_USE
                ),
                format!(
                    "move the label {}: \"true\" to the pod template of each workload that uses this ServiceAccount",
                    contract::LABEL_USE
                ),
            ));
        }
        let wif_keys: Vec<&str> = annotations
            .keys()
            .copied()
            .filter(|k| k.starts_with(contract::WIF_PREFIX))
            .collect();
        let sa_ref = format!("{}/{}", object.namespace, object.name);
        for advice in annotation_warnings(Target::ServiceAccount, &sa_ref, &annotations, &wif_keys) {
            let fix = fix_of_advice(advice.rule, &advice.message);
            findings.push(finding(advice.rule, object.reference(), advice.message, fix));
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
        if let Some(client_id) = check_workload(input, object, template, &accounts, &mut findings) {
            users
                .entry(client_id.to_ascii_lowercase())
                .or_default()
                .insert(object.reference().to_string());
        }
    }
    for (client_id, workloads) in users {
        if workloads.len() > 1 {
            let list: Vec<&str> = workloads.iter().map(String::as_str).collect();
            findings.push(finding(
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

fn containers(spec: Option<&Value>) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|k| spec.and_then(|s| s.get(*k)).and_then(Value::as_array))
        .flatten()
        .collect()
}

/// The rules of one workload; returns the client id it federates with, if it does.
fn check_workload(
    input: &Input<'_>,
    object: &Object<'_>,
    template: &Value,
    accounts: &BTreeMap<(String, String), Account<'_>>,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let metadata = template.get("metadata");
    let spec = template.get("spec");
    let sa_name = spec
        .and_then(|s| s.get("serviceAccountName").or_else(|| s.get("serviceAccount")))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    let account = accounts.get(&(object.namespace.clone(), sa_name.to_owned()));
    let here = object.reference();
    let use_label = format!("{}: \"true\"", contract::LABEL_USE);
    let opted_in = label(metadata).and_then(Value::as_str) == Some(contract::LABEL_USE_VALUE);
    if !opted_in {
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
                findings.push(finding(
                    Rule::LabelMissing,
                    here,
                    format!(
                        "ServiceAccount {}/{sa_name} names client id {}, but the pod template is not labelled {use_label}: the webhook leaves it alone",
                        object.namespace,
                        account.client_id()
                    ),
                    format!("add {use_label} to the pod template's metadata.labels"),
                ));
            }
        } else {
            for advice in advice {
                let fix = fix_of_advice(advice.rule, &advice.message);
                findings.push(finding(advice.rule, here.clone(), advice.message, fix));
            }
        }
        return None;
    }

    // Federated: what the webhook would say, rule by rule.
    let Some(account) = account else {
        findings.push(finding(
            Rule::ServiceAccountMissing,
            here,
            format!(
                "ServiceAccount {}/{sa_name} is not in the input, so its client id and the credentials cannot be checked",
                object.namespace
            ),
            "pass the ServiceAccount's manifest too (another -f)",
        ));
        return None;
    };
    let pod = match PodView::from_value(template) {
        Ok(pod) => pod,
        Err(denial) => {
            findings.push(finding(
                denial.rule,
                here,
                denial.message,
                fix_of_advice(denial.rule, ""),
            ));
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
            for advice in plan.warnings {
                let fix = fix_of_advice(advice.rule, &advice.message);
                let target = if advice.message.starts_with("ServiceAccount ") {
                    account.object.reference()
                } else {
                    here.clone()
                };
                findings.push(finding(advice.rule, target, advice.message, fix));
            }
        }
        Err(denial) => {
            let fix = fix_of_advice(denial.rule, &denial.message);
            findings.push(finding(
                denial.rule,
                here,
                format!("the webhook refuses the pod: {}", denial.message),
                fix,
            ));
            return None;
        }
    }

    let annotations = string_map(metadata.and_then(|m| m.get("annotations")));
    let all = containers(spec);
    let names: BTreeSet<&str> = all
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let skipped: BTreeSet<&str> = annotations
        .get(contract::ANNOTATION_SKIP_CONTAINERS)
        .map(|v| v.split(';').map(str::trim).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    for name in skipped.iter().filter(|n| !names.contains(*n)) {
        let known: Vec<&str> = names.iter().copied().collect();
        findings.push(finding(
            Rule::SkipContainersUnknown,
            here.clone(),
            format!(
                "{} names container {name:?}, which the pod does not have (it has {})",
                contract::ANNOTATION_SKIP_CONTAINERS,
                known.join(", ")
            ),
            "name the containers exactly as in the pod spec, separated by ';'",
        ));
    }

    let client_id = account.client_id().to_owned();
    let tenant_id = account.tenant_id(input).to_owned();
    for container in all {
        let name = container.get("name").and_then(Value::as_str).unwrap_or_default();
        if skipped.contains(name) {
            continue;
        }
        for variable in container.get("env").and_then(Value::as_array).into_iter().flatten() {
            let Some(var) = variable.get("name").and_then(Value::as_str) else {
                continue;
            };
            let value = variable.get("value").and_then(Value::as_str);
            if OVERRIDING_ENV.contains(&var) {
                findings.push(finding(
                    Rule::EnvOverridesFederation,
                    here.clone(),
                    format!("container {name:?} sets {var}: DefaultAzureCredential signs in with it instead of the projected token"),
                    format!("remove {var} from container {name:?} (workload identity needs no secret)"),
                ));
            }
            let contradicts = |expected: &str| {
                value.is_some_and(|v| !expected.is_empty() && !v.trim().eq_ignore_ascii_case(expected))
            };
            let expected = match var {
                "AZURE_CLIENT_ID" => Some((client_id.as_str(), contract::ANNOTATION_CLIENT_ID)),
                "AZURE_TENANT_ID" => Some((tenant_id.as_str(), contract::ANNOTATION_TENANT_ID)),
                _ => None,
            };
            if let Some((expected, annotation)) = expected.filter(|(e, _)| contradicts(e)) {
                findings.push(finding(
                    Rule::EnvContradictsServiceAccount,
                    here.clone(),
                    format!(
                        "container {name:?} sets {var}={} itself, but ServiceAccount {}/{sa_name} says {expected} ({annotation}); the container's value wins",
                        value.unwrap_or_default(),
                        object.namespace
                    ),
                    format!("remove {var} from container {name:?}, so the webhook injects {expected}"),
                ));
            }
        }
    }

    if client_id.is_empty() {
        return None;
    }
    // A client id that is not a GUID is its own finding: no credential can be looked up for it.
    if let Some(credentials) = input.credentials.filter(|_| crate::mutation::is_guid(&client_id)) {
        let subject = subject_of(&object.namespace, sa_name);
        findings.extend(federation::check(input, credentials, &here, &client_id, &subject));
    }
    Some(client_id)
}
