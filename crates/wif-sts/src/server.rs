//! The emulator's HTTP surface: a thin shell that decodes requests, runs [`crate::exchange`],
//! and encodes Entra's responses. Every advertised URL is built from the emulator's public
//! URL (default: its listen address), never from the request's `Host`, as Entra's are.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use tokio::sync::RwLock;
use wif_core::clock::Clock;
use wif_core::error_text::error_chain;
use wif_jose::{JwtError, SigningKey};

use crate::directory::Directory;
use crate::errors::EntraError;
use crate::exchange::{self, Endpoint, Form};
use crate::tokens;
use wif_issuer::{IssuerCheck, IssuerKeys};

mod discovery;
mod metrics;

use metrics::OutcomeLabels;
pub use metrics::StsMetrics;

/// Largest token request body read (a projected token is about 1 KiB; 16 KiB is our cap).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// What the handlers share.
pub struct StsState {
    /// The directory. A request takes a snapshot (the lock is held only to clone the `Arc`),
    /// so a management write never waits for a token request's issuer fetch, nor the reverse.
    pub directory: RwLock<Arc<Directory>>,
    /// The key access tokens are signed with.
    pub signing_key: SigningKey,
    /// Issuer keys.
    pub issuers: IssuerKeys,
    /// Metrics.
    pub metrics: StsMetrics,
    /// The emulator's own URL (`https://host:port`): every advertised URL and every issued
    /// token's `iss` is built from it, whatever `Host` a client sends, and an assertion from
    /// this origin is refused as Entra refuses its own tokens. Set once the port is known.
    public_url: std::sync::RwLock<String>,
    /// The key that signs tokens, as a JWKS: what a plane served beside the token endpoint
    /// (the local Azure plane) verifies its callers' tokens with.
    pub own_keys: wif_jose::JwkSet,
    /// What "now" is: assertions' time windows, issued tokens, error timestamps.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for StsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsState")
            .field("public_url", &self.public_url())
            .finish_non_exhaustive()
    }
}

type Shared = Arc<StsState>;

impl StsState {
    /// The emulator's own URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .trim_end_matches('/')
            .to_owned()
    }

    /// Sets the emulator's own URL (once the listener's port is known).
    pub fn set_public_url(&self, url: impl Into<String>) {
        *self
            .public_url
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = url.into();
    }

    /// The directory as it is now; later management changes do not touch this snapshot.
    pub async fn directory(&self) -> Arc<Directory> {
        Arc::clone(&*self.directory.read().await)
    }

    /// Replaces the directory served from now on (a request in flight keeps its snapshot).
    pub async fn replace_directory(&self, directory: Directory) {
        *self.directory.write().await = Arc::new(directory);
    }

    /// The state for `directory`, registering metrics in `registry`. A CA file named by the
    /// directory that cannot be read is an error now, not at the first request.
    pub fn new(
        directory: Directory,
        signing_key: SigningKey,
        public_url: String,
        registry: &mut Registry,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, wif_issuer::FetchError> {
        let issuers = IssuerKeys::new(directory.issuers.clone())?;
        let own_keys = wif_jose::jwks_of(std::slice::from_ref(signing_key.public_key()));
        Ok(Arc::new(StsState {
            own_keys,
            directory: RwLock::new(Arc::new(directory)),
            signing_key,
            issuers,
            metrics: StsMetrics::new(registry),
            public_url: std::sync::RwLock::new(public_url),
            clock,
        }))
    }
}

/// The ids a response carries: its trace id (also `x-ms-request-id`) and the correlation id
/// used when the client sent none. Made first, so that a failing random number generator is
/// answered with a 500, never with ids that are all zeros.
struct RequestIds {
    trace: String,
    fallback_correlation: String,
}

impl RequestIds {
    fn new() -> Result<Self, RandomFailed> {
        let ids = wif_jose::kubernetes::random_uuid().and_then(|trace| {
            wif_jose::kubernetes::random_uuid().map(|fallback_correlation| RequestIds {
                trace,
                fallback_correlation,
            })
        });
        ids.map_err(|error| {
            tracing::error!(%error, "the random number generator failed");
            RandomFailed
        })
    }
}

