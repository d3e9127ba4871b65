//! The container rules of a federated workload: `skip-containers` naming a container the pod
//! does not have, a variable that makes DefaultAzureCredential sign in another way (a secret,
//! a certificate, a user name), and a user-set `AZURE_CLIENT_ID` or `AZURE_TENANT_ID` that
//! contradicts the ServiceAccount. The label, annotation and refusal rules are
//! [`super::workloads`]'s and [`super::refusals`]'s.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::fixes::{Place, fix_of_advice};
use super::input::{Finding, ObjectRef};
use crate::contract;
use crate::rules::Rule;

/// Variables that make DefaultAzureCredential's EnvironmentCredential win over workload identity.
const OVERRIDING_ENV: [&str; 4] = [
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE",
    "AZURE_USERNAME",
];

fn containers(spec: Option<&Value>) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|k| spec.and_then(|s| s.get(*k)).and_then(Value::as_array))
        .flatten()
        .collect()
}

/// What the ServiceAccount says the containers should get.
#[derive(Debug)]
pub(super) struct Expected<'a> {
    /// Its client id (empty when it names none).
    pub client_id: &'a str,
    /// Its tenant id, else the webhook's default.
    pub tenant_id: &'a str,
    /// The ServiceAccount, `namespace/name`.
    pub service_account: &'a str,
}

/// The container rules of the pod template whose `spec` and annotations these are.
pub(super) fn check(
    spec: Option<&Value>,
    annotations: &BTreeMap<&str, &str>,
    here: &ObjectRef,
    place: &Place<'_>,
    expected: &Expected<'_>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
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
        findings.push(Finding::new(
            Rule::SkipContainersUnknown,
            here.clone(),
            format!(
                "{} names container {name:?}, which the pod does not have (it has {})",
                contract::ANNOTATION_SKIP_CONTAINERS,
                known.join(", ")
            ),
            fix_of_advice(Rule::SkipContainersUnknown, "", place),
        ));
    }

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
                findings.push(Finding::new(
                    Rule::EnvOverridesFederation,
                    here.clone(),
                    format!("container {name:?} sets {var}: DefaultAzureCredential signs in with it instead of the projected token"),
                    format!("remove {var} from container {name:?} (workload identity needs no secret)"),
                ));
            }
            let contradicts =
                |want: &str| value.is_some_and(|v| !want.is_empty() && !v.trim().eq_ignore_ascii_case(want));
            let wanted = match var {
                "AZURE_CLIENT_ID" => Some((expected.client_id, contract::ANNOTATION_CLIENT_ID)),
                "AZURE_TENANT_ID" => Some((expected.tenant_id, contract::ANNOTATION_TENANT_ID)),
                _ => None,
            };
            if let Some((wanted, annotation)) = wanted.filter(|(e, _)| contradicts(e)) {
                findings.push(Finding::new(
                    Rule::EnvContradictsServiceAccount,
                    here.clone(),
                    format!(
                        "container {name:?} sets {var}={} itself, but ServiceAccount {} says {wanted} ({annotation}); the container's value wins",
                        value.unwrap_or_default(),
                        expected.service_account,
                    ),
                    format!("remove {var} from container {name:?}, so the webhook injects {wanted}"),
                ));
            }
        }
    }
    findings
}
