//! The local Azure Resource Manager: a thin HTTP shell over [`crate::ops`]. It serves
//! what azure-cli's tutorial commands call (spec/azure-control-plane.md §0): the cloud's
//! `/metadata/endpoints`, subscriptions, resource groups, `Microsoft.ManagedIdentity`
//! identities and their federated credentials, `Microsoft.KeyVault/vaults`,
//! `Microsoft.Storage/storageAccounts` (no keys: Entra authorization only),
//! `Microsoft.ContainerService/managedClusters` and `Microsoft.Authorization` at any scope.
//! As ARM does, it matches paths case-insensitively (and `//` as `/`), takes any
//! `api-version`, checks every caller's token and its RBAC permission for the action, and
//! answers refusals as `{"error": {"code", "message"}}`. A path with a `.` or `..` segment
//! (`%2e` counted as `.`: hyper hands the path over as sent, neither resolved nor decoded)
//! is ARM's 400 `InvalidScope` before any permission is checked, so no scope is ever
//! authorized or stored in a form that names another.

use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::json;

use crate::caller::{CallerError, Surface};
use crate::ops::{ArmError, arm_error, invalid_scope};
use crate::rbac::Scope;
use crate::respond::answer;
use crate::state::AzureState;
use crate::store::CommitError;

mod authorization;
mod identities;
mod request;
mod resources;
mod storage;
mod vaults;

use request::ArmRequest;

/// Largest ARM request body (a vault PUT with access policies is a few kB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

impl From<CommitError> for ArmError {
    fn from(error: CommitError) -> Self {
        match error {
            CommitError::Invalid(e) => arm_error(400, "InvalidRequestContent", e.to_string()),
            // Not a fault of the server's, and not one a retry cures: the state is full.
            full @ CommitError::TooLarge { .. } => arm_error(507, STATE_FULL, full.to_string()),
            other => arm_error(500, "InternalServerError", wif_core::error_text::error_chain(&other)),
        }
    }
}

/// The code of a change refused because the state would pass its size limit (HTTP 507, which
/// no SDK retries), on every surface.
pub(crate) const STATE_FULL: &str = "StateLimitExceeded";

/// ARM's error body for `error`.
pub(crate) fn refusal(error: &ArmError) -> Response {
    answer(
        error.status,
        &json!({"error": {"code": error.code, "message": error.message}}),
    )
}

/// ARM's 401 for a refused token, with the challenge ARM sends (its authority: this emulator).
fn caller_refusal(error: &CallerError, authority: &str) -> Response {
    let (code, message) = match error {
        CallerError::Missing => (
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".to_owned(),
        ),
        CallerError::Expired(e) => (
            "ExpiredAuthenticationToken",
            format!("The access token has expired: {e}. Get a new token (az account get-access-token) and retry."),
        ),
        CallerError::WrongAudience { found, expected } => (
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{found}'. It should exactly match with one of the allowed audiences {}.",
                expected.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(",")
            ),
        ),
        CallerError::Invalid(_) | CallerError::NoPrincipal => (
            "InvalidAuthenticationToken",
            format!("The access token is invalid: {error}."),
        ),
    };
    let mut response = refusal(&arm_error(401, code, message));
    let challenge =
        format!("Bearer authorization_uri=\"{authority}/\", error=\"invalid_token\", error_description=\"{code}\"");
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Whether a path is ARM's.
pub fn claims(path: &str) -> bool {
    let first = path.split('/').find(|s| !s.is_empty()).unwrap_or_default();
    ["subscriptions", "providers", "metadata", "tenants"]
        .iter()
        .any(|p| first.eq_ignore_ascii_case(p))
}

/// Answers an ARM request.
pub async fn handle(state: &AzureState, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let query: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let is = |i: usize, word: &str| segments.get(i).is_some_and(|s| s.eq_ignore_ascii_case(word));
    if is(0, "metadata") && is(1, "endpoints") && segments.len() == 2 {
        return resources::metadata_endpoints(state).await;
    }
    let caller = match crate::caller::of_request(&state.emulator, &headers, Surface::Arm) {
        Ok(caller) => caller,
        Err(error) => {
            tracing::info!(%error, path = ?uri.path(), "ARM call refused: token");
            return caller_refusal(&error, &state.emulator.public_url());
        }
    };
    if let Err(error) = Scope::parse(uri.path()) {
        tracing::info!(%error, path = ?uri.path(), "ARM call refused: relative segment");
        return refusal(&invalid_scope(&error));
    }
    if !query.iter().any(|(k, _)| k.eq_ignore_ascii_case("api-version")) {
        return refusal(&arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    }
    let body = match wif_server::body::read_limited(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(wif_server::body::BodyError::TooLarge { limit }) => {
            return refusal(&arm_error(
                413,
                "RequestEntityTooLarge",
                format!("The request content is larger than {limit} bytes."),
            ));
        }
        Err(e) => return refusal(&arm_error(400, "InvalidRequestContent", e.to_string())),
    };
    let request = ArmRequest {
        method: &method,
        segments,
        query,
        body,
        caller,
        state,
    };
    let result = route(&request).await;
    match result {
        Ok(response) => response,
        Err(error) => {
            tracing::info!(code = error.code, status = error.status, path = ?uri.path(), method = %method, "ARM call refused");
            refusal(&error)
        }
    }
}

async fn route(request: &ArmRequest<'_>) -> Result<Response, ArmError> {
    let segments = &request.segments;
    // Microsoft.Authorization answers at any scope, the root included.
    if let Some(at) = segments
        .windows(2)
        .rposition(|w| w[0].eq_ignore_ascii_case("providers") && w[1].eq_ignore_ascii_case("Microsoft.Authorization"))
    {
        let scope = format!("/{}", segments[..at].join("/"));
        return authorization::route(request, &scope, &segments[at + 2..]).await;
    }
    resources::route(request).await
}
