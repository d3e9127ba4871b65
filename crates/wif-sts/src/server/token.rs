//! The token endpoints (v2 and v1): decode the form, [`exchange::prepare`] on a snapshot of the
//! directory, fetch the keys of the issuer it names, [`exchange::verify`] (once more after a
//! re-fetch when the `kid` is unknown), [`exchange::finish`], sign, and answer as Entra does;
//! each request counted by endpoint and outcome.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use wif_core::error_text::error_chain;
use wif_issuer::IssuerCheck;
use wif_jose::JwtError;

use super::metrics::OutcomeLabels;
use super::respond::{RequestIds, correlation_id, error_response, json_response};
use super::state::{Shared, StsState};
use crate::errors::EntraError;
use crate::exchange::{self, Endpoint, Form};
use crate::journal::{Outcome, Seen};
use crate::tokens;

/// Largest token request body read (a projected token is about 1 KiB; 16 KiB is our cap).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

pub(super) async fn token_v2(
    state: State<Shared>,
    tenant: Path<String>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    token(state, tenant, Endpoint::V2, method, headers, uri, body).await
}

pub(super) async fn token_v1(
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
    let mut seen = Seen {
        tenant: crate::journal::cut(&tenant),
        endpoint: endpoint_label,
        ..Seen::default()
    };
    let (outcome, response) = match run_exchange(&state, &request, body, &mut seen).await {
        Ok((response, grant)) => {
            tracing::info!(tenant = ?tenant, client_id = ?grant.principal.client_id, endpoint = endpoint_label, "token issued");
            state.journal.record(
                seen,
                state.clock.now_s(),
                Outcome::Issued {
                    credential: grant.credential,
                    resource: grant.resource,
                },
            );
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
            let diagnosis = match (&error.diagnosis, &error.log_detail) {
                (Some(d), Some(detail)) => Some(format!("{d} ({detail})")),
                (d, detail) => d.clone().or_else(|| detail.clone()),
            };
            state.journal.record(
                seen,
                state.clock.now_s(),
                Outcome::Refused {
                    status: error.status,
                    error: error.error.to_owned(),
                    code: error.code,
                    message: crate::journal::cut_to(&error.message, crate::journal::MAX_TEXT_CHARS),
                    diagnosis: diagnosis.map(|d| crate::journal::cut_to(&d, crate::journal::MAX_TEXT_CHARS)),
                    closest_credential: error.closest_credential.clone(),
                },
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
    seen: &mut Seen,
) -> Result<(Response, exchange::Grant), (EntraError, String)> {
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
    if let Some(form) = &form {
        seen.client_id = form.get("client_id").map(crate::journal::cut);
        if let Some(assertion) = form.get("client_assertion") {
            seen.read_assertion(assertion);
        }
    }
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
    // Its claims are now the signer's, not whatever a caller typed.
    seen.verified = true;
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
    Ok((response, grant))
}
