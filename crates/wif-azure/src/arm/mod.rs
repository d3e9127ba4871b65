//! The local Azure Resource Manager: a thin HTTP shell over [`crate::ops`]. It serves
//! what azure-cli's tutorial commands call (spec/azure-control-plane.md §0): the cloud's
//! `/metadata/endpoints`, subscriptions, resource groups, `Microsoft.ManagedIdentity`
//! identities and their federated credentials, `Microsoft.KeyVault/vaults`,
//! `Microsoft.ContainerService/managedClusters` and `Microsoft.Authorization` at any scope.
//! As ARM does, it matches paths case-insensitively (and `//` as `/`), takes any
//! `api-version`, checks every caller's token and its RBAC permission for the action, and
//! answers refusals as `{"error": {"code", "message"}}`.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::caller::{Caller, CallerError, Surface};
use crate::config::AzureConfig;
use crate::ops::{self, ArmError, arm_error};
use crate::plane::AzureState;
use crate::rbac::{self, Decision, Plane, Scope};
pub(crate) use crate::respond::answer;
use crate::store::CommitError;

mod authorization;
mod identities;
pub(crate) mod resources;
mod vaults;

/// Largest ARM request body (a vault PUT with access policies is a few kB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

impl From<CommitError> for ArmError {
    fn from(error: CommitError) -> Self {
        match error {
            CommitError::Invalid(e) => arm_error(400, "InvalidRequestContent", e.to_string()),
            other => arm_error(500, "InternalServerError", wif_core::error_text::error_chain(&other)),
        }
    }
}

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

/// One ARM request, decoded.
pub(crate) struct ArmRequest<'r> {
    pub method: &'r Method,
    /// The path's segments, empty ones (from `//`) dropped.
    pub segments: Vec<&'r str>,
    /// The query's pairs, decoded.
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    pub caller: Caller,
    pub state: &'r AzureState,
}

impl ArmRequest<'_> {
    /// A query parameter (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as a JSON object (`{}` when empty).
    pub fn json(&self) -> Result<Value, ArmError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(json!({}));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(value @ Value::Object(_)) => Ok(value),
            Ok(_) => Err(arm_error(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: the body must be a JSON object.",
            )),
            Err(e) => Err(arm_error(
                400,
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: '{e}'."),
            )),
        }
    }

    /// Refuses unless the caller may do `action` at `scope` (the subscription's tenant must
    /// be the caller's, then Azure RBAC decides).
    pub async fn authorize(&self, action: &str, scope: &str) -> Result<(), ArmError> {
        let config = self.state.store.config.lock().await;
        authorize(&config, &self.caller, action, scope)
    }

    /// Runs a change on the state and commits it.
    pub async fn change<T>(&self, change: impl FnOnce(&mut AzureConfig) -> Result<T, ArmError>) -> Result<T, ArmError> {
        self.state.store.change(change).await
    }

    /// Reads the state.
    pub async fn read<T>(&self, read: impl FnOnce(&AzureConfig) -> T) -> T {
        read(&*self.state.store.config.lock().await)
    }
}

/// Whether `caller` may do `action` at `scope` in `config`.
pub(crate) fn authorize(config: &AzureConfig, caller: &Caller, action: &str, scope: &str) -> Result<(), ArmError> {
    let resource = Scope::new(scope);
    if let Some(sub) = resource
        .as_str()
        .strip_prefix("/subscriptions/")
        .map(|rest| rest.split('/').next().unwrap_or_default())
    {
        let subscription = ops::subscription(config, sub)?;
        if !subscription.tenant_id.eq_ignore_ascii_case(&caller.tenant_id) {
            return Err(arm_error(
                401,
                "InvalidAuthenticationTokenTenant",
                format!(
                    "The access token is from the wrong issuer 'https://sts.windows.net/{}/'. It must match the tenant 'https://sts.windows.net/{}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{}' to get the token.",
                    caller.tenant_id, subscription.tenant_id, subscription.tenant_id
                ),
            ));
        }
    }
    let assignments = ops::effective_assignments(config, &caller.object_id, &caller.tenant_id);
    match rbac::evaluate(&assignments, &caller.object_id, &resource, Plane::Control, action) {
        Decision::Allowed { .. } => Ok(()),
        Decision::Denied => Err(arm_error(
            403,
            "AuthorizationFailed",
            format!(
                "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                if caller.app_id.is_empty() {
                    &caller.object_id
                } else {
                    &caller.app_id
                },
                caller.object_id
            ),
        )),
    }
}

/// Whether a path is ARM's.
pub fn claims(path: &str) -> bool {
    let first = path.split('/').find(|s| !s.is_empty()).unwrap_or_default();
    ["subscriptions", "providers", "metadata", "tenants"]
        .iter()
        .any(|p| first.eq_ignore_ascii_case(p))
}

/// Answers an ARM request.
pub async fn handle(
    state: &AzureState,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let query: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let is = |i: usize, word: &str| segments.get(i).is_some_and(|s| s.eq_ignore_ascii_case(word));
    if is(0, "metadata") && is(1, "endpoints") && segments.len() == 2 {
        return resources::metadata_endpoints(state);
    }
    let caller = match crate::caller::of_request(&state.emulator, &headers, Surface::Arm) {
        Ok(caller) => caller,
        Err(error) => {
            tracing::info!(%error, path = ?uri.path(), "ARM call refused: token");
            return caller_refusal(&error, &state.emulator.public_url());
        }
    };
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

/// A 404 for a path ARM does not serve here.
pub(crate) fn unknown_path(request: &ArmRequest<'_>) -> ArmError {
    let api_version = request.param("api-version").unwrap_or_default();
    arm_error(
        404,
        "InvalidResourceType",
        format!(
            "The resource type '/{}' could not be found for api version '{api_version}'. The local Azure plane serves subscriptions, resource groups, Microsoft.ManagedIdentity, Microsoft.KeyVault/vaults, Microsoft.ContainerService/managedClusters and Microsoft.Authorization.",
            request.segments.join("/")
        ),
    )
}

/// A 405 for a method a path does not take.
pub(crate) fn method_not_allowed(request: &ArmRequest<'_>) -> ArmError {
    arm_error(
        405,
        "MethodNotAllowed",
        format!(
            "The requested resource does not support http method '{}'.",
            request.method
        ),
    )
}
