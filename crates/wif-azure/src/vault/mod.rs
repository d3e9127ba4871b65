//! The Key Vault data plane's HTTP shell: requests whose host is `V.<vault suffix>` (through
//! the emulator's CONNECT proxy, or any route that reaches it) are vault `V`'s. Every SDK's
//! first request carries no token and gets the 401 challenge before its body is read; then
//! the token must be this emulator's, for the challenge's resource and the vault's tenant;
//! then RBAC (or the vault's access policies) decides, as Azure does; then
//! [`crate::keyvault`] runs the operation (spec/azure-control-plane.md §7–§8). Each of those
//! steps is a module of its own; this one routes and answers.

use axum::extract::Request;
use axum::response::Response;

use crate::keyvault::{self, KeyVaultError};
use crate::state::AzureState;

mod access;
mod answer;
mod authenticate;
mod host;
mod operations;
mod request;

use answer::{bad, failure, json_response};
pub use host::{resource, tunnel_policy, vault_of_host};
pub use request::MAX_BODY_BYTES;
use request::operation;

/// Answers `request`, made to vault `name` on `host`: who calls (`authenticate`), what it
/// asks (`operation`), whether it may (`access`), then the operation (`operations`).
pub async fn handle(state: &AzureState, host: &str, name: &str, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let authenticated = match authenticate::authenticate(state, name, &headers).await {
        Ok(authenticated) => authenticated,
        Err(refused) => return refused,
    };
    // Decoded as Key Vault decodes it: Node's client sends `api%2Dversion`.
    let query: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    if !query.iter().any(|(k, _)| k.eq_ignore_ascii_case("api-version")) {
        return bad("BadParameter", "The api-version query parameter is missing.");
    }
    let Some(op) = operation(&method, uri.path()) else {
        return json_response(
            404,
            &keyvault::error_body(
                "NotFound",
                "The local vault serves secrets: GET /secrets, PUT, GET and DELETE /secrets/{name}[/{version}].",
            ),
            None,
        );
    };
    if let Some(n) = op.secret_name()
        && !keyvault::valid_secret_name(n)
    {
        return failure(&KeyVaultError::BadName { name: n.to_owned() });
    }
    let request = operations::VaultRequest {
        state,
        host,
        vault: name,
        caller: &authenticated.caller,
        place: &authenticated.place,
        vault_id: authenticated.place.vault_id(&authenticated.vault_name),
    };
    operations::run(&request, op, body).await
}

#[cfg(test)]
mod tests;
