//! How the emulator answers: JSON with Entra's headers, Entra's error body for a refusal, the
//! request and correlation ids every answer carries, a 500 when ids cannot be made, and the
//! 404 for a path it does not serve.

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::errors::EntraError;
use crate::exchange::Form;

/// The ids a response carries: its trace id (also `x-ms-request-id`) and the correlation id
/// used when the client sent none. Made first, so that a failing random number generator is
/// answered with a 500, never with ids that are all zeros.
pub(super) struct RequestIds {
    pub(super) trace: String,
    pub(super) fallback_correlation: String,
}

impl RequestIds {
    pub(super) fn new() -> Result<Self, RandomFailed> {
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
pub(super) struct RandomFailed;

impl RandomFailed {
    pub(super) fn response(self) -> Response {
        let body = json!({
            "error": "server_error",
            "error_description": "AADSTS50000: There was an error issuing a token or an issue with our sign-in service.",
            "error_codes": [50_000],
            "wif_diagnosis": "the emulator's random number generator failed",
        });
        json_response(StatusCode::INTERNAL_SERVER_ERROR, &body, &[])
    }
}

pub(super) fn json_response(status: StatusCode, body: &Value, extra: &[(&'static str, String)]) -> Response {
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

pub(super) fn error_response(
    error: &EntraError,
    base: &str,
    correlation_id: &str,
    ids: &RequestIds,
    now: i64,
) -> Response {
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

pub(super) fn correlation_id(headers: &HeaderMap, uri: &Uri, form: Option<&Form>, ids: &RequestIds) -> String {
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

/// The 404 for a path the emulator does not serve.
pub async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({ "error": "not_found", "error_description": "No such endpoint on the wif Entra ID emulator." }),
        &[],
    )
}
