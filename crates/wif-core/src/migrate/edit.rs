//! The migration's edits to a manifest: a workload's pod template (labels, ServiceAccount,
//! proxy annotation) and a ServiceAccount's annotations, keeping everything else as written.

use serde_json::{Map, Value, json};

use super::objects::BINDING_LABEL;
use crate::manifest::pod_template_path;

fn map_at<'v>(value: &'v mut Value, path: &[&str]) -> Option<&'v mut Map<String, Value>> {
    let mut at = value;
    for key in path {
        let object = at.as_object_mut()?;
        at = object.entry((*key).to_owned()).or_insert_with(|| json!({}));
    }
    if at.is_null() {
        *at = json!({});
    }
    at.as_object_mut()
}

/// Whether the workload's selector names the binding label (`matchLabels` or
/// `matchExpressions`): the label must then stay on its pod template, since a selector cannot
/// change.
pub fn selector_needs_binding_label(workload: &Value) -> bool {
    let selector = workload.pointer("/spec/selector");
    let in_labels = selector
        .and_then(|s| s.get("matchLabels"))
        .and_then(|m| m.get(BINDING_LABEL))
        .is_some();
    let in_expressions = selector
        .and_then(|s| s.get("matchExpressions"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|e| e.get("key").and_then(Value::as_str) == Some(BINDING_LABEL));
    in_labels || in_expressions
}

/// Rewrites the workload's pod template (its `aadpodidbinding` is `selector`): the use label,
/// the binding label gone, `new_account` when it gets a ServiceAccount of its own, the proxy
/// annotation when asked; whether the binding label stays (a selector needs it).
pub(super) fn edit_workload(
    doc: &mut Value,
    selector: &str,
    new_account: Option<&String>,
    proxy_sidecar: bool,
) -> bool {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
    let path: Vec<&str> = pod_template_path(&kind).unwrap_or(&[]).to_vec();
    let in_selector = selector_needs_binding_label(doc);
    // The inert copy on the workload's own labels goes too (none is added where there is none).
    if !in_selector
        && let Some(labels) = doc.pointer_mut("/metadata/labels").and_then(Value::as_object_mut)
        && labels.get(BINDING_LABEL).and_then(Value::as_str) == Some(selector)
    {
        labels.shift_remove(BINDING_LABEL);
    }
    let mut at: Vec<&str> = path.clone();
    at.extend(["metadata", "labels"]);
    if let Some(labels) = map_at(doc, &at) {
        if !in_selector {
            labels.shift_remove(BINDING_LABEL);
        }
        labels.insert(crate::contract::LABEL_USE.into(), json!("true"));
    }
    if proxy_sidecar {
        let mut at: Vec<&str> = path.clone();
        at.extend(["metadata", "annotations"]);
        if let Some(annotations) = map_at(doc, &at) {
            annotations.insert(crate::contract::ANNOTATION_INJECT_PROXY_SIDECAR.into(), json!("true"));
        }
    }
    if let Some(account) = new_account {
        let mut at: Vec<&str> = path;
        at.push("spec");
        if let Some(spec) = map_at(doc, &at) {
            spec.shift_remove("serviceAccount");
            spec.insert("serviceAccountName".into(), json!(account));
        }
    }
    in_selector
}

/// Puts the client id (and tenant) on a ServiceAccount, keeping all else it has.
pub(super) fn annotate(account: &mut Value, client_id: &str, tenant_id: Option<&str>) {
    if let Some(annotations) = map_at(account, &["metadata", "annotations"]) {
        annotations.insert(crate::contract::ANNOTATION_CLIENT_ID.into(), json!(client_id));
        if let Some(tenant) = tenant_id {
            annotations.insert(crate::contract::ANNOTATION_TENANT_ID.into(), json!(tenant));
        }
    }
}
