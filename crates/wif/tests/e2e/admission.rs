//! Upstream's end-to-end webhook scenarios (spec/upstream-azwi.md §5.5), judged by the pod
//! the API server stores: env, volume and mount; unlabelled pods untouched; skip-containers;
//! the expiration annotation; the proxy as a native sidecar and as a plain container, both
//! accepted by the API server's validation; denials in upstream's words; server-side dry-run.

use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use crate::cluster::{CLIENT_A, OWN_WEBHOOK_LABEL, TENANT, container_env, env_value, eventually};
use crate::webhook::{Webhook, WebhookLaunch, register};
use crate::{Env, namespace_for};

pub const USE_LABEL: &str = "azure.workload.identity/use";
pub const CLIENT_ID: &str = "azure.workload.identity/client-id";
pub const TOKEN_FILE: &str = "/var/run/secrets/azure/wi/token/azure-identity-token";
pub const PUBLIC_CLOUD: &str = "https://login.microsoftonline.com/";

/// A pod of `account`, labelled to be mutated, with these containers and init containers.
pub fn labelled_pod(name: &str, account: &str, containers: &[&str], init: &[&str]) -> Value {
    let list = |names: &[&str]| {
        names
            .iter()
            .map(|n| json!({"name": n, "image": "busybox"}))
            .collect::<Vec<_>>()
    };
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {USE_LABEL: "true"}},
        "spec": {"serviceAccountName": account, "containers": list(containers)},
    });
    if !init.is_empty() {
        pod["spec"]["initContainers"] = json!(list(init));
    }
    pod
}

/// The API server calls webhooks from its own copy of the configurations, updated a moment
/// after ours was created: a dry-run pod shows when the webhook is being called.
pub async fn wait_until_called(env: &Env) -> Result<()> {
    let namespace = env.cluster.namespace(&namespace_for("probe")).await?;
    env.cluster
        .service_account(&namespace, "probe", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    probe_until_mutated(env, &namespace).await
}

/// Dry-run pods in `namespace` until one comes back mutated.
pub async fn probe_until_mutated(env: &Env, namespace: &str) -> Result<()> {
    let probe: Pod = serde_json::from_value(labelled_pod("probe", "probe", &["c"], &[]))?;
    eventually("the API server calling the webhook", || async {
        let stored = env.cluster.dry_run(namespace, &probe).await?;
        Ok(env_value(&stored, "c", "AZURE_CLIENT_ID").is_some())
    })
    .await
}

fn reserved_mount(pod: &Pod, container: &str) -> Option<(String, String, bool)> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == container)?
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.name.starts_with("azure-workload-identity-reserved-"))
        .map(|m| (m.name.clone(), m.mount_path.clone(), m.read_only.unwrap_or(false)))
}

fn reserved_volume(pod: &Pod) -> Option<Value> {
    let volumes = pod.spec.as_ref()?.volumes.as_ref()?;
    volumes
        .iter()
        .find(|v| v.name.starts_with("azure-workload-identity-reserved-"))
        .and_then(|v| serde_json::to_value(v).ok())
}

/// Every check upstream's e2e makes of a mutated container.
pub fn assert_mutated(pod: &Pod, container: &str, client_id: &str, expiration: i64) -> Result<()> {
    let want = [
        ("AZURE_CLIENT_ID", client_id),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_FEDERATED_TOKEN_FILE", TOKEN_FILE),
        ("AZURE_AUTHORITY_HOST", PUBLIC_CLOUD),
    ];
    for (name, value) in want {
        let found = env_value(pod, container, name);
        ensure!(
            found.as_deref() == Some(value),
            "container {container}: {name} is {found:?}, want {value:?}"
        );
    }
    let (volume_name, path, read_only) =
        reserved_mount(pod, container).with_context(|| format!("container {container} has no reserved mount"))?;
    ensure!(
        path == "/var/run/secrets/azure/wi" && read_only,
        "container {container}: mount at {path}, read-only {read_only}"
    );
    let volume = reserved_volume(pod).context("the pod has no reserved volume")?;
    let expected = json!({
        "name": volume_name,
        "projected": {
            "defaultMode": 420,
            "sources": [{"serviceAccountToken": {
                "audience": "api://AzureADTokenExchange",
                "expirationSeconds": expiration,
                "path": "token/azure-identity-token",
            }}],
        },
    });
    ensure!(volume == expected, "the stored volume is {volume:#}, want {expected:#}");
    Ok(())
}

fn assert_untouched(pod: &Pod, container: &str) -> Result<()> {
    let env = container_env(pod, container);
    ensure!(
        env.iter().all(|(n, _)| !n.starts_with("AZURE_")),
        "container {container} got {env:?}"
    );
    ensure!(
        reserved_mount(pod, container).is_none(),
        "container {container} got the token mount"
    );
    Ok(())
}

