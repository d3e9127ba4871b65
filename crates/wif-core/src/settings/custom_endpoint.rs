//! The custom token endpoint ("identity bindings", new in upstream v1.6.0): the webhook's
//! suffix and audience flags and the CA source from the environment, validated exactly as
//! upstream validates them at start-up, label selector and qualified names included.

use super::env::{EnvSource, non_empty};
use super::error::SettingsError;
use crate::contract;

/// Where the custom token endpoint's CA comes from (at most one source, as upstream).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaSource {
    /// No CA: clients use their system roots.
    None,
    /// Inline PEM, injected as `AZURE_KUBERNETES_CA_DATA`.
    Data(String),
    /// A ConfigMap holding `ca.crt`, projected into the token volume.
    ConfigMap(String),
    /// A ClusterTrustBundle signer (and optional JSON label selector), projected.
    ClusterTrustBundle {
        /// `signerName`.
        signer_name: String,
        /// `labelSelector`, already parsed.
        label_selector: Option<serde_json::Value>,
    },
}

/// The AKS "identity bindings" custom token endpoint (upstream v1.6.0 §1.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomTokenEndpoint {
    /// The pod annotation that opts in: `azure.workload.identity/use-<suffix>`.
    pub opt_in_annotation: String,
    /// Audience of the projected token for opted-in pods.
    pub audience: String,
    /// `AZURE_KUBERNETES_TOKEN_PROXY`.
    pub token_proxy: String,
    /// `AZURE_KUBERNETES_SNI_NAME`.
    pub sni_name: String,
    /// The CA the token proxy is verified with.
    pub ca: CaSource,
}

/// Validates the custom token endpoint exactly as upstream does at start-up; `None` when
/// neither the suffix nor the audience is set.
pub fn custom_token_endpoint_from(
    suffix: &str,
    audience: &str,
    env: &impl EnvSource,
) -> Result<Option<CustomTokenEndpoint>, SettingsError> {
    let fail = |msg: &str| Err(SettingsError::CustomTokenEndpoint(msg.to_owned()));
    match (suffix.is_empty(), audience.is_empty()) {
        (true, true) => return Ok(None),
        (true, false) => {
            return fail("custom token endpoint annotation suffix cannot be empty when audience is set");
        }
        (false, true) => {
            return fail("custom token endpoint audience cannot be empty when annotation suffix is set");
        }
        (false, false) => {}
    }
    if audience.eq_ignore_ascii_case(contract::DEFAULT_AUDIENCE) {
        return fail("custom token endpoint audience cannot be api://AzureADTokenExchange");
    }
    let annotation = format!("{}use-{}", contract::PREFIX, suffix.to_ascii_lowercase());
    if !is_qualified_name(&annotation) {
        return Err(SettingsError::CustomTokenEndpoint(format!(
            "custom token endpoint annotation {annotation:?} is not a valid Kubernetes qualified name"
        )));
    }
    let var = |name| non_empty(env.var(name));
    let ca_data = var("AZURE_KUBERNETES_CA_DATA");
    let config_map = var("AZURE_KUBERNETES_CA_CONFIGMAP_NAME");
    let signer = var("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME");
    let selector = var("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR");
    let sources = [ca_data.is_some(), config_map.is_some(), signer.is_some()];
    if sources.iter().filter(|set| **set).count() > 1 {
        return fail(
            "only one of AZURE_KUBERNETES_CA_DATA, AZURE_KUBERNETES_CA_CONFIGMAP_NAME or AZURE_KUBERNETES_CA_CTB_SIGNER_NAME can be set",
        );
    }
    if selector.is_some() && signer.is_none() {
        return fail(
            "AZURE_KUBERNETES_CA_CTB_SIGNER_NAME needs to be set when AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR is set",
        );
    }
    let ca = match (ca_data, config_map, signer) {
        (Some(data), _, _) => CaSource::Data(data),
        (_, Some(name), _) => CaSource::ConfigMap(name),
        (_, _, Some(signer_name)) => {
            let label_selector = match selector {
                None => None,
                Some(text) => Some(parse_label_selector(&text)?),
            };
            CaSource::ClusterTrustBundle {
                signer_name,
                label_selector,
            }
        }
        _ => CaSource::None,
    };
    Ok(Some(CustomTokenEndpoint {
        opt_in_annotation: annotation,
        audience: audience.to_owned(),
        token_proxy: var("AZURE_KUBERNETES_TOKEN_PROXY").unwrap_or_default(),
        sni_name: var("AZURE_KUBERNETES_SNI_NAME").unwrap_or_default(),
        ca,
    }))
}

fn parse_label_selector(text: &str) -> Result<serde_json::Value, SettingsError> {
    let invalid = |why: String| {
        SettingsError::CustomTokenEndpoint(format!(
            "AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR is not a valid label selector: {why}"
        ))
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| SettingsError::LabelSelectorNotJson(std::sync::Arc::new(e)))?;
    let object = value
        .as_object()
        .ok_or_else(|| invalid("expected a JSON object".into()))?;
    for key in object.keys() {
        if key != "matchLabels" && key != "matchExpressions" {
            return Err(invalid(format!("unknown field {key:?}")));
        }
    }
    if let Some(labels) = object.get("matchLabels") {
        let labels = labels
            .as_object()
            .ok_or_else(|| invalid("matchLabels must be an object".into()))?;
        if labels.values().any(|v| !v.is_string()) {
            return Err(invalid("matchLabels values must be strings".into()));
        }
    }
    if let Some(exprs) = object.get("matchExpressions") {
        let exprs = exprs
            .as_array()
            .ok_or_else(|| invalid("matchExpressions must be a list".into()))?;
        for expr in exprs {
            let key_ok = expr.get("key").is_some_and(serde_json::Value::is_string);
            let op_ok = expr.get("operator").is_some_and(serde_json::Value::is_string);
            if !key_ok || !op_ok {
                return Err(invalid("each matchExpression needs a key and an operator".into()));
            }
        }
    }
    Ok(value)
}

/// A Kubernetes qualified name: optional DNS-subdomain prefix and `/`, then a name of at
/// most 63 characters, alphanumeric at both ends with `-`, `_`, `.` inside.
pub fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && label.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    });
    name_ok && prefix_ok
}
