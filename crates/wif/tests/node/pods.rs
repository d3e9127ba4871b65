//! Pods that really start: the token file kubelet writes for a labelled pod, read by the
//! container's own non-root user, and an application (the Azure SDK for Go) that gets tokens in
//! two tenants and reads a Key Vault secret, printing seed 002's log line.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::emulator::{READER, READER_TENANT, SECRET_NAME, SECRET_VALUE, WRITER, WRITER_TENANT};
use crate::{Env, figure, var};

pub const USE_LABEL: &str = "azure.workload.identity/use";
pub const CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";
pub const BUSYBOX: &str = "localhost/wif-test/busybox:1";
pub const APP_IMAGE: &str = "localhost/wif-test/azidentity-client:1";
pub const TOKEN_FILE: &str = "/var/run/secrets/azure/wi/token/azure-identity-token";
const SCOPE: &str = "https://vault.azure.net/.default";
/// How long a pod may take to start or finish on two busy cores.
const POD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// A namespace with the `app` ServiceAccount annotated with the reader's client id.
pub async fn namespace_with_app_account(cluster: &Cluster, namespace: &str) -> Result<()> {
    cluster.namespace(namespace).await?;
    cluster
        .service_account(namespace, "app", &[(CLIENT_ID_ANNOTATION, READER)])
        .await
}

/// Creates `pod` and waits (by watching) until `done` holds for it; returns it then.
pub async fn run_until(
    cluster: &Cluster,
    namespace: &str,
    pod: Value,
    what: &str,
    done: fn(&Pod) -> bool,
) -> Result<Pod> {
    let name = pod["metadata"]["name"].as_str().context("a pod name")?.to_owned();
    let api = cluster.pods(namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let stream = watcher(api.clone(), config);
    let mut stream = std::pin::pin!(stream);
    cluster
        .create_pod(namespace, pod)
        .await
        .with_context(|| format!("creating pod {namespace}/{name}"))?;
    let wait = async {
        let mut last = None;
        while let Some(event) = stream.next().await {
            if let watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) = event? {
                if done(&pod) {
                    return Ok(pod);
                }
                if phase(&pod) == "Failed" {
                    bail!("pod {namespace}/{name} failed: {}", describe(&pod));
                }
                last = Some(pod);
            }
        }
        bail!("the pod watch ended; last seen: {:?}", last.map(|p| describe(&p)))
    };
    match tokio::time::timeout(POD_DEADLINE, wait).await {
        Ok(result) => result,
        Err(_) => {
            let now = api.get(&name).await.ok();
            bail!(
                "pod {namespace}/{name} not {what} within {POD_DEADLINE:?}: {}",
                now.as_ref().map(describe).unwrap_or_default()
            )
        }
    }
}

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

pub fn running(pod: &Pod) -> bool {
    phase(pod) == "Running"
}

pub fn succeeded(pod: &Pod) -> bool {
    phase(pod) == "Succeeded"
}

/// Phase and each container's state, for a failure message.
pub fn describe(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let containers: Vec<String> = status
        .into_iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .map(|c| format!("{}: {}", c.name, serde_json::to_string(&c.state).unwrap_or_default()))
        .collect();
    format!(
        "phase {:?}, {}",
        status.and_then(|s| s.phase.clone()),
        containers.join("; ")
    )
}

/// `kubectl exec` (API server -> kubelet -> containerd): the command's stdout.
pub fn exec(cluster: &Cluster, namespace: &str, pod: &str, command: &[&str]) -> Result<String> {
    let mut args = vec![
        "exec",
        "--request-timeout=60s",
        "-n",
        namespace,
        pod,
        "-c",
        "main",
        "--",
    ];
    args.extend_from_slice(command);
    let out = cluster.kubectl(&args)?;
    ensure!(
        out.status.success(),
        "kubectl exec {command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `kubectl logs` of one container, as a user reads it.
pub fn logs(cluster: &Cluster, namespace: &str, pod: &str, container: &str) -> Result<String> {
    let out = cluster.kubectl(&["logs", "--request-timeout=60s", "-n", namespace, pod, "-c", container])?;
    ensure!(
        out.status.success(),
        "kubectl logs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn claims(jwt: &str) -> Result<Value> {
    let payload = jwt.split('.').nth(1).context("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim())?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// A labelled pod of `app` as users harden them: non-root user and group, fsGroup, seccomp,
/// no privilege escalation, no capabilities, a memory limit.
pub fn reader_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "reader", "labels": {USE_LABEL: "true"}},
        "spec": {
            "serviceAccountName": "app",
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "main", "image": BUSYBOX, "imagePullPolicy": "Never",
                            "command": ["sleep", "3600"],
                            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                            "resources": {"limits": {"memory": "32Mi"}}}],
        },
    })
}

