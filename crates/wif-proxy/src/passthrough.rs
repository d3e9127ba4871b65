//! Other IMDS paths (instance metadata, attested data, scheduled events) forwarded to an
//! address the operator names (`--imds-passthrough`), as upstream forwards them to
//! 169.254.169.254: same method, path, query, headers and body; the answer copied back.
//! Never through an HTTP proxy from the environment, bodies bounded both ways.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode, header};

/// The largest request body forwarded.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The largest answer body copied back.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Forwards requests to one address.
#[derive(Debug, Clone)]
pub struct Passthrough {
    target: SocketAddr,
    http: reqwest::Client,
}

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PassthroughError {
    /// The HTTP client could not be built.
    #[error("cannot build the passthrough client")]
    Client(#[source] reqwest::Error),
}

/// Headers that belong to one hop, never forwarded.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            to.append(name.clone(), value.clone());
        }
    }
}

impl Passthrough {
    /// Forwards to `target` (plain HTTP), each request bounded by `timeout`.
    pub fn new(target: SocketAddr, timeout: Duration) -> Result<Self, PassthroughError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(PassthroughError::Client)?;
        Ok(Passthrough { target, http })
    }

    /// Where requests go.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Forwards `request`; what fails to cross is answered 502 with the reason.
    pub async fn forward(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        if !crate::route::is_clean_path(parts.uri.path()) {
            return failure(
                StatusCode::BAD_REQUEST,
                "the IMDS passthrough forwards clean paths only (no . or .. segment, no encoded dot, slash or backslash)",
            );
        }
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let url = format!("http://{}{path}", self.target);
        let body = match wif_server::body::read_limited(body, MAX_REQUEST_BYTES).await {
            Ok(bytes) => bytes,
            Err(error) => return failure(StatusCode::PAYLOAD_TOO_LARGE, &error.to_string()),
        };
        let mut headers = HeaderMap::new();
        copy_headers(&parts.headers, &mut headers);
        let sent = self
            .http
            .request(parts.method, &url)
            .headers(headers)
            .body(body)
            .send()
            .await;
        let mut answer = match sent {
            Ok(answer) => answer,
            Err(error) => {
                return failure(
                    StatusCode::BAD_GATEWAY,
                    &format!(
                        "the IMDS passthrough to {} failed: {}",
                        self.target,
                        wif_core::error_text::error_chain(&error)
                    ),
                );
            }
        };
        let mut bytes = Vec::new();
        loop {
            match answer.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() <= MAX_ANSWER_BYTES => bytes.extend_from_slice(&chunk),
                Ok(Some(_)) => {
                    return failure(
                        StatusCode::BAD_GATEWAY,
                        &format!(
                            "the answer from {} is larger than {MAX_ANSWER_BYTES} bytes",
                            self.target
                        ),
                    );
                }
                Ok(None) => break,
                Err(error) => {
                    return failure(
                        StatusCode::BAD_GATEWAY,
                        &format!("reading the answer from {} failed: {error}", self.target),
                    );
                }
            }
        }
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = answer.status();
        copy_headers(answer.headers(), response.headers_mut());
        response.headers_mut().remove(header::CONTENT_LENGTH);
        response
    }
}

fn failure(status: StatusCode, description: &str) -> Response<Body> {
    let body = serde_json::json!({"error": "passthrough_failed", "error_description": description});
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
