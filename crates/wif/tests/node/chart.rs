//! deploy/helm installed as seed 001 writes it (`helm install ... --set azureTenantID=...`),
//! with the images built here: the webhook runs as its Deployment, makes its certificate and
//! patches the caBundle of its MutatingWebhookConfiguration itself.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::emulator::READER_TENANT;
use crate::{Env, figure, var};

pub const NAMESPACE: &str = "azure-workload-identity-system";
pub const DEPLOYMENT: &str = "azure-wi-webhook-controller-manager";
pub const RELEASE: &str = "workload-identity-webhook";
/// `kubectl rollout status` of the webhook's Deployment, bounded.
pub const ROLLOUT_STATUS: [&str; 8] = [
    "rollout",
    "status",
    "deployment",
    DEPLOYMENT,
    "-n",
    NAMESPACE,
    "--timeout",
    "180s",
];
const CONFIGURATION: &str = "azure-wi-webhook-mutating-webhook-configuration";
/// The proxy sidecar image: wif's, with the run's test CA added to its trust store, as a
/// platform team adds its private CA (`scripts/e2e-node` derives it).
pub const PROXY_IMAGE: &str = concat!("localhost/wif-test/wif-proxy-test-ca:", env!("CARGO_PKG_VERSION"));
pub const PROXY_INIT_IMAGE: &str = concat!("ghcr.io/wif-dev/wif-proxy-init:", env!("CARGO_PKG_VERSION"));

/// Runs helm with a home of its own: nothing of the user's helm setup is read or written.
pub fn helm(env: &Env, args: &[&str]) -> Result<String> {
    let home = env.work.join("helm-home");
    std::fs::create_dir_all(&home)?;
    let out = Command::new(var("HELM_BIN")?)
        .args(args)
        .env("KUBECONFIG", &env.cluster.kubeconfig)
        .env("HOME", &home)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .context("running helm")?;
    ensure!(
        out.status.success(),
        "helm {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `helm install` of deploy/helm, waiting (as `--wait` does) until the Deployment is available.
pub async fn install(env: &Env) -> Result<()> {
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/helm/wif-webhook");
    let started = Instant::now();
    let tenant = format!("azureTenantID={READER_TENANT}");
    let authority = format!("authorityHost={}", env.emulator.url);
    let proxy = format!("proxyImage={PROXY_IMAGE}");
    let proxy_init = format!("proxyInitImage={PROXY_INIT_IMAGE}");
    helm(
        env,
        &[
            "install",
            RELEASE,
            chart,
            "--namespace",
            NAMESPACE,
            "--create-namespace",
            "--set",
            &tenant,
            "--set",
            &authority,
            "--set",
            &proxy,
            "--set",
            &proxy_init,
            "--set",
            "nativeSidecar=true",
            // Namespaces labelled for upstream's webhook (the side-by-side scenario) are its own.
            "--set-json",
            &format!(
                r#"mutatingWebhookNamespaceSelector={{"matchExpressions":[{{"key":"{}","operator":"NotIn","values":["upstream"]}}]}}"#,
                crate::upstream::NAMESPACE_LABEL
            ),
            // Images are imported into containerd, never pulled.
            "--set",
            "image.pullPolicy=Never",
            "--wait",
            "--timeout",
            "180s",
        ],
    )?;
    figure(
        "helm install to Deployment available (2 replicas)",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    Ok(())
}

pub async fn the_chart_runs_two_replicas_and_patched_its_ca_bundle(env: std::sync::Arc<Env>) -> Result<()> {
    let client = env.cluster.client.clone();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let deployment = deployments.get(DEPLOYMENT).await?;
    let status = deployment.status.context("no Deployment status")?;
    ensure!(
        status.available_replicas == Some(2) && status.ready_replicas == Some(2),
        "the Deployment has {:?} available, {:?} ready, of 2",
        status.available_replicas,
        status.ready_replicas
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let listed = pods.list(&ListParams::default()).await?;
    let running: Vec<_> = listed
        .items
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .collect();
    ensure!(running.len() == 2, "{} webhook pods Running", running.len());
    for pod in &running {
        let spec = pod.spec.as_ref().context("no spec")?;
        ensure!(
            spec.node_name.as_deref() == Some(var("NODE_NAME")?.as_str()),
            "pod on {:?}",
            spec.node_name
        );
        let image = spec
            .containers
            .first()
            .and_then(|c| c.image.clone())
            .unwrap_or_default();
        ensure!(
            image == concat!("ghcr.io/wif-dev/wif:", env!("CARGO_PKG_VERSION")),
            "the webhook runs {image}"
        );
    }
    // The webhook made its certificate and wrote its CA into the configuration itself.
    let configurations: Api<MutatingWebhookConfiguration> = Api::all(client);
    let configuration = configurations.get(CONFIGURATION).await?;
    let webhooks = configuration.webhooks.unwrap_or_default();
    let bundle = webhooks
        .first()
        .and_then(|w| w.client_config.ca_bundle.as_ref())
        .context("no caBundle in the configuration")?;
    let pem = String::from_utf8(bundle.0.clone())?;
    ensure!(
        pem.contains("-----BEGIN CERTIFICATE-----"),
        "caBundle is not a PEM certificate: {pem}"
    );
    let secret = env.cluster.kubectl(&[
        "get",
        "secret",
        "-n",
        NAMESPACE,
        "azure-wi-webhook-server-cert",
        "-o",
        "jsonpath={.data.ca\\.crt}",
    ])?;
    let stored = base64::engine::general_purpose::STANDARD
        .decode(String::from_utf8_lossy(&secret.stdout).trim())
        .unwrap_or_default();
    if stored.is_empty() {
        bail!(
            "the certificate Secret holds no ca.crt: {}",
            String::from_utf8_lossy(&secret.stderr)
        );
    }
    ensure!(
        stored == bundle.0,
        "the caBundle is not the CA of the certificate Secret"
    );
    Ok(())
}
