//! The one fetch of an issuer's keys, as Entra fetches them: `{iss}/.well-known/openid-configuration`,
//! then the `jwks_uri` it names, over HTTPS only, each document size-capped. The emulator's key
//! cache ([`crate::keys`]) and the doctor's `--check-issuer` both use it; they differ only in
//! the client ([`https_client`]): whom it trusts, whether it follows redirects, how long it waits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use wif_jose::JwkSet;

pub use crate::fetch_error::FetchError;

/// Largest discovery document read.
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;
/// Largest JWKS read.
pub const MAX_JWKS_BYTES: usize = 512 * 1024;

/// Whether the discovery document must name the issuer it was fetched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuerCheck {
    /// As Entra: the document's `issuer` equals the issuer, trailing slash included. The
    /// keys that grant tokens are fetched this way.
    Exact,
    /// Any `issuer` in the document: the keys published at a configured issuer's URL, used
    /// only to decide whether a refused caller holds that issuer's key (a token whose `iss`
    /// differs from a credential's by a trailing slash), so the refusal may say how; and the
    /// doctor, which reports a mismatch itself.
    KeysOnly,
}

/// Whom an issuer's HTTPS certificate is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Trust<'a> {
    /// The system's roots.
    SystemRoots,
    /// Only the CA bundle (PEM) in this file: an issuer's `caFile` in the emulator's directory.
    Only(&'a Path),
    /// The system's roots and the CA bundle in this file.
    Also(&'a Path),
    /// Only this CA bundle (PEM), held in memory (an issuer started in-process).
    OnlyPem(&'a str),
}

/// How patient and how trusting a fetching client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Redirects followed (0: none).
    pub redirects: usize,
    /// The bound on each request, connecting included.
    pub timeout: Duration,
}

impl ClientPolicy {
    /// The emulator's: no redirect, 5 s a request.
    pub const EMULATOR: ClientPolicy = ClientPolicy {
        redirects: 0,
        timeout: Duration::from_secs(5),
    };
}

/// What an issuer publishes.
#[derive(Debug, Clone)]
pub struct IssuerDocuments {
    /// The discovery document, as published.
    pub discovery: serde_json::Value,
    /// The discovery document's `issuer`.
    pub discovery_issuer: String,
    /// Its `jwks_uri`.
    pub jwks_uri: String,
    /// The keys (as Entra reads them: `enc` keys and unreadable entries skipped).
    pub keys: JwkSet,
}

/// An HTTPS-only client for fetching issuers.
pub fn https_client(trust: Trust<'_>, policy: ClientPolicy) -> Result<reqwest::Client, FetchError> {
    wif_server::install_crypto_provider();
    let redirect = match policy.redirects {
        0 => reqwest::redirect::Policy::none(),
        n => reqwest::redirect::Policy::limited(n),
    };
    let builder = reqwest::Client::builder()
        .https_only(true)
        .redirect(redirect)
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout);
    let builder = match trust {
        Trust::SystemRoots => builder,
        Trust::Only(path) => builder.tls_certs_only(ca_bundle(path)?),
        Trust::Also(path) => builder.tls_certs_merge(ca_bundle(path)?),
        Trust::OnlyPem(pem) => builder.tls_certs_only(pem_bundle(pem.as_bytes(), Path::new("(in memory)"))?),
    };
    builder.build().map_err(|e| FetchError::Client(Arc::new(e)))
}

fn ca_bundle(path: &Path) -> Result<Vec<reqwest::Certificate>, FetchError> {
    let pem = std::fs::read(path).map_err(|e| FetchError::ReadFile {
        what: "CA file",
        path: path.to_path_buf(),
        source: Arc::new(e),
    })?;
    pem_bundle(&pem, path)
}

fn pem_bundle(pem: &[u8], path: &Path) -> Result<Vec<reqwest::Certificate>, FetchError> {
    reqwest::Certificate::from_pem_bundle(pem).map_err(|e| FetchError::BadCa {
        path: path.to_path_buf(),
        source: Arc::new(e),
    })
}

/// Fetches `issuer`'s discovery document and, through its `jwks_uri`, its keys.
///
/// ```no_run
/// # async fn example() -> Result<(), wif_issuer::FetchError> {
/// use wif_issuer::fetch::{ClientPolicy, IssuerCheck, Trust, fetch, https_client};
/// let client = https_client(Trust::SystemRoots, ClientPolicy::EMULATOR)?;
/// let documents = fetch(&client, "https://oidc.example/cluster-1/", IssuerCheck::Exact).await?;
/// println!("{} keys at {}", documents.keys.keys.len(), documents.jwks_uri);
/// # Ok(()) }
/// ```
pub async fn fetch(client: &reqwest::Client, issuer: &str, check: IssuerCheck) -> Result<IssuerDocuments, FetchError> {
    let discovery_url = wif_jose::discovery::discovery_url(issuer);
    let discovery = get_capped(client, &discovery_url, MAX_DISCOVERY_BYTES).await?;
    let document: serde_json::Value = serde_json::from_slice(&discovery).map_err(|e| FetchError::NotJson {
        url: discovery_url.clone(),
        source: Arc::new(e),
    })?;
    let advertised = document.get("issuer").and_then(|v| v.as_str()).unwrap_or_default();
    if advertised != issuer && check == IssuerCheck::Exact {
        return Err(FetchError::IssuerMismatch {
            url: discovery_url,
            advertised: advertised.to_owned(),
            issuer: issuer.to_owned(),
        });
    }
    let jwks_uri = document
        .get("jwks_uri")
        .and_then(|v| v.as_str())
        .ok_or_else(|| FetchError::NoJwksUri {
            url: discovery_url.clone(),
        })?;
    if !jwks_uri.starts_with("https://") {
        return Err(FetchError::JwksNotHttps {
            uri: jwks_uri.to_owned(),
        });
    }
    let keys = parse_jwks(&get_capped(client, jwks_uri, MAX_JWKS_BYTES).await?, jwks_uri)?;
    Ok(IssuerDocuments {
        discovery_issuer: advertised.to_owned(),
        jwks_uri: jwks_uri.to_owned(),
        keys,
        discovery: document,
    })
}

/// A static JWKS from a file (an issuer's `jwksFile`).
pub async fn read_jwks_file(path: &Path) -> Result<JwkSet, FetchError> {
    let bytes = tokio::fs::read(path).await.map_err(|e| FetchError::ReadFile {
        what: "JWKS file",
        path: path.to_path_buf(),
        source: Arc::new(e),
    })?;
    parse_jwks(&bytes, &path.display().to_string())
}

fn parse_jwks(bytes: &[u8], origin: &str) -> Result<JwkSet, FetchError> {
    JwkSet::from_json(bytes).map_err(|e| FetchError::BadJwks {
        origin: origin.to_owned(),
        source: Arc::new(e),
    })
}

async fn get_capped(client: &reqwest::Client, url: &str, limit: usize) -> Result<Vec<u8>, FetchError> {
    let get_failed = |e| FetchError::Get {
        url: url.to_owned(),
        source: Arc::new(e),
    };
    let mut response = client.get(url).send().await.map_err(get_failed)?;
    if !response.status().is_success() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: response.status().as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(get_failed)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
