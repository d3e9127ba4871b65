//! `wif webhook` run against the control plane from outside it (`--kubeconfig`), and its
//! registration with deploy/base's MutatingWebhookConfiguration, the same object, with
//! `clientConfig.url` pointing at the loopback webhook and its caBundle.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use base64::Engine;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::cluster::{Cluster, Process, TENANT, banner_field, eventually, http_get, spawn_with_banner};

/// `wif webhook` on loopback ports the kernel picks, for the cluster of `kubeconfig`.
pub fn command(kubeconfig: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wif"));
    command
        .args(["webhook", "--bind-address", "127.0.0.1", "--port", "0"])
        .args(["--health-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"])
        .args(["--tenant-id", TENANT, "--log-level", "debug"])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("KUBERNETES_SERVICE_HOST");
    command
}

/// A running `wif webhook`.
pub struct Webhook {
    pub process: Process,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    pub health: String,
    pub metrics: String,
    /// The CA its certificate chains to (PEM).
    pub ca_pem: String,
}

/// How to start one.
pub struct WebhookLaunch<'a> {
    pub name: &'a str,
    pub kubeconfig: &'a Path,
    pub work: &'a Path,
    pub extra_args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Webhook {
    /// Starts `wif webhook` with a throwaway CA and waits for its banner.
    pub fn start(launch: WebhookLaunch<'_>) -> Result<Webhook> {
        let ca_out = launch.work.join(format!("{}-ca.pem", launch.name));
        let mut command = command(launch.kubeconfig);
        command
            .arg("--self-signed-ca-out")
            .arg(&ca_out)
            .args(&launch.extra_args);
        for (k, v) in &launch.env {
            command.env(k, v);
        }
        let log = launch.work.join(format!("{}.log", launch.name));
        let (process, banner) = spawn_with_banner(launch.name, &mut command, &log)?;
        Webhook::from_banner(process, &banner, std::fs::read_to_string(&ca_out)?)
    }

    /// Reads the addresses from `webhook listening on https://A/mutate-v1-pod ... (health on
    /// http://H, metrics on http://M)`.
    pub fn from_banner(process: Process, banner: &str, ca_pem: String) -> Result<Webhook> {
        let served = banner_field(banner, "listening on ")?;
        let url = served
            .strip_suffix(wif_core::contract::WEBHOOK_PATH)
            .context("the banner's URL does not end in the webhook path")?
            .to_owned();
        Ok(Webhook {
            process,
            url,
            health: banner_field(banner, "health on ")?,
            metrics: banner_field(banner, "metrics on ")?,
            ca_pem,
        })
    }

    /// Waits for `/readyz` to answer 200.
    pub async fn ready(&self) -> Result<()> {
        let url = format!("{}/readyz", self.health);
        eventually("the webhook's /readyz", || async { Ok(http_get(&url).await?.0 == 200) }).await
    }

    /// Its Prometheus metrics, as text.
    pub async fn metrics_text(&self) -> Result<String> {
        Ok(http_get(&format!("{}/metrics", self.metrics)).await?.1)
    }
}

/// deploy/base's MutatingWebhookConfiguration, as JSON.
pub fn deploy_base_configuration() -> Result<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/base/mutating-webhook-configuration.yaml");
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(serde_saphyr::from_str(&text)?)
}

/// deploy/base's object, named `name`, with every webhook's clientConfig pointing at `url`
/// (and `namespace_selector` when given), created or replaced.
pub async fn register(
    cluster: &Cluster,
    name: &str,
    url: &str,
    ca_pem: &str,
    namespace_selector: Option<Value>,
) -> Result<MutatingWebhookConfiguration> {
    let mut object = deploy_base_configuration()?;
    object["metadata"]["name"] = json!(name);
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    for webhook in object["webhooks"]
        .as_array_mut()
        .context("no webhooks in deploy/base")?
    {
        webhook["clientConfig"] = json!({
            "url": format!("{url}{}", wif_core::contract::WEBHOOK_PATH),
            "caBundle": bundle,
        });
        if let Some(selector) = &namespace_selector {
            webhook["namespaceSelector"] = selector.clone();
        }
    }
    let configuration: MutatingWebhookConfiguration = serde_json::from_value(object)?;
    let api: Api<MutatingWebhookConfiguration> = Api::all(cluster.client.clone());
    unregister(cluster, name).await;
    Ok(api.create(&PostParams::default(), &configuration).await?)
}

/// Deletes a configuration a scenario registered, if it is there (the end of a scenario,
/// whatever happened in it).
pub async fn unregister(cluster: &Cluster, name: &str) {
    let api: Api<MutatingWebhookConfiguration> = Api::all(cluster.client.clone());
    let _ = api.delete(name, &Default::default()).await;
}
