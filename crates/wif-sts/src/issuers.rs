//! The issuers' keys, fetched as Entra fetches them: `{iss}/.well-known/openid-configuration`,
//! then its `jwks_uri`, over HTTPS trusting the CA configured for that issuer (or a static
//! JWKS file). Only issuers that a federated credential names are ever fetched. Documents
//! are size-capped, keys beyond the first 100 are dropped (Entra keeps 100), results are
//! cached for an hour, and a re-fetch on an unknown `kid` happens at most every 10 seconds
//! per issuer, so bad tokens cannot turn the emulator into a load generator.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use wif_jose::JwkSet;

use crate::directory::IssuerConfig;

/// Largest discovery document read.
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;
/// Largest JWKS read.
pub const MAX_JWKS_BYTES: usize = 512 * 1024;
/// Keys kept per issuer.
pub const MAX_KEYS: usize = 100;
/// How long fetched keys are used.
pub const CACHE_TTL: Duration = Duration::from_secs(3600);
/// Least time between two fetches of one issuer.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Per-request timeout.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

struct Entry {
    keys: Option<Arc<JwkSet>>,
    fetched_at: Instant,
}

/// Fetches and caches issuers' JWKS.
pub struct IssuerKeys {
    configs: Vec<IssuerConfig>,
    clients: HashMap<String, reqwest::Client>,
    default_client: reqwest::Client,
    cache: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys")
            .field("issuers", &self.configs.len())
            .finish_non_exhaustive()
    }
}

fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
}

/// The issuer's keys could not be had; the text says why, for the diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

impl IssuerKeys {
    /// Prepares a client per configured CA; a CA file that cannot be read is an error now.
    pub fn new(configs: Vec<IssuerConfig>) -> Result<Self, FetchError> {
        wif_server::install_crypto_provider();
        let mut clients = HashMap::new();
        for config in &configs {
            if let Some(path) = &config.ca_file {
                let pem = std::fs::read(path).map_err(|e| {
                    FetchError(format!(
                        "cannot read CA file {} of issuer {}: {e}",
                        path.display(),
                        config.issuer
                    ))
                })?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| FetchError(format!("CA file {}: {e}", path.display())))?;
                let client = client_builder()
                    .tls_certs_only(certs)
                    .build()
                    .map_err(|e| FetchError(e.to_string()))?;
                clients.insert(config.issuer.clone(), client);
            }
        }
        let default_client = client_builder().build().map_err(|e| FetchError(e.to_string()))?;
        Ok(IssuerKeys {
            configs,
            clients,
            default_client,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The cached keys, fetching when absent or stale.
    pub async fn keys(&self, issuer: &str) -> Result<Arc<JwkSet>, FetchError> {
        self.keys_inner(issuer, false).await
    }

    /// Fetches again because a token named an unknown `kid`; within the rate limit the
    /// cached keys are returned instead.
    pub async fn refresh(&self, issuer: &str) -> Result<Arc<JwkSet>, FetchError> {
        self.keys_inner(issuer, true).await
    }

    async fn keys_inner(&self, issuer: &str, force: bool) -> Result<Arc<JwkSet>, FetchError> {
        let mut cache = self.cache.lock().await;
        if let Some(entry) = cache.get(issuer) {
            let age = entry.fetched_at.elapsed();
            let fresh = age < CACHE_TTL && !force;
            if fresh || age < MIN_REFETCH_INTERVAL {
                return entry
                    .keys
                    .clone()
                    .ok_or_else(|| FetchError("the last fetch failed moments ago; not retried yet".into()));
            }
        }
        // Holding the lock while fetching makes concurrent requests for one issuer wait for a
        // single fetch instead of each starting one.
        let result = self.fetch(issuer).await;
        cache.insert(
            issuer.to_owned(),
            Entry {
                keys: result.as_ref().ok().cloned(),
                fetched_at: Instant::now(),
            },
        );
        result
    }

    async fn fetch(&self, issuer: &str) -> Result<Arc<JwkSet>, FetchError> {
        let config = self.configs.iter().find(|c| c.issuer == issuer);
        if let Some(path) = config.and_then(|c| c.jwks_file.as_ref()) {
            let bytes = std::fs::read(path)
                .map_err(|e| FetchError(format!("cannot read JWKS file {}: {e}", path.display())))?;
            return parse_jwks(&bytes);
        }
        let client = self.clients.get(issuer).unwrap_or(&self.default_client);
        let discovery_url = wif_jose::discovery::discovery_url(issuer);
        let discovery = get_capped(client, &discovery_url, MAX_DISCOVERY_BYTES).await?;
        let document: serde_json::Value =
            serde_json::from_slice(&discovery).map_err(|e| FetchError(format!("{discovery_url} is not JSON: {e}")))?;
        let advertised = document.get("issuer").and_then(|v| v.as_str()).unwrap_or_default();
        if advertised != issuer {
            return Err(FetchError(format!(
                "{discovery_url} names issuer {advertised:?}, not {issuer:?} (they must be equal, trailing slash included)"
            )));
        }
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or_else(|| FetchError(format!("{discovery_url} has no jwks_uri")))?;
        if !jwks_uri.starts_with("https://") {
            return Err(FetchError(format!("jwks_uri {jwks_uri} is not https")));
        }
        parse_jwks(&get_capped(client, jwks_uri, MAX_JWKS_BYTES).await?)
    }
}

fn parse_jwks(bytes: &[u8]) -> Result<Arc<JwkSet>, FetchError> {
    let mut set = JwkSet::from_json(bytes).map_err(|e| FetchError(format!("the JWKS is not valid: {e}")))?;
    set.keys.truncate(MAX_KEYS);
    Ok(Arc::new(set))
}

async fn get_capped(client: &reqwest::Client, url: &str, limit: usize) -> Result<Vec<u8>, FetchError> {
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| FetchError(format!("GET {url} failed: {}", wif_core::error_text::error_chain(&e))))?;
    if !response.status().is_success() {
        return Err(FetchError(format!("GET {url} answered {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError(format!("reading {url}: {e}")))?
    {
        if body.len() + chunk.len() > limit {
            return Err(FetchError(format!("{url} is larger than {limit} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
