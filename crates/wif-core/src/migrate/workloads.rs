//! The workloads a migration looks at: the stream with its `List`s unwrapped, and each object
//! whose pod template carries aad-pod-identity's binding label.

use std::collections::BTreeMap;

use serde_json::Value;

use super::objects::BINDING_LABEL;
use crate::manifest::{namespace_and_name, pod_template_path};

/// One workload that carries the binding label.
pub(super) struct Workload<'d> {
    pub(super) document: usize,
    pub(super) label: String,
    pub(super) kind: String,
    pub(super) named: bool,
    pub(super) namespace: String,
    pub(super) name: String,
    pub(super) template: &'d Value,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) selector: String,
}

/// The documents with every `List` replaced by its items (recursively).
pub(super) fn flatten_lists(documents: &[Value]) -> Vec<Value> {
    let mut flat = Vec::with_capacity(documents.len());
    for doc in documents {
        match doc.get("items").and_then(Value::as_array) {
            Some(items) if doc.get("kind").and_then(Value::as_str) == Some("List") => flat.extend(flatten_lists(items)),
            _ => flat.push(doc.clone()),
        }
    }
    flat
}

/// The workloads whose pod templates carry the binding label.
pub(super) fn workloads<'d>(documents: &'d [Value], default_namespace: &str) -> Vec<Workload<'d>> {
    let mut found = Vec::new();
    for (document, doc) in documents.iter().enumerate() {
        let Some(kind) = doc.get("kind").and_then(Value::as_str) else {
            continue;
        };
        let Some(path) = pod_template_path(kind) else { continue };
        let template = path.iter().try_fold(doc, |v, k| v.get(*k));
        let Some(template) = template else { continue };
        let labels: BTreeMap<String, String> = template
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let Some(selector) = labels.get(BINDING_LABEL).filter(|s| !s.is_empty()).cloned() else {
            continue;
        };
        let (namespace, name) = namespace_and_name(doc, default_namespace);
        let named = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        found.push(Workload {
            document,
            label: format!("{kind} {namespace}/{name}"),
            kind: kind.to_owned(),
            named,
            namespace,
            name,
            template,
            labels,
            selector,
        });
    }
    found
}
