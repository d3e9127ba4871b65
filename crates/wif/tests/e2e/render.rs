//! Offline and online mutation are one: `wif render` of a manifest gives the pod spec the
//! API server stored after the webhook mutated the same manifest. The rendered pod goes
//! through the API server too (a dry run, its opt-in label taken off so the webhook leaves
//! it alone), so both sides carry the API server's own defaulting and nothing else differs.

use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use crate::admission::{CLIENT_ID, USE_LABEL, labelled_pod};
use crate::cluster::{CLIENT_A, CLIENT_B, TENANT};
use crate::{Env, namespace_for};

/// What the API server adds for its own reasons: the service-account token volume with a
/// random suffix (ServiceAccount admission) and the bookkeeping metadata.
fn comparable(pod: &Pod) -> Result<Value> {
    let mut spec = serde_json::to_value(pod.spec.as_ref().context("no spec")?)?;
    let generated = |v: &Value| v["name"].as_str().is_some_and(|n| n.starts_with("kube-api-access-"));
    if let Some(volumes) = spec["volumes"].as_array_mut() {
        volumes.retain(|v| !generated(v));
    }
    for list in ["containers", "initContainers"] {
        for container in spec[list].as_array_mut().into_iter().flatten() {
            if let Some(mounts) = container["volumeMounts"].as_array_mut() {
                mounts.retain(|m| !generated(m));
            }
        }
    }
    // The opt-in label is the one thing the two sides differ in by construction; a label map
    // left empty by its removal is stored as none.
    let mut labels = pod.metadata.labels.clone().unwrap_or_default();
    labels.remove(USE_LABEL);
    Ok(json!({"spec": spec, "labels": labels, "annotations": pod.metadata.annotations}))
}

fn pods() -> Vec<Value> {
    let mut plain = labelled_pod("plain", "app", &["main", "second"], &["setup"]);
    plain["spec"]["containers"][0]["env"] = json!([{"name": "EXISTING", "value": "1"}]);
    plain["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "data", "mountPath": "/data"}]);
    plain["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
    let mut proxy = labelled_pod("proxy", "app", &["main"], &[]);
    proxy["metadata"]["annotations"] = json!({
        "azure.workload.identity/inject-proxy-sidecar": "true",
        "azure.workload.identity/proxy-sidecar-port": "8080",
    });
    let mut other = labelled_pod("other-tenant", "other", &["main", "skipped"], &[]);
    other["metadata"]["annotations"] = json!({
        "azure.workload.identity/skip-containers": "skipped",
        "azure.workload.identity/service-account-token-expiration": "7200",
    });
    vec![plain, proxy, other]
}

pub async fn offline_render_equals_what_the_api_server_stored(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("render")).await?;
    let other_tenant = "bbbbbbbb-0000-4000-8000-00000000000b";
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    env.cluster
        .service_account(
            &ns,
            "other",
            &[
                (CLIENT_ID, CLIENT_B),
                ("azure.workload.identity/tenant-id", other_tenant),
            ],
        )
        .await?;
    let mut manifest = String::new();
    for (name, client, tenant) in [("app", CLIENT_A, None), ("other", CLIENT_B, Some(other_tenant))] {
        let mut annotations = json!({CLIENT_ID: client});
        if let Some(t) = tenant {
            annotations["azure.workload.identity/tenant-id"] = json!(t);
        }
        let account = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns, "annotations": annotations}});
        manifest.push_str(&format!("---\n{account}\n"));
    }
    for pod in pods() {
        let mut pod = pod;
        pod["metadata"]["namespace"] = json!(ns);
        manifest.push_str(&format!("---\n{pod}\n"));
    }
    let input = env.work.join("render-input.yaml");
    std::fs::write(&input, &manifest)?;
    // The shared webhook runs against 1.37, so it places the proxy as a native sidecar.
    let out = Command::new(env!("CARGO_BIN_EXE_wif"))
        .args(["render", "--tenant-id", TENANT, "--native-sidecar", "-f"])
        .arg(&input)
        .output()?;
    ensure!(
        out.status.success(),
        "wif render: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = wif_core::yaml::parse_stream(&String::from_utf8(out.stdout)?)?;
    let rendered: Vec<Value> = rendered.into_iter().filter(|d| d["kind"] == "Pod").collect();
    ensure!(rendered.len() == 3, "wif render gave {} pods", rendered.len());

    for (original, offline) in pods().into_iter().zip(rendered) {
        let name = original["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let mut offline = offline;
        if let Some(labels) = offline["metadata"]["labels"].as_object_mut() {
            labels.remove(USE_LABEL);
        }
        let offline: Pod = serde_json::from_value(offline)?;
        let defaulted = env
            .cluster
            .dry_run(&ns, &offline)
            .await
            .with_context(|| format!("{name}: the API server refused the rendered pod"))?;
        let online = env.cluster.create_pod(&ns, original).await?;
        let (offline, online) = (comparable(&defaulted)?, comparable(&online)?);
        ensure!(
            offline == online,
            "{name}: wif render and the webhook differ\n--- render\n{offline:#}\n--- webhook\n{online:#}"
        );
    }
    Ok(())
}
