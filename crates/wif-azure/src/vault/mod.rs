//! The Key Vault data plane's HTTP shell: requests whose host is `V.<vault suffix>` (through
//! the emulator's CONNECT proxy, or any route that reaches it) are vault `V`'s. Every SDK's
//! first request carries no token and gets the 401 challenge before its body is read; then
//! the token must be this emulator's, for the challenge's resource and the vault's tenant;
//! then RBAC (or the vault's access policies) decides, as Azure does; then
//! [`crate::keyvault`] runs the operation (spec/azure-control-plane.md §7–§8). Each of those
//! steps is a module of its own; this one routes and answers.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::keyvault::{self, KeyVaultError, SecretOperation};
use crate::plane::AzureState;

mod access;
mod authenticate;
mod operations;

/// Largest vault request body: a 25 KiB secret with its JSON around it.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The vault a host names, when it is `V.<suffix>` (ports ignored on both sides).
pub fn vault_of_host<'h>(host: &'h str, suffix: &str) -> Option<&'h str> {
    let host = strip_port(host);
    let suffix = strip_port(suffix.trim_start_matches('.'));
    let name = host
        .len()
        .checked_sub(suffix.len() + 1)
        .and_then(|at| host.get(..at).filter(|_| host.get(at..at + 1) == Some(".")))?;
    let tail = host.get(name.len() + 1..)?;
    (tail.eq_ignore_ascii_case(suffix) && !name.is_empty() && !name.contains('.')).then_some(name)
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

/// The CONNECT policy for vault hosts under `suffix`: one label under it, nothing else.
pub fn tunnel_policy(suffix: &str) -> wif_server::TunnelPolicy {
    let owned = suffix.trim_start_matches('.').to_owned();
    wif_server::TunnelPolicy::new(format!("vault hosts *.{owned}"), move |host| {
        vault_of_host(host, &owned).is_some()
    })
}

/// The resource a vault's tokens are for: `https://<suffix>` (`https://vault.azure.net` for
/// Azure's own suffix), a dot-suffix of every vault host as the SDKs' challenge check needs.
pub fn resource(suffix: &str) -> String {
    format!("https://{}", suffix.trim_start_matches('.'))
}

fn json_response(status: u16, body: &Value, challenge: Option<&str>) -> Response {
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

fn failure(error: &KeyVaultError) -> Response {
    json_response(error.status_and_code().0, &error.body(), None)
}

fn bad(code: &str, message: &str) -> Response {
    json_response(400, &keyvault::error_body(code, message), None)
}

/// What a request asks of the vault.
enum Operation<'p> {
    List,
    Get { name: &'p str, version: Option<&'p str> },
    Set { name: &'p str },
    Delete { name: &'p str },
}

impl<'p> Operation<'p> {
    /// The secret it names, if any.
    fn secret_name(&self) -> Option<&'p str> {
        match self {
            Operation::List => None,
            Operation::Get { name, .. } | Operation::Set { name } | Operation::Delete { name } => Some(name),
        }
    }

    /// The data action RBAC (or the access policy) must allow.
    fn kind(&self) -> SecretOperation {
        match self {
            Operation::List => SecretOperation::List,
            Operation::Get { .. } => SecretOperation::Get,
            Operation::Set { .. } => SecretOperation::Set,
            Operation::Delete { .. } => SecretOperation::Delete,
        }
    }
}

fn operation<'p>(method: &Method, path: &'p str) -> Option<Operation<'p>> {
    let rest = path.strip_prefix("/secrets")?;
    if rest.is_empty() || rest == "/" {
        return (*method == Method::GET).then_some(Operation::List);
    }
    let rest = rest.strip_prefix('/')?;
    let (name, version) = match rest.split_once('/') {
        Some((name, version)) if !version.contains('/') => (name, Some(version).filter(|v| !v.is_empty())),
        Some(_) => return None,
        None => (rest, None),
    };
    match *method {
        Method::GET => Some(Operation::Get { name, version }),
        Method::PUT if version.is_none() => Some(Operation::Set { name }),
        Method::DELETE if version.is_none() => Some(Operation::Delete { name }),
        _ => None,
    }
}

/// Answers a request to vault `name` on `host`: who calls ([`authenticate`]), what it asks
/// ([`operation`]), whether it may ([`access`]), then the operation ([`operations`]).
pub async fn handle(
    state: &AzureState,
    host: String,
    name: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let authenticated = match authenticate::authenticate(state, &name, &headers).await {
        Ok(authenticated) => authenticated,
        Err(refused) => return refused,
    };
    if !uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("api-version=")))
    {
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
        host: &host,
        vault: &name,
        caller: &authenticated.caller,
        place: &authenticated.place,
        vault_id: authenticated.place.vault_id(&authenticated.vault_name),
    };
    operations::run(&request, op, body).await
}

#[cfg(test)]
mod tests;