/// The random number generator failed: the answer is a 500 with Entra's AADSTS50000.
struct RandomFailed;

impl RandomFailed {
    fn response(self) -> Response {
        let body = json!({
            "error": "server_error",
            "error_description": "AADSTS50000: There was an error issuing a token or an issue with our sign-in service.",
            "error_codes": [50_000],
            "wif_diagnosis": "the emulator's random number generator failed",
        });
        json_response(StatusCode::INTERNAL_SERVER_ERROR, &body, &[])
    }
}

fn json_response(status: StatusCode, body: &Value, extra: &[(&'static str, String)]) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(*name, value);
        }
    }
    response
}

fn error_response(error: &EntraError, base: &str, correlation_id: &str, ids: &RequestIds, now: i64) -> Response {
    let trace_id = ids.trace.clone();
    let body = error.body(&trace_id, correlation_id, now, base);
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    json_response(
        status,
        &body,
        &[
            ("cache-control", "no-store, no-cache".into()),
            ("pragma", "no-cache".into()),
            ("x-ms-request-id", trace_id),
        ],
    )
}

fn correlation_id(headers: &HeaderMap, uri: &Uri, form: Option<&Form>, ids: &RequestIds) -> String {
    let header_value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let query = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == "client-request-id")
                .map(|(_, v)| v)
        });
    header_value("client-request-id")
        .or(query)
        .or_else(|| form.and_then(|f| f.get("client-request-id")).map(str::to_owned))
        .or_else(|| header_value("x-ms-client-request-id"))
        .filter(|id| id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or_else(|| ids.fallback_correlation.clone())
}

/// The emulator's routes; anything else is a 404 in Entra's shape (a plane served beside it,
/// [`crate::emulator::Plane`], replaces that fallback with its own routes).
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", any(token_v2))
        .route("/{tenant}/oauth2/token", any(token_v1))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::metadata_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::metadata_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys))
        .route("/{tenant}/discovery/keys", get(discovery::keys))
        .route("/common/discovery/instance", get(discovery::instance_discovery))
        .fallback(not_found)
        .with_state(state)
}

/// The 404 for a path the emulator does not serve.
pub async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({ "error": "not_found", "error_description": "No such endpoint on the wif Entra ID emulator." }),
        &[],
    )
}

async fn token_v2(
    state: State<Shared>,
    tenant: Path<String>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    token(state, tenant, Endpoint::V2, method, headers, uri, body).await
}

async fn token_v1(
    state: State<Shared>,
    tenant: Path<String>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    token(state, tenant, Endpoint::V1, method, headers, uri, body).await
}

async fn token(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    endpoint: Endpoint,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let started = Instant::now();
    let ids = match RequestIds::new() {
        Ok(ids) => ids,
        Err(failed) => return failed.response(),
    };
    let base = state.public_url();
    let endpoint_label = match endpoint {
        Endpoint::V1 => "v1",
        Endpoint::V2 => "v2",
    };
    let request = TokenRequest {
        tenant: &tenant,
        endpoint,
        method: &method,
        headers: &headers,
        uri: &uri,
        base: &base,
        ids: &ids,
    };
    // Values from the request are logged with `?` (quoted, escaped): a tenant segment with a
    // newline cannot forge a log line.
    let (outcome, response) = match run_exchange(&state, &request, body).await {
        Ok((response, client)) => {
            tracing::info!(tenant = ?tenant, client_id = ?client, endpoint = endpoint_label, "token issued");
            ("issued".to_owned(), response)
        }
        Err((error, correlation)) => {
            // The diagnosis first: Entra's own words (kept as they are on the wire) follow.
            tracing::warn!(
                diagnosis = ?error.diagnosis.as_deref().unwrap_or(""),
                tenant = ?tenant,
                code = error.code,
                error = error.error,
                detail = ?error.log_detail.as_deref().unwrap_or(""),
                correlation_id = ?correlation,
                "token request refused: AADSTS{}",
                error.code
            );
            (
                format!("AADSTS{}", error.code),
                error_response(&error, &base, &correlation, &ids, state.clock.now_s()),
            )
        }
    };
    state
        .metrics
        .requests
        .get_or_create(&OutcomeLabels {
            endpoint: endpoint_label,
            outcome,
        })
        .inc();
    state.metrics.duration.observe(started.elapsed().as_secs_f64());
    response
}