pub async fn labelled_pod_gets_env_volume_and_mount(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("labelled")).await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    let stored = env
        .cluster
        .create_pod(&ns, labelled_pod("p", "app", &["main", "second"], &["setup"]))
        .await?;
    for container in ["main", "second", "setup"] {
        assert_mutated(&stored, container, CLIENT_A, 3600)?;
    }
    // What was stored is what a GET returns (the answer was not just echoed).
    let fetched = env.cluster.pods(&ns).get("p").await?;
    assert_mutated(&fetched, "main", CLIENT_A, 3600)
}

pub async fn unlabelled_pod_is_untouched(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("unlabelled")).await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    let mut pod = labelled_pod("p", "app", &["main"], &[]);
    pod["metadata"]["labels"] = json!({"app": "x"});
    let stored = env.cluster.create_pod(&ns, pod).await?;
    assert_untouched(&stored, "main")?;
    ensure!(
        reserved_volume(&stored).is_none(),
        "an unlabelled pod got the token volume"
    );
    // A label with another value is not the opt-in either.
    let mut pod = labelled_pod("q", "app", &["main"], &[]);
    pod["metadata"]["labels"] = json!({USE_LABEL: "false"});
    assert_untouched(&env.cluster.create_pod(&ns, pod).await?, "main")
}

pub async fn skip_containers_are_left_alone(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("skip")).await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    let mut pod = labelled_pod("p", "app", &["busybox-1", "busybox-2"], &[]);
    pod["metadata"]["annotations"] = json!({"azure.workload.identity/skip-containers": "busybox-1;"});
    let stored = env.cluster.create_pod(&ns, pod).await?;
    assert_untouched(&stored, "busybox-1")?;
    assert_mutated(&stored, "busybox-2", CLIENT_A, 3600)
}

pub async fn expiration_annotation_sets_the_token_lifetime(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("expiration")).await?;
    let expiration = "azure.workload.identity/service-account-token-expiration";
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A), (expiration, "86400")])
        .await?;
    let stored = env
        .cluster
        .create_pod(&ns, labelled_pod("p", "app", &["main"], &[]))
        .await?;
    assert_mutated(&stored, "main", CLIENT_A, 86400)?;
    // The pod's annotation wins over the account's.
    let mut pod = labelled_pod("q", "app", &["main"], &[]);
    pod["metadata"]["annotations"] = json!({expiration: "7200"});
    assert_mutated(&env.cluster.create_pod(&ns, pod).await?, "main", CLIENT_A, 7200)
}

/// The status a refused create returns.
fn refusal(result: std::result::Result<Pod, kube::Error>) -> Result<(u16, String)> {
    match result {
        Ok(pod) => bail!("the pod was admitted: {:?}", pod.metadata.name),
        Err(kube::Error::Api(status)) => Ok((status.code, status.message)),
        Err(other) => bail!("not an API refusal: {other}"),
    }
}

pub async fn denials_reach_the_client_in_upstreams_words(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("denials")).await?;
    let expiration = "azure.workload.identity/service-account-token-expiration";
    env.cluster
        .service_account(&ns, "short", &[(CLIENT_ID, CLIENT_A), (expiration, "100")])
        .await?;
    env.cluster
        .service_account(&ns, "garbled", &[(CLIENT_ID, CLIENT_A), (expiration, "invalid")])
        .await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    let prefix = "admission webhook \"mutation.azure-workload-identity.io\" denied the request: ";
    let cases = [
        (
            labelled_pod("short", "short", &["main"], &[]),
            "token expiration 100 not valid. Expected value to be between 3600 and 86400",
        ),
        (
            labelled_pod("garbled", "garbled", &["main"], &[]),
            "strconv.ParseInt: parsing \"invalid\": invalid syntax",
        ),
        (
            {
                let mut pod = labelled_pod("pod-annotation", "app", &["main"], &[]);
                pod["metadata"]["annotations"] = json!({expiration: "100"});
                pod
            },
            "token expiration 100 not valid. Expected value to be between 3600 and 86400",
        ),
        (
            {
                let mut pod = labelled_pod("port", "app", &["main"], &[]);
                pod["metadata"]["annotations"] = json!({
                    "azure.workload.identity/inject-proxy-sidecar": "true",
                    "azure.workload.identity/proxy-sidecar-port": "invalid",
                });
                pod
            },
            "failed to parse proxy sidecar port: strconv.ParseInt: parsing \"invalid\": invalid syntax",
        ),
    ];
    for (pod, words) in cases {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let (code, message) = refusal(env.cluster.create_pod(&ns, pod).await)?;
        ensure!(code == 400, "{name}: status {code}, want 400 ({message})");
        ensure!(
            message == format!("{prefix}{words}"),
            "{name}: the client read {message:?}, want {:?}",
            format!("{prefix}{words}")
        );
    }
    Ok(())
}

