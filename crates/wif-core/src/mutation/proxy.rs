//! The proxy's two containers exactly as upstream v1.6.0 injects them (spec/upstream-azwi.md
//! §1.7): `azwi-proxy-init` (iptables redirect of IMDS traffic) and the `azwi-proxy` sidecar.
//! One deliberate difference: the sidecar states `runAsUser: 1501`, the UID its image already
//! uses, so a pod-level `runAsUser` cannot break the iptables exemption.

use serde_json::{Value, json};

use crate::contract;
use crate::settings::WebhookSettings;

/// The init container that installs the iptables redirect.
pub fn init_container(settings: &WebhookSettings, port: u16) -> Value {
    json!({
        "name": contract::PROXY_INIT_CONTAINER_NAME,
        "image": settings.proxy_init_image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "capabilities": { "add": ["NET_ADMIN"], "drop": ["ALL"] },
            "privileged": true,
            "runAsNonRoot": false,
            "runAsUser": 0
        },
        "env": [{ "name": "PROXY_PORT", "value": port.to_string() }]
    })
}

/// The IMDS-compatible sidecar; with `native`, an init container that keeps running.
pub fn sidecar_container(settings: &WebhookSettings, port: u16, native: bool) -> Value {
    let port_arg = format!("--proxy-port={port}");
    let log_arg = format!("--log-level={}", settings.proxy_log_level);
    let mut container = json!({
        "name": contract::PROXY_SIDECAR_CONTAINER_NAME,
        "image": settings.proxy_image,
        "imagePullPolicy": "IfNotPresent",
        "args": [port_arg, log_arg],
        "ports": [{ "containerPort": port }],
        "lifecycle": {
            "postStart": { "exec": { "command": ["/proxy", port_arg, "--probe", log_arg] } }
        },
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "runAsUser": contract::PROXY_UID
        }
    });
    if native && let Some(map) = container.as_object_mut() {
        map.insert("restartPolicy".into(), json!("Always"));
    }
    container
}
