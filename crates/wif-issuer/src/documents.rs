//! An OIDC issuer over HTTPS (`wif issuer serve`, `wif up`, the demo): the two documents Entra
//! ID fetches, `{issuer}/.well-known/openid-configuration` and the JWKS, with every key given
//! (old and new together during a rotation), as kube-apiserver or a static bucket would serve
//! them, each request counted by path and status.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use wif_jose::discovery::{DISCOVERY_PATH, DiscoveryDocument, check_issuer, default_jwks_uri};
use wif_jose::jwks_of;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    path: String,
    code: u16,
}

/// Why documents cannot be served for an issuer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentsError {
    /// The issuer URL is not one Entra accepts.
    #[error(transparent)]
    Issuer(#[from] wif_jose::discovery::IssuerError),
    /// No key was given.
    #[error("no key to publish")]
    NoKey,
    /// A document did not serialise.
    #[error("cannot write the issuer's documents")]
    Json(#[from] serde_json::Error),
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

/// The host (and port) of a URL.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or_default()
}

impl std::fmt::Debug for IssuerDocuments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerDocuments")
            .field("discovery_path", &self.discovery_path)
            .field("jwks_path", &self.jwks_path)
            .finish_non_exhaustive()
    }
}

impl IssuerDocuments {
    /// The documents for `issuer`, its JWKS at `jwks_uri` (`{issuer}/openid/v1/jwks` when
    /// `None`), publishing `keys`.
    ///
    /// ```
    /// let key = wif_jose::SigningKey::generate(wif_jose::Algorithm::RS256).expect("a key");
    /// let documents = wif_issuer::IssuerDocuments::new("https://127.0.0.1:8443/", None, &[key.public_key().clone()])
    ///     .expect("an issuer Entra accepts");
    /// let router: axum::Router = documents.router();
    /// # drop(router);
    /// ```
    pub fn new(issuer: &str, jwks_uri: Option<&str>, keys: &[wif_jose::PublicKey]) -> Result<Self, DocumentsError> {
        check_issuer(issuer)?;
        if keys.is_empty() {
            return Err(DocumentsError::NoKey);
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
