//! The env the webhook injects, and its record: the fingerprints of the values it injected,
//! kept in the pod annotation [`contract::WIF_ANNOTATION_INJECTED_ENV`], so a re-invocation
//! with another ServiceAccount updates those values (and only those) and user values win.

use std::collections::BTreeMap;

use json_patch::PatchOperation;
use sha2::{Digest, Sha256};

use super::inputs::NamedIdentity;
use super::patch::{Desired, add, object, pointer};
use super::pod::PodView;
use crate::contract;
use crate::settings::{CaSource, CustomTokenEndpoint, WebhookSettings};

pub(super) fn desired_env(
    settings: &WebhookSettings,
    client_id: &str,
    tenant_id: &str,
    custom: Option<&CustomTokenEndpoint>,
    identities: &[NamedIdentity],
) -> Vec<(String, String)> {
    let layout = settings.token_layout;
    let mut env: Vec<(String, String)> = vec![
        (contract::ENV_CLIENT_ID.into(), client_id.into()),
        (contract::ENV_TENANT_ID.into(), tenant_id.into()),
        (contract::ENV_FEDERATED_TOKEN_FILE.into(), layout.token_file().into()),
        (contract::ENV_AUTHORITY_HOST.into(), settings.authority_host.clone()),
    ];
    if let Some(cte) = custom {
        env.push((contract::ENV_KUBERNETES_TOKEN_PROXY.into(), cte.token_proxy.clone()));
        env.push((contract::ENV_KUBERNETES_SNI_NAME.into(), cte.sni_name.clone()));
        // Only point at a CA file that the volume actually carries.
        if matches!(cte.ca, CaSource::ConfigMap(_) | CaSource::ClusterTrustBundle { .. }) {
            env.push((contract::ENV_KUBERNETES_CA_FILE.into(), layout.ca_file()));
        }
        if let CaSource::Data(data) = &cte.ca {
            env.push((contract::ENV_KUBERNETES_CA_DATA.into(), data.clone()));
        }
    }
    for identity in identities {
        let suffix = &identity.env_suffix;
        env.push((
            format!("{}_{suffix}", contract::ENV_CLIENT_ID),
            identity.client_id.clone(),
        ));
        if let Some(tenant) = &identity.tenant_id {
            env.push((format!("{}_{suffix}", contract::ENV_TENANT_ID), tenant.clone()));
        }
        if let Some(host) = &identity.authority_host {
            env.push((format!("{}_{suffix}", contract::ENV_AUTHORITY_HOST), host.clone()));
        }
    }
    env.retain(|(_, value)| !value.is_empty());
    env
}

/// The record of injected values: `NAME=<first 8 hex of SHA-256(value)>`, comma-separated,
/// sorted. Short enough for an annotation, and enough to tell our value from a user's.
pub(super) fn recorded_env(annotation: Option<&str>) -> BTreeMap<String, String> {
    // A record edited into something unreadable is ignored: then nothing counts as ours.
    annotation
        .unwrap_or_default()
        .split(',')
        .filter_map(|item| item.split_once('='))
        .map(|(name, hash)| (name.trim().to_owned(), hash.trim().to_owned()))
        .collect()
}

pub(super) fn value_fingerprint(value: &str) -> String {
    hex::encode(&Sha256::digest(value.as_bytes())[..4])
}

pub(super) fn record_text(env: &[(String, String)]) -> String {
    // Sorted by name; a name given twice keeps its last value, as a map would.
    let mut record: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    record.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = String::with_capacity(record.len() * 40);
    for (i, (name, value)) in record.iter().enumerate() {
        if record.get(i + 1).is_some_and(|next| next.0 == *name) {
            continue;
        }
        if !text.is_empty() {
            text.push(',');
        }
        text.push_str(name);
        text.push('=');
        text.push_str(&value_fingerprint(value));
    }
    text
}

pub(super) fn plan_record(view: &PodView<'_>, desired: &Desired<'_>, operations: &mut Vec<PatchOperation>) {
    let text = record_text(&desired.env);
    if view.annotation(contract::WIF_ANNOTATION_INJECTED_ENV) == Some(text.as_str()) {
        return;
    }
    let key = contract::WIF_ANNOTATION_INJECTED_ENV;
    operations.push(if !view.has_metadata() {
        add(
            pointer(&["metadata"]),
            object([("annotations", object([(key, text.into())]))]),
        )
    } else if view.annotation_map_is_absent() {
        add(pointer(&["metadata", "annotations"]), object([(key, text.into())]))
    } else {
        add(pointer(&["metadata", "annotations", key]), text.into())
    });
}
