//! Whether the API server calls the webhook at all for each opted-in workload: the
//! MutatingWebhookConfigurations' namespaceSelector and objectSelector against the
//! namespace's and the pod template's labels, with Kubernetes' own selector semantics
//! (kube-core's). A cluster read by `wif doctor --cluster` holds every configuration, so
//! none at all is a finding; manifests are judged only when they carry a configuration.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube_core::{Selector, SelectorExt};
use serde_json::Value;

use super::input::{Document, Finding, Input, ObjectRef};
use crate::contract;
use crate::manifest::{namespace_and_name, pod_template_path};
use crate::rules::Rule;

/// One webhook of a configuration: its selectors, and where it came from.
struct Registration {
    configuration: String,
    namespace_selector: Option<Value>,
    object_selector: Option<Value>,
}

/// Does `selector` (a LabelSelector as JSON; absent selects everything) select `labels`?
/// A selector that does not parse selects nothing, as the API server would refuse it.
fn selects(selector: Option<&Value>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return true;
    };
    serde_json::from_value::<LabelSelector>(selector.clone())
        .ok()
        .and_then(|s| Selector::try_from(s).ok())
        .is_some_and(|s| s.matches(labels))
}

fn labels_of(metadata: Option<&Value>) -> BTreeMap<String, String> {
    metadata
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn flatten<'a>(value: &'a Value, out: &mut Vec<(&'a Value, Option<&'a Document>)>, document: &'a Document) {
    if value.get("kind").and_then(Value::as_str) == Some("List") {
        for item in value.get("items").and_then(Value::as_array).into_iter().flatten() {
            flatten(item, out, document);
        }
    } else {
        out.push((value, Some(document)));
    }
}

fn display(selector: Option<&Value>) -> String {
    selector.map_or_else(|| "{}".to_owned(), Value::to_string)
}

fn kind(value: &Value) -> String {
    value.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn objects<'a>(input: &Input<'a>) -> Vec<(&'a Value, Option<&'a Document>)> {
    let mut objects = Vec::new();
    for document in input.documents {
        flatten(&document.value, &mut objects, document);
    }
    objects
}

/// Whether the registration rules judge `input`: a live cluster holds every configuration,
/// manifests say something about the cluster's only when they carry one.
pub(super) fn judged(input: &Input<'_>) -> bool {
    input.cluster
        || objects(input)
            .iter()
            .any(|(value, _)| kind(value) == "MutatingWebhookConfiguration")
}

