//! aad-pod-identity still installed: its CRDs (group `aadpodidentity.k8s.io`), and its NMI
//! DaemonSet or MIC Deployment (their images are `.../aad-pod-identity/nmi` and `.../mic`).
//! A pod template that still carries its label is [`super::workloads`]'s finding.

use serde_json::Value;

use super::input::{Finding, Input, ObjectRef};
use crate::manifest::namespace_and_name;
use crate::rules::Rule;

/// aad-pod-identity's API group.
const GROUP: &str = "aadpodidentity.k8s.io";
/// What its components' images are named.
const COMPONENTS: [(&str, &str); 2] = [("aad-pod-identity/nmi", "NMI"), ("aad-pod-identity/mic", "MIC")];

const FIX: &str = "once every workload is migrated (wif migrate pod-identity), remove aad-pod-identity: helm uninstall (or az aks pod-identity disable for the AKS add-on), then its CRDs";

/// Every trace of aad-pod-identity among the objects.
pub(super) fn check(input: &Input<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for document in input.documents {
        let value = &document.value;
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default();
        let (namespace, name) = namespace_and_name(value, input.default_namespace);
        let object = || ObjectRef {
            kind: kind.to_owned(),
            namespace: if kind == "CustomResourceDefinition" {
                String::new()
            } else {
                namespace.clone()
            },
            name: name.clone(),
            source: Some(document.source.clone()),
            document: Some(document.index),
        };
        if kind == "CustomResourceDefinition" && value.pointer("/spec/group").and_then(Value::as_str) == Some(GROUP) {
            findings.push(Finding::new(
                Rule::PodIdentityInstalled,
                object(),
                format!("aad-pod-identity's CRD {name} is installed"),
                FIX,
            ));
            continue;
        }
        if !matches!(kind, "DaemonSet" | "Deployment") {
            continue;
        }
        let images = value
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("image").and_then(Value::as_str));
        for image in images {
            if let Some((_, component)) = COMPONENTS.iter().find(|(path, _)| image.contains(path)) {
                findings.push(Finding::new(
                    Rule::PodIdentityInstalled,
                    object(),
                    format!(
                        "aad-pod-identity's {component} runs here ({image}){}",
                        if *component == "NMI" {
                            ": it redirects the pods' IMDS traffic (169.254.169.254) on every node"
                        } else {
                            ""
                        }
                    ),
                    FIX,
                ));
                break;
            }
        }
    }
    findings
}
