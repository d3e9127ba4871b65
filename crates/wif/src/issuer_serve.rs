//! `wif issuer serve`: an OIDC issuer over HTTPS, the two documents Entra ID fetches:
//! `{issuer}/.well-known/openid-configuration` and the JWKS, with every key given (old and
//! new together during a rotation), as kube-apiserver or a static bucket would serve them.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Result, bail};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use clap::Args;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use wif_jose::discovery::{DISCOVERY_PATH, DiscoveryDocument, check_issuer, default_jwks_uri};
use wif_jose::jwks_of;
use wif_server::{ServiceOptions, shutdown_signal};

use crate::jwks::read_public_keys;

/// `wif issuer serve` flags.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  wif issuer serve --key sa.key --issuer https://127.0.0.1:8443/ --addr 127.0.0.1:8443 --self-signed-ca-out issuer-ca.pem"
)]
pub struct ServeArgs {
    /// Key files (private or public PEM); all are published, so old and new keys can be
    /// served together during a rotation. Repeat the flag or separate with commas.
    #[arg(long, value_delimiter = ',', required = true, value_name = "FILE")]
    pub key: Vec<String>,
    /// The issuer URL, exactly as in the tokens' iss.
    #[arg(long)]
    pub issuer: String,
    /// Where the JWKS is advertised (default {issuer}/openid/v1/jwks).
    #[arg(long)]
    pub jwks_uri: Option<String>,
    /// Listen address (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub tls: crate::service_args::TlsArgs,
    #[command(flatten)]
    pub limits: crate::service_args::LimitsArgs,
    /// Minimum TLS version (1.2 or 1.3).
    #[arg(long, default_value = "1.3")]
    pub tls_min_version: String,
    /// Address of /healthz, /readyz and /metrics (plain HTTP).
    #[arg(long, default_value = "127.0.0.1:9442")]
    pub health_addr: SocketAddr,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    path: String,
    code: u16,
}

/// What the issuer serves.
#[derive(Clone)]
pub struct IssuerDocuments {
    discovery_path: String,
    discovery: Arc<String>,
    jwks_path: Option<String>,
    jwks: Arc<String>,
    requests: Family<RequestLabels, Counter>,
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    path.trim_end_matches('/').to_owned()
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or_default()
}

impl IssuerDocuments {
    /// The documents for `issuer`, its JWKS at `jwks_uri`, publishing the keys in `key_files`.
    pub fn new(issuer: &str, jwks_uri: Option<&str>, keys: &[wif_jose::PublicKey]) -> Result<Self> {
        check_issuer(issuer)?;
        if keys.is_empty() {
            bail!("no key to publish");
        }
        let jwks_uri = jwks_uri.map_or_else(|| default_jwks_uri(issuer), str::to_owned);
        let discovery = serde_json::to_string(&DiscoveryDocument::new(issuer, &jwks_uri, keys))?;
        let jwks = serde_json::to_string(&jwks_of(keys))?;
        // The JWKS is served here only when it lives on this server.
        let jwks_path = (host_of(&jwks_uri) == host_of(issuer)).then(|| path_of(&jwks_uri));
        Ok(IssuerDocuments {
            discovery_path: format!("{}{DISCOVERY_PATH}", path_of(issuer)),
            discovery: Arc::new(discovery),
            jwks_path,
            jwks: Arc::new(jwks),
            requests: Family::default(),
        })
    }

    /// Registers the request counter.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "wif_issuer_requests",
            "Requests to the issuer documents, by path and status",
            self.requests.clone(),
        );
    }

    /// The router answering GET for both documents.
    pub fn router(self) -> Router {
        Router::new().fallback(serve_document).with_state(self)
    }
}

async fn serve_document(State(docs): State<IssuerDocuments>, method: axum::http::Method, uri: Uri) -> Response {
    let path = uri.path();
    let (code, response) = if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            StatusCode::METHOD_NOT_ALLOWED.into_response(),
        )
    } else if path == docs.discovery_path {
        (StatusCode::OK, document(&docs.discovery, "application/json"))
    } else if docs.jwks_path.as_deref() == Some(path) {
        (StatusCode::OK, document(&docs.jwks, "application/jwk-set+json"))
    } else {
        (
            StatusCode::NOT_FOUND,
            (StatusCode::NOT_FOUND, "not found\n").into_response(),
        )
    };
    let known = [
        docs.discovery_path.as_str(),
        docs.jwks_path.as_deref().unwrap_or_default(),
    ];
    let label = if known.contains(&path) {
        path.to_owned()
    } else {
        "other".to_owned()
    };
    docs.requests
        .get_or_create(&RequestLabels {
            path: label,
            code: code.as_u16(),
        })
        .inc();
    response
}

fn document(body: &Arc<String>, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body.as_str().to_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

/// Runs `wif issuer serve` until SIGTERM.
pub fn run(args: &ServeArgs) -> Result<()> {
    let keys = read_public_keys(&args.key)?;
    let docs = IssuerDocuments::new(&args.issuer, args.jwks_uri.as_deref(), &keys)?;
    let host = host_of(&args.issuer)
        .rsplit_once(':')
        .map_or(host_of(&args.issuer), |(h, _)| h);
    let tls = args.tls.source(&[host])?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut registry = Registry::default();
        docs.register(&mut registry);
        let mut options = ServiceOptions::new(args.addr, args.health_addr, tls, &args.tls_min_version);
        options.limits = args.limits.limits();
        let bound = wif_server::bind(options, docs.router(), registry).await?;
        println!(
            "issuer {} listening on https://{} (health on http://{})",
            args.issuer, bound.address, bound.health_address
        );
        tracing::info!(issuer = %args.issuer, address = %bound.address, keys = keys.len(), "issuer serving");
        bound.serve(shutdown_signal()).await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_issuer() {
        assert_eq!(path_of("https://127.0.0.1:8443/"), "");
        assert_eq!(path_of("https://oidc.example/cluster-1/"), "/cluster-1");
        assert_eq!(
            path_of("https://oidc.example/cluster-1/openid/v1/jwks"),
            "/cluster-1/openid/v1/jwks"
        );
        assert_eq!(host_of("https://oidc.example:8443/x"), "oidc.example:8443");
    }
}
