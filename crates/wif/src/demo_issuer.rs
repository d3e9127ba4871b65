//! The demo's cluster OIDC issuer: a fresh signing key and CA, the issuer's documents served
//! over TLS on a loopback port, and tokens minted the way kube-apiserver projects them.

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use wif_jose::kubernetes::{BoundPod, ProjectedToken, random_uuid};
use wif_jose::{Algorithm, JwkSet, SigningKey};
use wif_server::pki::{LOOPBACK_NAMES, LocalCa};
use wif_server::serve_https;
use wif_server::tls::{ReloadingResolver, certified_key_from_pem, server_config};

use crate::issuer_serve::IssuerDocuments;

/// An issuer serving on loopback until dropped.
pub struct RunningIssuer {
    /// The issuer URL (`https://127.0.0.1:PORT/`), as in the tokens' `iss`.
    pub url: String,
    /// Its signing key.
    pub key: SigningKey,
    /// The CA its TLS certificate chains to (PEM).
    pub ca_pem: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningIssuer {
    /// Starts one on an ephemeral loopback port.
    pub async fn start() -> Result<Self> {
        let key = SigningKey::generate(Algorithm::RS256)?;
        let ca = LocalCa::new("wif demo CA")?;
        let serving = ca.issue(&LOOPBACK_NAMES)?;
        let nowhere = std::path::Path::new("(generated)");
        let certified = certified_key_from_pem(
            serving.cert_pem.as_bytes(),
            serving.key_pem.as_bytes(),
            nowhere,
            nowhere,
        )?;
        let tls = server_config(ReloadingResolver::new(certified), "1.3")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("https://{}/", listener.local_addr()?);
        let docs = IssuerDocuments::new(&url, None, std::slice::from_ref(key.public_key()))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve_https(listener, Some(tls), docs.router(), async move {
            let _ = stopped.await;
        }));
        Ok(RunningIssuer {
            url,
            key,
            ca_pem: ca.cert_pem().to_owned(),
            stop: Some(stop),
        })
    }

    /// An HTTPS client that trusts only this issuer's CA.
    pub fn client(&self) -> Result<reqwest::Client> {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes())?;
        Ok(reqwest::Client::builder()
            .tls_certs_only([ca])
            .https_only(true)
            .build()?)
    }

    /// Fetches the discovery document and, through its `jwks_uri`, the JWKS.
    pub async fn fetch_documents(&self) -> Result<(Value, JwkSet)> {
        let client = self.client()?;
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
            issued_at: crate::issuer::unix_now(),
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

impl Drop for RunningIssuer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
