//! Admission warnings for what upstream lets fail silently: annotation keys that look like
//! typos of ours or sit on the wrong object, ids that are not GUIDs, a ServiceAccount with
//! no client id, a proxy annotation whose value suggests the user expects it to be off.
//! Warnings never change the patch; they reach `kubectl` through the AdmissionResponse.

use super::inputs::Annotations;
use crate::contract;
use crate::rules::{Advice, Rule};

/// Which object an annotation sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The pod (or pod template).
    Pod,
    /// The ServiceAccount.
    ServiceAccount,
}

const POD_KEYS: &[&str] = &[
    contract::ANNOTATION_TOKEN_EXPIRATION,
    contract::ANNOTATION_SKIP_CONTAINERS,
    contract::ANNOTATION_INJECT_PROXY_SIDECAR,
    contract::ANNOTATION_PROXY_SIDECAR_PORT,
];
const SERVICE_ACCOUNT_KEYS: &[&str] = &[
    contract::ANNOTATION_CLIENT_ID,
    contract::ANNOTATION_TENANT_ID,
    contract::ANNOTATION_TOKEN_EXPIRATION,
];

/// Whether `s` is a GUID in the 8-4-4-4-12 hex form Entra uses for client and tenant ids.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Whether `s` could be a tenant given by domain (`contoso.onmicrosoft.com`).
fn is_domain(s: &str) -> bool {
    s.contains('.')
        && s.split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Edit distance, for "did you mean" suggestions on short keys.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The known key a misspelt one most likely meant: same letters once case and
/// punctuation are folded, or within two edits.
fn closest_known(key: &str) -> Option<&'static str> {
    let folded = fold(key);
    contract::KNOWN_ANNOTATIONS
        .iter()
        .map(|known| (*known, levenshtein(&folded, &fold(known))))
        .filter(|(_, d)| *d <= 2)
        .min_by_key(|(_, d)| *d)
        .map(|(known, _)| known)
}

fn looks_like_our_prefix(prefix: &str) -> bool {
    let folded = fold(prefix);
    let ours = fold(contract::PREFIX);
    folded == ours || folded.starts_with(&ours) || levenshtein(&folded, &ours) <= 3
}

/// Warnings about annotation keys on one object.
pub fn annotation_warnings(
    target: Target,
    object_ref: &str,
    annotations: &Annotations,
    extra_known: &[&str],
) -> Vec<Advice> {
    let (here, other, kind, other_kind) = match target {
        Target::Pod => (POD_KEYS, SERVICE_ACCOUNT_KEYS, "pod", "ServiceAccount"),
        Target::ServiceAccount => (SERVICE_ACCOUNT_KEYS, POD_KEYS, "ServiceAccount", "pod"),
    };
    let mut warnings = Vec::new();
    for key in annotations.keys() {
        if here.contains(key) || extra_known.contains(key) {
            continue;
        }
        if other.contains(key) {
            warnings.push(Advice::new(
                Rule::AnnotationWrongObject,
                format!("{kind} {object_ref}: annotation {key:?} is read from the {other_kind}, not the {kind}; it has no effect here"),
            ));
            continue;
        }
        if *key == contract::LABEL_USE {
            if target == Target::Pod {
                warnings.push(Advice::new(
                    Rule::LabelAsAnnotation,
                    format!("{kind} {object_ref}: {key:?} is a label, not an annotation"),
                ));
            }
            continue;
        }
        let Some((prefix, _)) = key.split_once('/') else {
            continue;
        };
        if !looks_like_our_prefix(prefix) {
            continue;
        }
        match closest_known(key) {
            Some(known) => warnings.push(Advice::new(
                Rule::AnnotationTypo,
                format!("{kind} {object_ref}: annotation {key:?} is not read by the webhook; did you mean {known:?}?"),
            )),
            None if format!("{prefix}/") == contract::PREFIX => warnings.push(Advice::new(
                Rule::AnnotationUnknown,
                format!("{kind} {object_ref}: annotation {key:?} is not one the webhook reads"),
            )),
            None => {}
        }
    }
    warnings
}