/// What a token request's handling needs from the HTTP layer.
struct TokenRequest<'r> {
    tenant: &'r str,
    endpoint: Endpoint,
    method: &'r Method,
    headers: &'r HeaderMap,
    uri: &'r Uri,
    base: &'r str,
    ids: &'r RequestIds,
}

/// The exchange: decode, [`exchange::prepare`] on a snapshot of the directory (no lock held
/// from here on), the keys of the issuer it names, [`exchange::verify`] (once more after a
/// re-fetch when the `kid` is unknown), [`exchange::finish`], sign.
async fn run_exchange(
    state: &StsState,
    request: &TokenRequest<'_>,
    body: Body,
) -> Result<(Response, String), (EntraError, String)> {
    let (headers, uri, ids) = (request.headers, request.uri, request.ids);
    if request.method != Method::POST {
        return Err((EntraError::post_only(), correlation_id(headers, uri, None, ids)));
    }
    let bytes = match wif_server::body::read_limited(body, MAX_FORM_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Err((
                EntraError::body_too_large(MAX_FORM_BYTES),
                correlation_id(headers, uri, None, ids),
            ));
        }
    };
    let form = Form::parse(&bytes);
    let correlation = correlation_id(headers, uri, form.as_ref(), ids);
    let fail = |e: EntraError| (e, correlation.clone());
    let form = form.ok_or_else(|| {
        fail(
            EntraError::missing_parameter("grant_type")
                .with_diagnosis("the body is not application/x-www-form-urlencoded"),
        )
    })?;
    let directory = state.directory().await;
    let prepared =
        exchange::prepare(&directory, request.endpoint, request.tenant, &form, request.base).map_err(fail)?;
    // Keys that grant are checked as Entra checks them; the closest trusted issuer's keys,
    // fetched for an untrusted one, only decide how much the refusal may say.
    let check = if prepared.issuer_is_trusted() {
        IssuerCheck::Exact
    } else {
        IssuerCheck::KeysOnly
    };
    let keys = state
        .issuers
        .keys_checked(&prepared.key_issuer, check)
        .await
        .map_err(|e| fail(exchange::keys_error(&prepared, &error_chain(&e))))?;
    let refreshed;
    let verified = match exchange::verify(&prepared, &keys) {
        Err(JwtError::UnknownKid { .. }) => {
            // The issuer may have rotated its key since we fetched: look once more.
            refreshed = state
                .issuers
                .refresh_checked(&prepared.key_issuer, check)
                .await
                .map_err(|e| fail(exchange::keys_error(&prepared, &error_chain(&e))))?;
            exchange::verify(&prepared, &refreshed)
        }
        other => other,
    }
    .map_err(|e| fail(exchange::signature_error(&prepared, &e)))?;
    let grant = exchange::finish(verified, state.clock.now_s()).map_err(fail)?;
    let issued = tokens::mint(
        &grant,
        &state.signing_key,
        request.base,
        state.clock.now_s(),
        directory.token_lifetime_seconds,
    )
    .map_err(|e| {
        fail(EntraError::internal(&format!(
            "signing the access token failed: {}",
            error_chain(&e)
        )))
    })?;
    let body = tokens::success_body(&issued, request.endpoint);
    let response = json_response(
        StatusCode::OK,
        &body,
        &[
            ("cache-control", "no-store, no-cache".into()),
            ("pragma", "no-cache".into()),
            ("x-ms-request-id", ids.trace.clone()),
        ],
    );
    Ok((response, grant.principal.client_id))
}
