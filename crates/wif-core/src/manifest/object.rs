//! What the render reads of any Kubernetes object, whatever its kind: its kind, its namespace
//! and name, where its kind keeps its pod template; and the error that stops a render. The
//! leaf the rest of [`super`] builds on.

use serde_json::Value;

/// A document that cannot be rendered; the run stops.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {}{}: {message}", document + 1, if object.is_empty() { String::new() } else { format!(" ({object})") })]
pub struct RenderError {
    /// Index of the document in the stream (shown 1-based).
    pub document: usize,
    /// `Kind namespace/name`, when known.
    pub object: String,
    /// What is wrong.
    pub message: String,
}

/// The object's `kind`, or why the document is no Kubernetes object.
pub(super) fn kind_of(document: usize, doc: &Value) -> Result<&str, RenderError> {
    if !doc.is_object() {
        return Err(RenderError {
            document,
            object: String::new(),
            message: "a Kubernetes object must be a map".into(),
        });
    }
    doc.get("kind")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| RenderError {
            document,
            object: String::new(),
            message: "the document has no kind".into(),
        })
}

/// An object's namespace (or `default_namespace`) and name (or `generateName`, or `(unnamed)`).
pub fn namespace_and_name(doc: &Value, default_namespace: &str) -> (String, String) {
    let metadata = doc.get("metadata");
    let text = |k| {
        metadata
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let namespace = text("namespace").unwrap_or(default_namespace).to_owned();
    let name = text("name")
        .or_else(|| text("generateName"))
        .unwrap_or("(unnamed)")
        .to_owned();
    (namespace, name)
}

/// Where a kind keeps its pod template, as JSON-pointer tokens (`[]` is the object itself).
pub fn pod_template_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&[]),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
            Some(&["spec", "template"])
        }
        "PodTemplate" => Some(&["template"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}