/// The registration rules.
pub(super) fn check(input: &Input<'_>) -> Vec<Finding> {
    if !judged(input) {
        return Vec::new();
    }
    let objects = objects(input);
    let mut registrations = Vec::new();
    let mut namespaces: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (value, _) in &objects {
        match kind(value).as_str() {
            "MutatingWebhookConfiguration" => {
                let configuration = namespace_and_name(value, "").1;
                for webhook in value.get("webhooks").and_then(Value::as_array).into_iter().flatten() {
                    if webhook.get("name").and_then(Value::as_str) == Some(contract::WEBHOOK_NAME) {
                        registrations.push(Registration {
                            configuration: configuration.clone(),
                            namespace_selector: webhook.get("namespaceSelector").cloned(),
                            object_selector: webhook.get("objectSelector").cloned(),
                        });
                    }
                }
            }
            "Namespace" => {
                let name = namespace_and_name(value, "").1;
                namespaces.insert(name, labels_of(value.get("metadata")));
            }
            _ => {}
        }
    }
    let mut findings = Vec::new();
    for (value, document) in &objects {
        let kind = kind(value);
        let Some(path) = pod_template_path(&kind) else { continue };
        let Some(template) = path.iter().try_fold(*value, |v, token| v.get(*token)) else {
            continue;
        };
        let pod_labels = labels_of(template.get("metadata"));
        if pod_labels.get(contract::LABEL_USE).map(String::as_str) != Some(contract::LABEL_USE_VALUE) {
            continue;
        }
        let (namespace, name) = namespace_and_name(value, input.default_namespace);
        let object = ObjectRef {
            kind: kind.clone(),
            namespace: namespace.clone(),
            name,
            source: document.map(|d| d.source.clone()),
            document: document.map(|d| d.index),
        };
        let mut namespace_labels = namespaces.get(&namespace).cloned().unwrap_or_default();
        // The API server sets this label on every namespace (1.21 and later).
        namespace_labels.insert("kubernetes.io/metadata.name".into(), namespace.clone());
        if registrations.is_empty() {
            findings.push(Finding {
                rule: Rule::WebhookMissing,
                object,
                message: format!(
                    "no MutatingWebhookConfiguration has the webhook {}: this workload's pods are stored unmutated",
                    contract::WEBHOOK_NAME
                ),
                fix: "install the webhook (deploy/ or the Helm chart); its MutatingWebhookConfiguration is azure-wi-webhook-mutating-webhook-configuration".into(),
            });
            continue;
        }
        let in_namespace: Vec<&Registration> = registrations
            .iter()
            .filter(|r| selects(r.namespace_selector.as_ref(), &namespace_labels))
            .collect();
        let Some(first) = registrations.first() else { continue };
        if in_namespace.is_empty() {
            findings.push(Finding {
                rule: Rule::WebhookNamespaceExcluded,
                object,
                message: format!(
                    "the namespaceSelector of {} ({}) does not select namespace {namespace} (labels {})",
                    first.configuration,
                    display(first.namespace_selector.as_ref()),
                    serde_json::to_string(&namespace_labels).unwrap_or_default()
                ),
                fix: format!(
                    "label namespace {namespace} so the selector matches, or widen the namespaceSelector of {}",
                    first.configuration
                ),
            });
        } else if !in_namespace
            .iter()
            .any(|r| selects(r.object_selector.as_ref(), &pod_labels))
        {
            let registration = in_namespace[0];
            findings.push(Finding {
                rule: Rule::WebhookObjectSelector,
                object,
                message: format!(
                    "the objectSelector of {} ({}) does not select this pod template's labels",
                    registration.configuration,
                    display(registration.object_selector.as_ref())
                ),
                fix: format!(
                    "set the objectSelector of {} to {{\"matchLabels\": {{\"{}\": \"true\"}}}}, as upstream's",
                    registration.configuration,
                    contract::LABEL_USE
                ),
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::WebhookSettings;

    const WORKLOAD: &str = r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "payments"},
        "spec": {"template": {"metadata": {"labels": {"azure.workload.identity/use": "true"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}"#;

    fn configuration(selectors: &str) -> String {
        format!(
            r#"{{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                "metadata": {{"name": "azure-wi-webhook-mutating-webhook-configuration"}},
                "webhooks": [{{"name": "mutation.azure-workload-identity.io" {selectors}}}]}}"#
        )
    }

    fn run(objects: &[String], cluster: bool) -> Vec<Rule> {
        let documents: Vec<Document> = objects
            .iter()
            .enumerate()
            .map(|(index, text)| Document {
                source: "cluster".into(),
                index,
                value: serde_json::from_str(text).expect("test JSON"),
            })
            .collect();
        let settings = WebhookSettings::new("t");
        let input = Input {
            documents: &documents,
            default_namespace: "default",
            settings: &settings,
            credentials: None,
            issuer: None,
            token: None,
            issuer_check: None,
            now: 0,
            cluster,
        };
        check(&input).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_cluster_without_the_webhook_is_a_finding_manifests_without_one_are_not() {
        assert_eq!(run(&[WORKLOAD.into()], true), [Rule::WebhookMissing]);
        assert_eq!(run(&[WORKLOAD.into()], false), []);
    }

    #[test]
    fn upstreams_registration_reaches_the_workload() {
        let upstream = configuration(r#", "objectSelector": {"matchLabels": {"azure.workload.identity/use": "true"}}"#);
        assert_eq!(run(&[WORKLOAD.into(), upstream], true), []);
    }

    #[test]
    fn a_namespace_selector_that_leaves_the_namespace_out() {
        let excluding = configuration(
            r#", "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["payments"]}]}"#,
        );
        assert_eq!(
            run(&[WORKLOAD.into(), excluding.clone()], true),
            [Rule::WebhookNamespaceExcluded]
        );
        // By a label the namespace object carries.
        let by_label = configuration(r#", "namespaceSelector": {"matchLabels": {"team": "platform"}}"#);
        let labelled = r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments", "labels": {"team": "platform"}}}"#;
        assert_eq!(run(&[WORKLOAD.into(), by_label.clone(), labelled.into()], true), []);
        assert_eq!(
            run(&[WORKLOAD.into(), by_label], false),
            [Rule::WebhookNamespaceExcluded]
        );
    }

    #[test]
    fn an_object_selector_that_misses_the_label() {
        let other = configuration(r#", "objectSelector": {"matchLabels": {"azure.workload.identity/use": "yes"}}"#);
        assert_eq!(run(&[WORKLOAD.into(), other], true), [Rule::WebhookObjectSelector]);
        // A selector the API server would refuse selects nothing.
        let broken = configuration(r#", "objectSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}"#);
        assert_eq!(run(&[WORKLOAD.into(), broken], true), [Rule::WebhookObjectSelector]);
    }
}