/// Why a pod template that is not labelled `azure.workload.identity/use: "true"` may have
/// meant to be: a boolean or another spelling of the value, a near miss of the key, the label
/// written as an annotation, or put on the workload's own metadata instead of its template.
/// `workload_labels` is `None` for a Pod (its own metadata is the template's). Empty when
/// nothing suggests an opt-in.
pub fn opt_in_advice(
    workload_labels: Option<&serde_json::Map<String, serde_json::Value>>,
    template_labels: Option<&serde_json::Map<String, serde_json::Value>>,
    template_annotations: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Vec<Advice> {
    use serde_json::Value;
    let key = contract::LABEL_USE;
    let wanted = format!("{key}: \"{}\"", contract::LABEL_USE_VALUE);
    let mut advice = Vec::new();
    match template_labels.and_then(|l| l.get(key)) {
        Some(Value::String(v)) if v == contract::LABEL_USE_VALUE => return advice,
        Some(Value::Bool(true)) => advice.push(Advice::new(
            Rule::LabelNotString,
            format!("label {key} is the boolean true, which Kubernetes rejects; write \"true\" (quoted). Not mutated."),
        )),
        Some(other) => advice.push(Advice::new(
            Rule::LabelValue,
            format!("label {key} is {other}, and the webhook matches only \"true\" (lower case, quoted). Not mutated."),
        )),
        None => {}
    }
    let near = |candidate: &str| {
        candidate != key
            && candidate
                .split_once('/')
                .is_some_and(|(prefix, _)| looks_like_our_prefix(prefix))
            && levenshtein(&fold(candidate), &fold(key)) <= 2
    };
    for label in template_labels.into_iter().flat_map(|l| l.keys()).filter(|k| near(k)) {
        advice.push(Advice::new(
            Rule::LabelTypo,
            format!("label {label:?} is not {key:?}, which the webhook matches; did you mean {wanted}? Not mutated."),
        ));
    }
    if template_annotations.is_some_and(|a| a.contains_key(key)) {
        advice.push(Advice::new(
            Rule::LabelAsAnnotation,
            format!("{key} is an annotation of the pod template; it must be a label ({wanted}). Not mutated."),
        ));
    }
    if workload_labels.and_then(|l| l.get(key)).and_then(Value::as_str) == Some(contract::LABEL_USE_VALUE) {
        advice.push(Advice::new(
            Rule::LabelOnWorkload,
            format!("the label {key} is on the object's own metadata, not on its pod template, which is what pods are made from. Not mutated."),
        ));
    }
    advice
}

/// Warnings about the resolved identity of a ServiceAccount.
pub fn identity_warnings(sa_ref: &str, client_id: &str, tenant_id: &str, has_named_identities: bool) -> Vec<Advice> {
    let mut warnings = Vec::new();
    if client_id.is_empty() {
        if !has_named_identities {
            warnings.push(Advice::new(
                Rule::ClientIdMissing,
                format!(
                    "ServiceAccount {sa_ref} has no {:?} annotation: AZURE_CLIENT_ID is not injected, so clients must be given a client id another way",
                    contract::ANNOTATION_CLIENT_ID
                ),
            ));
        }
    } else if !is_guid(client_id) {
        warnings.push(Advice::new(
            Rule::ClientIdNotGuid,
            format!(
                "ServiceAccount {sa_ref}: client id {client_id:?} is not a GUID; Entra ID will reject it (AADSTS700016)"
            ),
        ));
    }
    if !tenant_id.is_empty() && !is_guid(tenant_id) && !is_domain(tenant_id) {
        warnings.push(Advice::new(
            Rule::TenantIdInvalid,
            format!("ServiceAccount {sa_ref}: tenant id {tenant_id:?} is neither a GUID nor a domain; Entra ID will reject it (AADSTS90002)"),
        ));
    }
    warnings
}

/// A warning when the proxy annotation's value reads as "off": upstream injects on the
/// key's presence alone, and so do we.
pub fn proxy_value_warning(pod_ref: &str, value: &str) -> Option<Advice> {
    matches!(value.trim().to_ascii_lowercase().as_str(), "false" | "no" | "off" | "0" | "disabled").then(|| {
        Advice::new(
            Rule::ProxyAnnotationFalse,
            format!(
                "pod {pod_ref}: the proxy sidecar is injected because annotation {:?} is present; its value {value:?} is ignored (remove the annotation to go without the proxy)",
                contract::ANNOTATION_INJECT_PROXY_SIDECAR
            ),
        )
    })
}

#[cfg(test)]
mod tests;