fn container_names(list: Option<&Vec<k8s_openapi::api::core::v1::Container>>) -> Vec<String> {
    list.into_iter().flatten().map(|c| c.name.clone()).collect()
}

fn proxy_pod(name: &str) -> Value {
    let mut pod = labelled_pod(name, "app", &["main"], &["setup"]);
    pod["metadata"]["annotations"] = json!({"azure.workload.identity/inject-proxy-sidecar": "true"});
    pod
}

pub async fn proxy_is_a_native_sidecar_the_api_server_accepts(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("proxy-native")).await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    // The shared webhook read the API server's version (1.32 or newer) at start.
    let stored = env.cluster.create_pod(&ns, proxy_pod("p")).await?;
    let spec = stored.spec.as_ref().context("no spec")?;
    let init = container_names(spec.init_containers.as_ref());
    ensure!(
        init == ["azwi-proxy", "setup", "azwi-proxy-init"],
        "init containers {init:?}"
    );
    ensure!(
        container_names(Some(&spec.containers)) == ["main"],
        "containers {:?}",
        container_names(Some(&spec.containers))
    );
    let sidecar = &spec.init_containers.as_ref().context("init")?[0];
    ensure!(
        sidecar.restart_policy.as_deref() == Some("Always"),
        "the sidecar's restartPolicy is {:?}",
        sidecar.restart_policy
    );
    assert_mutated(&stored, "azwi-proxy", CLIENT_A, 3600)?;
    assert_mutated(&stored, "main", CLIENT_A, 3600)
}

pub async fn proxy_as_a_plain_container_the_api_server_accepts(env: Arc<Env>) -> Result<()> {
    // A webhook of its own, forced to the placement of API servers before 1.32.
    let ns = env
        .cluster
        .namespace_labelled(&namespace_for("proxy-legacy"), &[(OWN_WEBHOOK_LABEL, "true")])
        .await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    let legacy = Webhook::start(WebhookLaunch {
        name: "webhook-legacy-sidecar",
        kubeconfig: &env.cluster.kubeconfig,
        work: &env.work,
        extra_args: vec!["--native-sidecar=false".into()],
        env: Vec::new(),
    })?;
    legacy.ready().await?;
    register(
        &env.cluster,
        "e2e-legacy-sidecar",
        &legacy.url,
        &legacy.ca_pem,
        Some(json!({"matchLabels": {"kubernetes.io/metadata.name": ns}})),
    )
    .await?;
    env.cluster
        .service_account(&ns, "probe", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    probe_until_mutated(&env, &ns).await?;
    let stored = env.cluster.create_pod(&ns, proxy_pod("p")).await;
    crate::webhook::unregister(&env.cluster, "e2e-legacy-sidecar").await;
    let stored = stored?;
    let spec = stored.spec.as_ref().context("no spec")?;
    let init = container_names(spec.init_containers.as_ref());
    let containers = container_names(Some(&spec.containers));
    ensure!(init == ["setup", "azwi-proxy-init"], "init containers {init:?}");
    ensure!(containers == ["azwi-proxy", "main"], "containers {containers:?}");
    ensure!(
        spec.containers[0].restart_policy.is_none(),
        "a plain container with a restartPolicy"
    );
    assert_mutated(&stored, "azwi-proxy", CLIENT_A, 3600)
}

pub async fn server_side_dry_run_is_mutated_and_not_stored(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("dry-run")).await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    let pod: Pod = serde_json::from_value(labelled_pod("p", "app", &["main"], &[]))?;
    let answered = env.cluster.dry_run(&ns, &pod).await?;
    assert_mutated(&answered, "main", CLIENT_A, 3600)?;
    ensure!(
        env.cluster.pods(&ns).get_opt("p").await?.is_none(),
        "a dry-run pod was stored"
    );
    // kubectl's --dry-run=server goes the same way.
    let manifest = env.work.join("dry-run-pod.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec(&labelled_pod("k", "app", &["main"], &[]))?,
    )?;
    let out = env.cluster.kubectl(&[
        "create",
        "--dry-run=server",
        "-o",
        "json",
        "-n",
        &ns,
        "-f",
        &manifest.to_string_lossy(),
    ])?;
    ensure!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Pod = serde_json::from_slice(&out.stdout)?;
    assert_mutated(&printed, "main", CLIENT_A, 3600)?;
    ensure!(
        env.cluster.pods(&ns).get_opt("k").await?.is_none(),
        "kubectl's dry-run pod was stored"
    );
    Ok(())
}
