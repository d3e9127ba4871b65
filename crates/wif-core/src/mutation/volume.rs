//! The projected token volume: its name (v1.6.0's hash of the pod name, or the legacy fixed
//! name), its sources (the service-account token, and the CA of a custom token endpoint), and
//! the one operation that adds or replaces it.

use json_patch::PatchOperation;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::patch::{Desired, add, object, only_keys, pointer, replace};
use super::pod::{JsonObject, PodView};
use crate::contract;
use crate::settings::{CaSource, CustomTokenEndpoint, TokenLayout, WebhookSettings};

/// The v1.6.0 volume name: the reserved prefix and 30 hex chars of SHA-256 of the pod name.
pub fn reserved_volume_name(pod_name: &str) -> String {
    let digest = Sha256::digest(pod_name.as_bytes());
    let mut name = String::with_capacity(63);
    name.push_str(contract::RESERVED_VOLUME_PREFIX);
    name.push_str(&hex::encode(&digest[..contract::RESERVED_VOLUME_HASH_LEN / 2]));
    name
}

pub(super) fn is_our_token_volume(volume: &JsonObject, layout: TokenLayout) -> bool {
    volume
        .get("projected")
        .and_then(|p| p.get("sources"))
        .and_then(Value::as_array)
        .is_some_and(|sources| {
            sources.iter().any(|s| {
                s.get("serviceAccountToken")
                    .and_then(|t| t.get("path"))
                    .and_then(Value::as_str)
                    == Some(layout.token_path())
            })
        })
}

/// The v1.6 volume keeps the name it already has when the pod carries one of ours (a pod
/// re-admitted, or rendered offline under another name), so a changed pod name never yields
/// a second volume at the same mount path (upstream's reinvocation bug, fixed on its main).
pub(super) fn volume_name(view: &PodView<'_>, layout: TokenLayout, pod_name: &str) -> String {
    match layout {
        TokenLayout::Legacy => contract::LEGACY_VOLUME_NAME.to_owned(),
        TokenLayout::V1_6 => {
            let computed = reserved_volume_name(pod_name);
            let volumes = view.volumes().unwrap_or_default();
            let name_of = |v: &JsonObject| v.get("name").and_then(Value::as_str).map(str::to_owned);
            if volumes.iter().any(|v| name_of(v).as_deref() == Some(computed.as_str())) {
                return computed;
            }
            volumes
                .iter()
                .filter(|v| is_our_token_volume(v, layout))
                .filter_map(name_of)
                .find(|n| n.starts_with(contract::RESERVED_VOLUME_PREFIX))
                .unwrap_or(computed)
        }
    }
}

pub(super) fn volume_sources(
    settings: &WebhookSettings,
    expiration: i64,
    custom: Option<&CustomTokenEndpoint>,
) -> Value {
    let audience = custom.map_or(settings.audience.as_str(), |c| c.audience.as_str());
    let mut sources = vec![object([(
        "serviceAccountToken",
        object([
            ("audience", audience.into()),
            ("expirationSeconds", expiration.into()),
            ("path", settings.token_layout.token_path().into()),
        ]),
    )])];
    match custom.map(|c| &c.ca) {
        Some(CaSource::ConfigMap(name)) => sources.push(json!({
            "configMap": {
                "name": name,
                "items": [{ "key": "ca.crt", "path": contract::V1_6_CA_PATH }],
                "optional": false
            }
        })),
        Some(CaSource::ClusterTrustBundle {
            signer_name,
            label_selector,
        }) => {
            let mut bundle = json!({
                "signerName": signer_name,
                "path": contract::V1_6_CA_PATH,
                "optional": false
            });
            if let (Some(selector), Some(map)) = (label_selector, bundle.as_object_mut()) {
                map.insert("labelSelector".into(), selector.clone());
            }
            sources.push(json!({ "clusterTrustBundle": bundle }));
        }
        _ => {}
    }
    Value::Array(sources)
}

pub(super) fn plan_volume(view: &PodView<'_>, desired: &Desired<'_>, operations: &mut Vec<PatchOperation>) {
    let volume = object([
        ("name", desired.volume_name.as_str().into()),
        ("projected", object([("sources", desired.volume_sources.clone())])),
    ]);
    let Some(volumes) = view.volumes() else {
        operations.push(add(pointer(&["spec", "volumes"]), Value::Array(vec![volume])));
        return;
    };
    let position = volumes
        .iter()
        .position(|v| v.get("name").and_then(Value::as_str) == Some(desired.volume_name.as_str()));
    let Some(i) = position else {
        operations.push(add(pointer(&["spec", "volumes", "-"]), volume));
        return;
    };
    if desired.layout == TokenLayout::Legacy {
        return; // v1.5.x kept a pre-declared `azure-identity-token` volume
    }
    let index = i.to_string();
    let existing = &volumes[i];
    // Replace only the sources when the volume is already projected, so that fields the
    // API server defaulted (defaultMode) stay and a re-admission is a no-op.
    match existing.get("projected").filter(|p| p.is_object()) {
        Some(projected) if only_keys(existing, &["name", "projected"]) => {
            if projected.get("sources") != Some(&desired.volume_sources) {
                let path = pointer(&["spec", "volumes", &index, "projected", "sources"]);
                operations.push(if projected.get("sources").is_some() {
                    replace(path, desired.volume_sources.clone())
                } else {
                    add(path, desired.volume_sources.clone())
                });
            }
        }
        _ => operations.push(replace(pointer(&["spec", "volumes", &index]), volume)),
    }
}