pub async fn labelled_pod_runs_with_kubelets_token_readable_by_its_user(env: Arc<Env>) -> Result<()> {
    let ns = "node-token";
    namespace_with_app_account(&env.cluster, ns).await?;
    let pod = reader_pod();
    let started = Instant::now();
    let pod = run_until(&env.cluster, ns, pod, "Running", running).await?;
    figure(
        "labelled pod, create to Running",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    let uid = pod.metadata.uid.clone().context("no uid")?;

    // The webhook's env, as the container sees it.
    let environment = exec(&env.cluster, ns, "reader", &["env"])?;
    for expected in [
        format!("AZURE_CLIENT_ID={READER}"),
        format!("AZURE_TENANT_ID={READER_TENANT}"),
        format!("AZURE_FEDERATED_TOKEN_FILE={TOKEN_FILE}"),
        // The chart's authorityHost, with the trailing slash upstream's webhook gives it too.
        format!("AZURE_AUTHORITY_HOST={}/", env.emulator.url),
    ] {
        ensure!(
            environment.lines().any(|l| l == expected),
            "{expected} missing from the container's env:\n{environment}"
        );
    }
    // Kubelet wrote the token; the container's own user (1000, not root) reads it.
    let user = exec(&env.cluster, ns, "reader", &["id", "-u"])?;
    ensure!(user.trim() == "1000", "the container runs as {user}");
    let token = exec(&env.cluster, ns, "reader", &["cat", TOKEN_FILE])?;
    let mode = exec(
        &env.cluster,
        ns,
        "reader",
        &["stat", "-L", "-c", "%a %u %g", TOKEN_FILE],
    )?;
    ensure!(
        mode.trim() == "640 1000 2000",
        "the token file is {mode} (mode, owner, group)"
    );
    let projected = claims(&token)?;
    ensure!(
        projected["iss"] == env.cluster.server.as_str(),
        "iss {}",
        projected["iss"]
    );
    ensure!(
        projected["aud"] == json!(["api://AzureADTokenExchange"]),
        "aud {}",
        projected["aud"]
    );
    ensure!(
        projected["sub"] == format!("system:serviceaccount:{ns}:app"),
        "sub {}",
        projected["sub"]
    );
    ensure!(
        projected["kubernetes.io"]["pod"]["uid"] == uid.as_str()
            && projected["kubernetes.io"]["node"]["name"] == var("NODE_NAME")?.as_str(),
        "the token is bound to {}",
        projected["kubernetes.io"]
    );
    Ok(())
}

pub async fn application_gets_two_tenants_and_reads_the_secret(env: Arc<Env>) -> Result<()> {
    let ns = "node-app";
    namespace_with_app_account(&env.cluster, ns).await?;
    // The emulator's CA reaches the app as a ConfigMap, as a private CA does.
    let configs: Api<ConfigMap> = Api::namespaced(env.cluster.client.clone(), ns);
    let ca = ConfigMap {
        metadata: ObjectMeta {
            name: Some("test-ca".into()),
            ..Default::default()
        },
        data: Some([("ca.crt".to_owned(), std::fs::read_to_string(&env.emulator.ca_file)?)].into()),
        ..Default::default()
    };
    configs.create(&PostParams::default(), &ca).await?;
    let reader = format!("{READER_TENANT}:{READER}");
    let writer = format!("{WRITER_TENANT}:{WRITER}");
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "app", "labels": {USE_LABEL: "true"}},
        "spec": {
            "serviceAccountName": "app",
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "fsGroup": 65532},
            "containers": [{"name": "main", "image": APP_IMAGE, "imagePullPolicy": "Never",
                "args": ["app", SCOPE, env.emulator.vault_url, SECRET_NAME, reader, writer],
                "env": [
                    {"name": "SSL_CERT_FILE", "value": "/etc/test-ca/ca.crt"},
                    {"name": "HTTPS_PROXY", "value": env.emulator.vault_proxy},
                    {"name": "NO_PROXY", "value": env.node_ip},
                    {"name": "AZIDENTITY_CLIENT_ALLOW_NETWORK", "value": format!("{}/32", env.node_ip)},
                ],
                "volumeMounts": [{"name": "test-ca", "mountPath": "/etc/test-ca", "readOnly": true}]}],
            "volumes": [{"name": "test-ca", "configMap": {"name": "test-ca"}}],
        },
    });
    let started = Instant::now();
    run_until(&env.cluster, ns, pod, "Succeeded", succeeded).await?;
    figure(
        "application pod, create to Succeeded (two tokens and a secret)",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    let log = logs(&env.cluster, ns, "app", "main")?;
    println!("$ kubectl logs -n {ns} app\n{log}");
    let tokens: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    ensure!(tokens.len() == 2, "{} tokens in the log:\n{log}", tokens.len());
    for (line, (tenant, client)) in tokens.iter().zip([(READER_TENANT, READER), (WRITER_TENANT, WRITER)]) {
        let access = claims(line["token"].as_str().context("token")?)?;
        ensure!(
            access["tid"] == tenant && access["appid"] == client,
            "wanted {tenant}/{client}, got {access}"
        );
    }
    let expected = format!("successfully got secret, secret={SECRET_VALUE}");
    ensure!(log.lines().any(|l| l == expected), "no {expected:?} in the log:\n{log}");
    Ok(())
}
