//! Key Vault's answers: JSON with its content type, the challenge on a 401, and its errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::keyvault::{self, KeyVaultError};

pub(super) fn json_response(status: u16, body: &Value, challenge: Option<&str>) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body.to_string(),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(c).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub(super) fn failure(error: &KeyVaultError) -> Response {
    json_response(error.status_and_code().0, &error.body(), None)
}

pub(super) fn bad(code: &str, message: &str) -> Response {
    json_response(400, &keyvault::error_body(code, message), None)
}
