//! azure-workload-identity v1.6.0's webhook beside wif's on the same node: its image built here
//! the same way (its binary from its Go module, on the local distroless base), deployed as its
//! chart deploys it (a Deployment behind a Service, certificate rotation off with a certificate
//! the test makes, since its rotation would write the configuration name wif's chart uses), for
//! namespaces labelled `wif-node/webhook=upstream` only. The same pod as wif's token scenario
//! runs under it, and both stored pods are compared. Then the proxy scenario's pod: upstream's
//! proxy (its image with the run's CA added, as wif's) cannot serve it against a local
//! authority, because its credential (azidentity without instance discovery disabled) asks
//! login.microsoftonline.com about any authority it does not know; wif's proxy served the same
//! pod.

use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use crate::Env;
use crate::emulator::{READER, READER_TENANT};
use crate::pods::{
    CLIENT_ID_ANNOTATION, TOKEN_FILE, USE_LABEL, claims, exec, namespace_with_app_account, reader_pod, run_until,
    running,
};

pub const NAMESPACE_LABEL: &str = "wif-node/webhook";
const SYSTEM: &str = "upstream-wi-system";
const WEBHOOK_IMAGE: &str = "mcr.microsoft.com/oss/azure/workload-identity/webhook:v1.6.0";

/// Applies objects with server-side apply, as `kubectl apply --server-side` does.
async fn apply(env: &Env, objects: &[Value]) -> Result<()> {
    let dir = env.work.join("upstream");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("upstream.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "List", "items": objects}))?,
    )?;
    let path = file.display().to_string();
    let out = env.cluster.kubectl(&["apply", "--server-side", "-f", &path])?;
    ensure!(
        out.status.success(),
        "kubectl apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Upstream's webhook and the namespace it serves, deployed once for both scenarios (either
/// may run alone).
static DEPLOYED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

async fn upstream(env: &Env) -> Result<&'static str> {
    DEPLOYED.get_or_try_init(|| deploy_upstream(env)).await?;
    Ok(UPSTREAM_NAMESPACE)
}

/// The scenarios' namespace, labelled for upstream's webhook only.
const UPSTREAM_NAMESPACE: &str = "node-upstream";

async fn deploy_upstream(env: &Env) -> Result<()> {
    let ca = wif_server::pki::LocalCa::new("upstream-node-ca")?;
    let service = format!("upstream-webhook.{SYSTEM}.svc");
    let serving = ca.issue(&[service.as_str()])?;
    let labels = json!({"app": "upstream-webhook"});
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "upstream-webhook", "namespace": SYSTEM}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "upstream-webhook"},
               "rules": [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "upstream-webhook"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "upstream-webhook"},
               "subjects": [{"kind": "ServiceAccount", "name": "upstream-webhook", "namespace": SYSTEM}]}),
        // Its way to a custom authority host: an Azure Stack cloud file (go-autorest), naming the
        // emulator as the cloud's Entra ID, so both webhooks inject the same AZURE_AUTHORITY_HOST.
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "upstream-cloud", "namespace": SYSTEM},
               "data": {"cloud.json": json!({"name": "AzureStackCloud", "activeDirectoryEndpoint": format!("{}/", env.emulator.url)}).to_string()}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "upstream-webhook-cert", "namespace": SYSTEM},
               "stringData": {"tls.crt": serving.cert_pem, "tls.key": serving.key_pem}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "upstream-webhook", "namespace": SYSTEM},
               "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                   "serviceAccountName": "upstream-webhook",
                   "securityContext": {"runAsNonRoot": true, "runAsUser": 65532},
                   "containers": [{"name": "manager", "image": WEBHOOK_IMAGE, "imagePullPolicy": "Never",
                       "args": ["--webhook-cert-dir=/certs", "--disable-cert-rotation", "--log-level=info",
                                "--health-addr=:9440", "--metrics-addr=:8095"],
                       "env": [{"name": "AZURE_TENANT_ID", "value": READER_TENANT},
                               {"name": "AZURE_ENVIRONMENT", "value": "AzureStackCloud"},
                               {"name": "AZURE_ENVIRONMENT_FILEPATH", "value": "/etc/upstream-cloud/cloud.json"},
                               {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                       "ports": [{"name": "webhook-server", "containerPort": 9443}, {"name": "healthz", "containerPort": 9440}],
                       "readinessProbe": {"httpGet": {"path": "/readyz", "port": "healthz"}, "periodSeconds": 2},
                       "volumeMounts": [{"name": "cert", "mountPath": "/certs", "readOnly": true},
                                        {"name": "cloud", "mountPath": "/etc/upstream-cloud", "readOnly": true}]}],
                   "volumes": [{"name": "cert", "secret": {"secretName": "upstream-webhook-cert"}},
                               {"name": "cloud", "configMap": {"name": "upstream-cloud"}}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "upstream-webhook", "namespace": SYSTEM},
               "spec": {"selector": labels, "ports": [{"port": 443, "targetPort": "webhook-server"}]}}),
    ];
    apply(env, &objects).await?;
    let rollout = env.cluster.kubectl(&[
        "rollout",
        "status",
        "deployment",
        "upstream-webhook",
        "-n",
        SYSTEM,
        "--timeout",
        "120s",
    ])?;
    ensure!(
        rollout.status.success(),
        "upstream's webhook did not become available: {}",
        String::from_utf8_lossy(&rollout.stderr)
    );
    let configuration = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "upstream-wi-webhook"},
        "webhooks": [{
            "name": "mutation.azure-workload-identity.io",
            "admissionReviewVersions": ["v1", "v1beta1"],
            "clientConfig": {"service": {"name": "upstream-webhook", "namespace": SYSTEM, "path": "/mutate-v1-pod"},
                             "caBundle": base64_of(ca.cert_pem())},
            "failurePolicy": "Fail", "matchPolicy": "Equivalent", "reinvocationPolicy": "IfNeeded",
            "sideEffects": "None",
            "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "upstream"}},
            "objectSelector": {"matchLabels": {USE_LABEL: "true"}},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
        }],
    });
    apply(env, &[configuration]).await?;
    env.cluster
        .namespace_labelled(UPSTREAM_NAMESPACE, &[(NAMESPACE_LABEL, "upstream")])
        .await?;
    env.cluster
        .service_account(UPSTREAM_NAMESPACE, "app", &[(CLIENT_ID_ANNOTATION, READER)])
        .await
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// What a user compares: each container's env (name and value), volume mounts and the
/// projected token volume.
fn injected(pod: &Pod) -> Result<Value> {
    let value = serde_json::to_value(pod.spec.as_ref().context("no spec")?)?;
    let containers: Vec<Value> = value["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            // The API server's own token volume has a random suffix in each pod.
            let mounts: Vec<&Value> = c["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| !m["name"].as_str().unwrap_or("").starts_with("kube-api-access-"))
                .collect();
            json!({"name": c["name"], "env": c["env"], "mounts": mounts})
        })
        .collect();
    let volumes: Vec<Value> = value["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["name"].as_str().unwrap_or("").starts_with("azure-workload-identity"))
        .cloned()
        .collect();
    ensure!(volumes.len() == 1, "token volumes: {volumes:?}");
    Ok(json!({"containers": containers, "volumes": volumes}))
}

pub async fn upstream_beside_wif_same_pods_running(env: Arc<Env>) -> Result<()> {
    let ns = upstream(&env).await?;
    // The same pod under wif's webhook, in a namespace of its own.
    let beside = "node-beside";
    namespace_with_app_account(&env.cluster, beside).await?;
    let wif_pod = run_until(&env.cluster, beside, reader_pod(), "Running", running).await?;
    let pod = reader_pod();
    let upstream_pod = run_until(&env.cluster, ns, pod, "Running", running).await?;
    let token = exec(&env.cluster, ns, "reader", &["cat", TOKEN_FILE])?;
    ensure!(
        claims(&token)?["sub"] == format!("system:serviceaccount:{ns}:app"),
        "upstream's pod token: {}",
        claims(&token)?
    );
    // The same injection, to the byte, authority host included.
    let ours = injected(&wif_pod)?;
    let theirs = injected(&upstream_pod)?;
    ensure!(
        ours == theirs,
        "wif and upstream injected differently:\nwif:      {ours}\nupstream: {theirs}"
    );
    Ok(())
}

pub async fn upstreams_proxy_asks_microsoft_about_the_authority_and_fails_where_wifs_served(
    env: Arc<Env>,
) -> Result<()> {
    let ns = upstream(&env).await?;
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "vm-app", "labels": {USE_LABEL: "true"},
                     "annotations": {"azure.workload.identity/inject-proxy-sidecar": "true"}},
        "spec": {
            "serviceAccountName": "app",
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": crate::pods::APP_IMAGE, "imagePullPolicy": "Never",
                "args": ["managed", "https://management.azure.com/.default"],
                "env": [{"name": "AZIDENTITY_CLIENT_ALLOW_NETWORK", "value": "169.254.169.254/32"}],
                "securityContext": {"runAsUser": 65532, "runAsNonRoot": true}}],
        },
    });
    let finished = |p: &Pod| matches!(crate::pods::phase(p), "Succeeded" | "Failed");
    let pod = run_until(&env.cluster, ns, pod, "finished", finished).await?;
    ensure!(
        crate::pods::phase(&pod) == "Failed",
        "upstream's proxy served the pod: {}",
        crate::pods::describe(&pod)
    );
    let proxy_log = crate::pods::logs(&env.cluster, ns, "vm-app", "azwi-proxy")?;
    ensure!(
        proxy_log.contains("https://login.microsoftonline.com/common/discovery/instance"),
        "upstream's proxy failed otherwise:\n{proxy_log}"
    );
    println!("upstream's proxy, same pod (last lines):");
    for line in proxy_log.lines().rev().take(3) {
        println!("  {line}");
    }
    Ok(())
}
