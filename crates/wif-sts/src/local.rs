//! The emulator in-process, on an ephemeral loopback port with a CA made for it: for tests
//! (ours, and users' own), benchmarks and the demo; with the local Azure plane (its state in
//! memory) and the CONNECT proxy for vault hosts on a second port. Dropping it stops the server. With a
//! [`StaticIssuer`] (a cluster issuer whose keys the emulator reads from a file) the whole
//! exchange runs without an issuer server.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use prometheus_client::registry::Registry;
use wif_jose::{Algorithm, SigningKey};
use wif_server::pki::{LOOPBACK_NAMES, LocalCa};
use wif_server::tls::certified_key_from_pem;
use wif_server::{ServiceOptions, TlsSource};

use crate::directory::{Directory, DirectoryConfig};
use crate::server::{StsState, router};
use crate::store::Store;

/// Why the emulator did not start; the cause is kept.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the local emulator")]
pub struct StartError(#[source] Box<dyn std::error::Error + Send + Sync>);

fn fail(e: impl std::error::Error + Send + Sync + 'static) -> StartError {
    StartError(Box::new(e))
}

/// An emulator serving on 127.0.0.1 until dropped.
#[derive(Debug)]
pub struct LocalEmulator {
    /// Its base URL (`https://127.0.0.1:PORT`): the authority host to give clients.
    pub url: String,
    /// The CA its certificate chains to (PEM): what clients must trust.
    pub ca_pem: String,
    /// Its state (directory, metrics), for inspection.
    pub state: Arc<StsState>,
    /// The CONNECT proxy for vault hosts (`HTTPS_PROXY=http://ADDR`).
    pub vault_proxy: std::net::SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl LocalEmulator {
    /// Starts one with the directory in `yaml` (relative paths resolved against `base_dir`).
    pub async fn start(yaml: &str, base_dir: &Path) -> Result<Self, StartError> {
        Self::start_with(yaml, base_dir, |router| router).await
    }

    /// As [`LocalEmulator::start`], letting the caller wrap the router (a counting layer in tests).
    pub async fn start_with(
        yaml: &str,
        base_dir: &Path,
        wrap: impl FnOnce(Router) -> Router,
    ) -> Result<Self, StartError> {
        let config: DirectoryConfig = serde_saphyr::from_str(yaml).map_err(fail)?;
        let directory = Directory::from_config(config.clone(), base_dir).map_err(fail)?;
        let suffix = directory.key_vault_dns_suffix.clone();
        let mut registry = Registry::default();
        let signing_key = SigningKey::generate(Algorithm::RS256).map_err(fail)?;
        let store = Store::new(config, base_dir.to_path_buf(), None);
        let state = StsState::with_store(directory, signing_key, "https://127.0.0.1".into(), &mut registry, store)
            .map_err(fail)?;
        let ca = LocalCa::new("wif local emulator CA").map_err(fail)?;
        let wildcard = format!("*.{suffix}");
        let mut names = LOOPBACK_NAMES.to_vec();
        names.extend([wildcard.as_str(), suffix.as_str()]);
        let cert = ca.issue(&names).map_err(fail)?;
        let generated = Path::new("(generated)");
        let key = certified_key_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes(), generated, generated)
            .map_err(fail)?;
        let loopback = "127.0.0.1:0".parse().map_err(fail)?;
        let mut options = ServiceOptions::new(loopback, loopback, TlsSource::Given(key), "1.2");
        options.tunnel = Some((loopback, crate::vault::tunnel_policy(&suffix)));
        let bound = wif_server::bind(options, wrap(router(Arc::clone(&state))), registry)
            .await
            .map_err(fail)?;
        let url = format!("https://{}", bound.address);
        let vault_proxy = bound.tunnel_address.unwrap_or(bound.address);
        state.set_public_url(&url);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(bound.serve(async move {
            let _ = stopped.await;
        }));
        Ok(LocalEmulator {
            url,
            ca_pem: ca.cert_pem().to_owned(),
            state,
            vault_proxy,
            _stop: stop,
        })
    }
}

/// A cluster's OIDC issuer for tests, without a server: a signing key whose JWKS is written
/// to a file the emulator reads (`jwksFile`), and the projected tokens kubelet would write.
#[derive(Debug)]
pub struct StaticIssuer {
    /// The issuer URL, as in the tokens' `iss`.
    pub url: String,
    /// The key that signs its tokens.
    pub key: SigningKey,
    jwks_file: String,
}

impl StaticIssuer {
    /// A new key for `url`, its JWKS written to `dir/jwks.json`.
    pub fn create(url: &str, dir: &Path) -> Result<Self, StartError> {
        let key = SigningKey::generate(Algorithm::RS256).map_err(fail)?;
        let jwks = wif_jose::jwks_of(std::slice::from_ref(key.public_key())).to_pretty_json();
        std::fs::write(dir.join("jwks.json"), jwks).map_err(fail)?;
        Ok(StaticIssuer {
            url: url.to_owned(),
            key,
            jwks_file: "jwks.json".into(),
        })
    }

    /// The directory's `issuers:` section trusting it (relative to `dir`).
    pub fn issuers_section(&self) -> String {
        format!(
            "issuers:\n  - {{ issuer: \"{}\", jwksFile: {} }}\n",
            self.url, self.jwks_file
        )
    }

    /// A projected token for `namespace/service_account`, issued now, valid an hour.
    pub fn token(&self, namespace: &str, service_account: &str) -> Result<String, StartError> {
        wif_jose::kubernetes::ProjectedToken::for_service_account(
            &self.url,
            namespace,
            service_account,
            wif_core::clock::unix_now(),
        )
        .and_then(|t| t.sign(&self.key))
        .map_err(fail)
    }
}
