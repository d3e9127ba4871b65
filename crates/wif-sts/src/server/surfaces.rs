//! Which surface answers a request: a vault host (`V.<vault suffix>`) is the vault's whatever
//! its path; otherwise the token endpoint's routes come first, and what they leave goes to
//! ARM or Graph by its first path segment (matched case-insensitively, as Azure does).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;

use super::{Shared, not_found};

/// The host a request names: HTTP/2's authority, else `Host`.
fn request_host<'r>(uri: &'r Uri, headers: &'r HeaderMap) -> Option<&'r str> {
    uri.authority()
        .map(axum::http::uri::Authority::as_str)
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
}

/// Requests for a vault host (`V.<vault suffix>`) are the vault's, whatever their path.
pub(super) async fn by_host(
    State(state): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Borrowed until it is a vault's: the token endpoint's requests allocate nothing here.
    let vault = request_host(request.uri(), request.headers()).and_then(|host| {
        let name = crate::vault::vault_of_host(host, &state.vault_dns_suffix)?;
        Some((host.to_owned(), name.to_owned()))
    });
    if let Some((host, name)) = vault {
        let (parts, body) = request.into_parts();
        let response = crate::vault::handle(
            Arc::clone(&state),
            host,
            name,
            parts.method,
            parts.uri,
            parts.headers,
            body,
        )
        .await;
        state.metrics.count_azure("vault", response.status().as_u16());
        return response;
    }
    next.run(request).await
}

/// ARM's and Graph's paths (matched case-insensitively, as Azure does), else a 404.
pub(super) async fn other(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (surface, response) = if crate::arm::claims(uri.path()) {
        (
            "arm",
            crate::arm::handle(Arc::clone(&state), method, uri, headers, body).await,
        )
    } else if crate::graph::claims(uri.path()) {
        (
            "graph",
            crate::graph::handle(Arc::clone(&state), method, uri, headers, body).await,
        )
    } else {
        return not_found().await;
    };
    state.metrics.count_azure(surface, response.status().as_u16());
    response
}
