//! The proxy in a real pod: `proxy-init` (wif's image, root with NET_ADMIN) redirects
//! 169.254.169.254:80 inside the pod's network namespace, the proxy runs as a native sidecar
//! (ready before the application starts), and an application that only speaks IMDS (the Azure
//! SDK for Go's ManagedIdentityCredential, no retries) gets the reader's token at its first try.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use crate::chart::{PROXY_IMAGE, PROXY_INIT_IMAGE};
use crate::emulator::{READER, READER_TENANT};
use crate::pods::{APP_IMAGE, USE_LABEL, claims, describe, logs, namespace_with_app_account, run_until, succeeded};
use crate::{Env, figure};

const SCOPE: &str = "https://management.azure.com/.default";

pub async fn imds_only_client_gets_its_token_through_the_proxy(env: Arc<Env>) -> Result<()> {
    let ns = "node-proxy";
    namespace_with_app_account(&env.cluster, ns).await?;
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "vm-app", "labels": {USE_LABEL: "true"},
                     "annotations": {"azure.workload.identity/inject-proxy-sidecar": "true"}},
        "spec": {
            "serviceAccountName": "app",
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": APP_IMAGE, "imagePullPolicy": "Never",
                "args": ["managed", SCOPE],
                // The client's own guard lets it dial IMDS's address; the redirect takes it
                // to the proxy on the pod's loopback.
                "env": [{"name": "AZIDENTITY_CLIENT_ALLOW_NETWORK", "value": "169.254.169.254/32"}],
                "securityContext": {"runAsUser": 65532, "runAsNonRoot": true}}],
        },
    });
    let started = Instant::now();
    let pod = run_until(&env.cluster, ns, pod, "Succeeded", succeeded).await?;
    figure(
        "proxied pod, create to Succeeded (IMDS token through proxy-init and the sidecar)",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    // What the webhook injected, and what ran: the proxy first, as a native sidecar (an init
    // container that keeps running, ready before anything after it starts), proxy-init last of
    // the init containers (where upstream puts it), then the application.
    let spec = pod.spec.as_ref().context("no spec")?;
    let init: Vec<(&str, &str, Option<&str>)> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| {
            (
                c.name.as_str(),
                c.image.as_deref().unwrap_or(""),
                c.restart_policy.as_deref(),
            )
        })
        .collect();
    ensure!(
        init == [
            ("azwi-proxy", PROXY_IMAGE, Some("Always")),
            ("azwi-proxy-init", PROXY_INIT_IMAGE, None)
        ],
        "init containers {init:?}"
    );
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.init_container_statuses.clone())
        .unwrap_or_default();
    let init_exit = statuses
        .iter()
        .find(|s| s.name == "azwi-proxy-init")
        .and_then(|s| s.state.as_ref()?.terminated.as_ref().map(|t| t.exit_code));
    ensure!(init_exit == Some(0), "proxy-init: {}", describe(&pod));
    let log = logs(&env.cluster, ns, "vm-app", "main")?;
    let line: Value = serde_json::from_str(log.lines().next().context("the app printed nothing")?)
        .with_context(|| format!("the app's log: {log}"))?;
    let access = claims(line["token"].as_str().context("no token")?)?;
    ensure!(
        access["tid"] == READER_TENANT && access["appid"] == READER,
        "the token through the proxy: {access}"
    );
    let proxy_log = logs(&env.cluster, ns, "vm-app", "azwi-proxy")?;
    ensure!(
        proxy_log.contains(READER),
        "the proxy's log does not name the client it served:\n{proxy_log}"
    );
    Ok(())
}
