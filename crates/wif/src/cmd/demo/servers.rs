//! The demo's servers, each on an ephemeral loopback port with a CA made for it: the Entra ID
//! emulator with the local Azure plane, trusting the demo's issuer (a `wif_issuer::LocalIssuer`),
//! and the webhook answering one AdmissionReview.

use std::path::{Path, PathBuf};

use anyhow::Result;
use prometheus_client::registry::Registry;
use serde_json::Value;
use wif_jose::kubernetes::random_uuid;
use wif_server::{LocalOptions, LocalServer};
use wif_sts::{Emulator, LocalEmulator};

/// The Entra ID emulator and the local Azure plane, trusting the demo issuer.
pub struct RunningSts {
    /// Its base URL, what `AZURE_AUTHORITY_HOST` would be.
    pub url: String,
    emulator: LocalEmulator,
    workdir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl RunningSts {
    /// Starts one with `directory_yaml`, whose `issuers` entry for the demo issuer reads the
    /// CA from `issuer-ca.pem` (written here).
    pub async fn start(directory_yaml: &str, issuer: &wif_issuer::LocalIssuer) -> Result<Self> {
        let workdir = TempDir(std::env::temp_dir().join(format!("wif-demo-{}-{}", std::process::id(), random_uuid()?)));
        std::fs::create_dir_all(&workdir.0)?;
        std::fs::write(workdir.0.join("issuer-ca.pem"), issuer.ca_pem())?;
        let config: wif_azure::AzureConfig = serde_saphyr::from_str(directory_yaml)?;
        let (directory, plane) = wif_azure::AzurePlane::new(config, workdir.0.clone(), None)?;
        let emulator = Emulator::new(directory).plane(plane).start_local().await?;
        Ok(RunningSts {
            url: emulator.url.clone(),
            emulator,
            workdir,
        })
    }

    /// The CA its certificate chains to (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.emulator.ca_pem
    }

    /// Its CONNECT proxy for vault hosts.
    pub fn vault_proxy(&self) -> Option<std::net::SocketAddr> {
        self.emulator.tunnel_address
    }

    /// A scratch directory that lives as long as the emulator.
    pub fn workdir(&self) -> &Path {
        &self.workdir.0
    }
}

/// Starts the webhook (default tenant `tenant`) on loopback with a CA made for it, sends one
/// AdmissionReview, stops it.
pub async fn ask_webhook(tenant: &str, accounts: wif_webhook::StaticServiceAccounts, review: &Value) -> Result<Value> {
    let mut registry = Registry::default();
    let state = std::sync::Arc::new(wif_webhook::WebhookState {
        settings: wif_core::WebhookSettings::new(tenant),
        accounts: std::sync::Arc::new(accounts),
        metrics: wif_webhook::WebhookMetrics::new(&mut registry),
    });
    let options = LocalOptions {
        ca_name: "wif demo CA".into(),
        tls_min_version: "1.3".into(),
        ..LocalOptions::default()
    };
    let server = LocalServer::start(wif_webhook::router(state), registry, options).await?;
    let url = format!("{}{}", server.url(), wif_core::contract::WEBHOOK_PATH);
    let ca = reqwest::Certificate::from_pem(server.ca_pem.as_bytes())?;
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .https_only(true)
        .build()?;
    let answer = client
        .post(url)
        .json(review)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(answer)
}
