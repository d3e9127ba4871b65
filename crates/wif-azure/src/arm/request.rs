//! One ARM request as the surface's modules see it: decoded (segments, query, body, the
//! verified caller), with what every resource module needs of it: the caller's permission
//! for an action, a change through the store's commit, a read, the body's JSON and tags,
//! and ARM's 404 and 405.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::Method;
use serde_json::{Value, json};

use crate::caller::Caller;
use crate::config::AzureConfig;
use crate::ops::{self, ArmError, arm_error};
use crate::rbac::{self, Decision, Plane, Scope};
use crate::state::AzureState;

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

/// A 404 for a path ARM does not serve here.
pub(crate) fn unknown_path(request: &ArmRequest<'_>) -> ArmError {
    let api_version = request.param("api-version").unwrap_or_default();
    arm_error(
        404,
        "InvalidResourceType",
        format!(
            "The resource type '/{}' could not be found for api version '{api_version}'. The local Azure plane serves subscriptions, resource groups, Microsoft.ManagedIdentity, Microsoft.KeyVault/vaults, Microsoft.Storage/storageAccounts, Microsoft.ContainerService/managedClusters and Microsoft.Authorization.",
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

/// An ARM list: `{"value": [...]}`.
pub(crate) fn list(values: Vec<Value>) -> Value {
    json!({ "value": values })
}

/// The body's `tags` (absent or null: none), or ARM's 400 when they are not strings.
pub(crate) fn tags_of(body: &Value) -> Result<Option<BTreeMap<String, String>>, ArmError> {
    match body.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(tags) => serde_json::from_value(tags.clone()).map(Some).map_err(|_| {
            arm_error(
                400,
                "InvalidRequestContent",
                "The request content was invalid: 'tags' must be an object of strings.",
            )
        }),
    }
}

/// The string at `pointer` in `value`.
pub(crate) fn text_of<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// A new resource id (a random GUID), or ARM's 500 when the generator fails.
pub(crate) fn new_id() -> Result<String, ArmError> {
    wif_jose::kubernetes::random_uuid()
        .map_err(|_| arm_error(500, "InternalServerError", "the random number generator failed"))
}
