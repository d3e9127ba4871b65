//! The demo's servers, each on an ephemeral loopback port with a CA made for it: a cluster
//! OIDC issuer (a signing key, its documents over TLS, tokens minted as kube-apiserver
//! projects them), and the Entra ID emulator trusting that issuer.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use prometheus_client::registry::Registry;
use serde_json::Value;
use wif_jose::kubernetes::{BoundPod, ProjectedToken, random_uuid};
use wif_jose::{Algorithm, JwkSet, SigningKey};
use wif_server::pki::{LOOPBACK_NAMES, LocalCa};
use wif_server::tls::certified_key_from_pem;
use wif_server::{ServiceOptions, TlsSource};

use crate::issuer_serve::IssuerDocuments;

/// A server on loopback until dropped.
struct Running {
    ca_pem: String,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    async fn start(addr: std::net::SocketAddr, router: axum::Router, registry: Registry) -> Result<Self> {
        let ca = LocalCa::new("wif demo CA")?;
        let serving = ca.issue(&LOOPBACK_NAMES)?;
        let nowhere = Path::new("(generated)");
        let key = certified_key_from_pem(
            serving.cert_pem.as_bytes(),
            serving.key_pem.as_bytes(),
            nowhere,
            nowhere,
        )?;
        let options = ServiceOptions::new(addr, "127.0.0.1:0".parse()?, TlsSource::Given(key), "1.3");
        let bound = wif_server::bind(options, router, registry).await?;
        let bound_port = bound.address.port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(bound.serve(async move {
            let _ = stopped.await;
        }));
        Ok(Running {
            ca_pem: ca.cert_pem().to_owned(),
            port: bound_port,
            stop: Some(stop),
        })
    }

    fn client(&self) -> Result<reqwest::Client> {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes())?;
        Ok(reqwest::Client::builder()
            .tls_certs_only([ca])
            .https_only(true)
            .build()?)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The cluster's OIDC issuer.
pub struct RunningIssuer {
    /// The issuer URL (`https://127.0.0.1:PORT/`), as in the tokens' `iss`.
    pub url: String,
    /// Its signing key.
    pub key: SigningKey,
    server: Running,
}

impl RunningIssuer {
    /// Starts one on an ephemeral loopback port.
    pub async fn start() -> Result<Self> {
        let key = SigningKey::generate(Algorithm::RS256)?;
        // The issuer URL names the port, so the port is chosen before the documents are made.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let url = format!("https://{addr}/");
        let docs = IssuerDocuments::new(&url, None, std::slice::from_ref(key.public_key()))?;
        let server = Running::start(addr, docs.router(), Registry::default())
            .await
            .context("starting the demo issuer")?;
        Ok(RunningIssuer { url, key, server })
    }

    /// The CA the issuer's certificate chains to (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.server.ca_pem
    }

    /// Fetches the discovery document and, through its `jwks_uri`, the JWKS.
    pub async fn fetch_documents(&self) -> Result<(Value, JwkSet)> {
        let client = self.server.client()?;
        let discovery_url = wif_jose::discovery::discovery_url(&self.url);
        let discovery: Value = client
            .get(&discovery_url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let jwks_uri = discovery["jwks_uri"].as_str().context("discovery has no jwks_uri")?;
        ensure!(
            jwks_uri.starts_with(&self.url),
            "jwks_uri {jwks_uri} is not on the issuer"
        );
        let bytes = client.get(jwks_uri).send().await?.error_for_status()?.bytes().await?;
        Ok((discovery, JwkSet::from_json(&bytes)?))
    }

    /// A projected token for `namespace/service_account`, bound to `pod`, audience
    /// `api://AzureADTokenExchange`, valid one hour from now.
    pub fn mint(&self, namespace: &str, service_account: &str, pod: Option<&str>) -> Result<String> {
        let spec = ProjectedToken {
            issuer: self.url.clone(),
            namespace: namespace.into(),
            service_account: service_account.into(),
            service_account_uid: random_uuid()?,
            audiences: vec![wif_core::contract::DEFAULT_AUDIENCE.into()],
            issued_at: wif_core::clock::unix_now(),
            expiration_seconds: 3600,
            pod: match pod {
                Some(name) => Some(BoundPod {
                    name: name.into(),
                    uid: random_uuid()?,
                }),
                None => None,
            },
            jti: random_uuid()?,
        };
        Ok(spec.sign(&self.key)?)
    }
}

/// The Entra ID emulator, trusting the demo issuer.
pub struct RunningSts {
    /// Its base URL, what `AZURE_AUTHORITY_HOST` would be.
    pub url: String,
    emulator: wif_sts::LocalEmulator,
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
    pub async fn start(directory_yaml: &str, issuer: &RunningIssuer) -> Result<Self> {
        let workdir = TempDir(std::env::temp_dir().join(format!("wif-demo-{}-{}", std::process::id(), random_uuid()?)));
        std::fs::create_dir_all(&workdir.0)?;
        std::fs::write(workdir.0.join("issuer-ca.pem"), issuer.ca_pem())?;
        let emulator = wif_sts::LocalEmulator::start(directory_yaml, &workdir.0).await?;
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
    pub fn vault_proxy(&self) -> std::net::SocketAddr {
        self.emulator.vault_proxy
    }

    /// A scratch directory that lives as long as the emulator.
    pub fn workdir(&self) -> &Path {
        &self.workdir.0
    }
}

/// Starts the webhook on loopback with a CA made for it, sends one AdmissionReview, stops it.
pub async fn ask_webhook(accounts: wif_webhook::StaticServiceAccounts, review: &Value) -> Result<Value> {
    let mut registry = Registry::default();
    let state = std::sync::Arc::new(wif_webhook::WebhookState {
        settings: wif_core::WebhookSettings::new(crate::demo::TENANT_A),
        accounts: std::sync::Arc::new(accounts),
        metrics: wif_webhook::WebhookMetrics::new(&mut registry),
    });
    let server = Running::start("127.0.0.1:0".parse()?, wif_webhook::router(state), registry).await?;
    let url = format!("https://127.0.0.1:{}{}", server.port, wif_core::contract::WEBHOOK_PATH);
    let answer = server
        .client()?
        .post(url)
        .json(review)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(answer)
}
