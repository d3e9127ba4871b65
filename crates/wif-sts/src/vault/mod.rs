//! The Key Vault data plane's HTTP shell: requests whose host is `V.<vault suffix>` (through
//! the emulator's CONNECT proxy, or any route that reaches it) are vault `V`'s. Every SDK's
//! first request carries no token and gets the 401 challenge before its body is read; then
//! the token must be this emulator's, for the challenge's resource and the vault's tenant;
//! then RBAC (or the vault's access policies) decides, as Azure does; then
//! [`crate::keyvault`] runs the operation (spec/azure-control-plane.md §7–§8).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::arm::resources::vault_suffix;
use crate::caller::{CallerError, Surface};
use crate::cloud::{KeyVaultConfig, ops};
use crate::directory::DirectoryConfig;
use crate::keyvault::{self, KeyVaultError, SecretOperation, SecretVersion};
use crate::server::StsState;
use crate::store::CommitError;

mod access;
use access::refusal;

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

/// A change the vault makes, once permitted (through the store, which persists it).
enum Write<'p> {
    Set(&'p str),
    Delete(&'p str),
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

/// Answers a request to vault `name` on `host`.
pub async fn handle(
    state: Arc<StsState>,
    host: String,
    name: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(store) = state.store.clone() else {
        return json_response(
            404,
            &keyvault::error_body("VaultNotFound", "The local Azure plane is off in this emulator."),
            None,
        );
    };
    // Only where the vault is, for the challenge: its secrets are read under the lock below.
    let found = {
        let config = store.config.lock().await;
        ops::find_vault(&config, &name).map(|(v, p)| (v.name.clone(), p, vault_suffix(&config)))
    };
    let Some((vault_name, place, suffix)) = found else {
        return json_response(
            404,
            &keyvault::error_body(
                "VaultNotFound",
                &format!(
                    "No vault named '{name}' exists in the local Azure plane (create it with az keyvault create)."
                ),
            ),
            None,
        );
    };
    let resource = resource(&suffix);
    let challenge = keyvault::challenge(&state.public_url(), &place.tenant_id, &resource);
    // The challenge first, the body unread: SDKs send their first request without a token.
    let caller = match crate::caller::of_request(
        &state,
        &headers,
        Surface::Vault {
            resource: resource.clone(),
        },
    ) {
        Ok(caller) => caller,
        Err(error) => {
            tracing::info!(%error, vault = %name, "vault call refused: token");
            let body = match &error {
                CallerError::Missing => keyvault::missing_token_body(),
                CallerError::WrongAudience { found, .. } => keyvault::wrong_audience_body(&resource, found),
                CallerError::Expired(_) => keyvault::error_body("Unauthorized", "AKV10032: Token expired."),
                _ => keyvault::error_body(
                    "Unauthorized",
                    &format!("AKV10046: Unable to resolve the key used for signature validation: {error}."),
                ),
            };
            return json_response(401, &body, Some(&challenge));
        }
    };
    if !caller.tenant_id.eq_ignore_ascii_case(&place.tenant_id) {
        let body = keyvault::error_body(
            "Unauthorized",
            &format!(
                "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{}/, found https://sts.windows.net/{}/.",
                place.tenant_id, caller.tenant_id
            ),
        );
        return json_response(401, &body, Some(&challenge));
    }
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
    let (kind, secret_name) = match &op {
        Operation::List => (SecretOperation::List, None),
        Operation::Get { name, .. } => (SecretOperation::Get, Some(*name)),
        Operation::Set { name } => (SecretOperation::Set, Some(*name)),
        Operation::Delete { name } => (SecretOperation::Delete, Some(*name)),
    };
    if let Some(n) = secret_name
        && !keyvault::valid_secret_name(n)
    {
        return failure(&KeyVaultError::BadName { name: n.to_owned() });
    }
    let vault_id = place.vault_id(&vault_name);
    let target = match secret_name {
        Some(n) => format!("{vault_id}/secrets/{n}"),
        None => vault_id.clone(),
    };
    // One lock for the decision and a read: nothing is copied, nothing waits on the network.
    let write = {
        let config = store.config.lock().await;
        let Some((vault, _)) = ops::find_vault(&config, &name) else {
            return VaultChangeError::Gone.response();
        };
        if let Some(denied) = refusal(&config, vault, &place, &caller, kind, &target) {
            tracing::info!(vault = %name, caller = %caller.object_id, action = kind.data_action(), "vault call refused: not permitted");
            return denied;
        }
        match op {
            Operation::List => {
                let items: Vec<Value> = vault
                    .secrets
                    .list()
                    .into_iter()
                    .map(|(secret, version)| {
                        let mut item = keyvault::bundle(&host, secret, version, false);
                        item["id"] = json!(format!("https://{host}/secrets/{}", secret.name));
                        item
                    })
                    .collect();
                return json_response(200, &json!({"value": items, "nextLink": null}), None);
            }
            Operation::Get { name: secret, version } => {
                return match vault.secrets.get(secret, version) {
                    Ok((s, v)) => json_response(200, &keyvault::bundle(&host, s, v, true), None),
                    Err(e) => failure(&e),
                };
            }
            Operation::Set { name } => Write::Set(name),
            Operation::Delete { name } => Write::Delete(name),
        }
    };
    match write {
        Write::Set(secret) => set(&state, &store, &host, &name, secret, body).await,
        Write::Delete(secret) => {
            let deleted = store
                .change(&state, |c| {
                    find_vault(c, &name)?
                        .secrets
                        .delete(secret)
                        .map_err(VaultChangeError::Vault)
                })
                .await;
            match deleted {
                Ok(s) => match s.versions.last() {
                    Some(v) => json_response(200, &keyvault::bundle(&host, &s, v, false), None),
                    None => failure(&KeyVaultError::SecretNotFound {
                        name: secret.to_owned(),
                    }),
                },
                Err(e) => e.response(),
            }
        }
    }
}

async fn set(
    state: &StsState,
    store: &crate::store::Store,
    host: &str,
    vault: &str,
    secret: &str,
    body: Body,
) -> Response {
    let body = match wif_server::body::read_limited(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(wif_server::body::BodyError::TooLarge { .. }) => {
            return failure(&KeyVaultError::TooLarge { bytes: MAX_BODY_BYTES });
        }
        Err(e) => return bad("BadParameter", &e.to_string()),
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad("BadParameter", "The request body must be a JSON object with a 'value'."),
    };
    let Some(value) = parsed.get("value").and_then(Value::as_str) else {
        return bad("BadParameter", "Property 'value' is required and must be a string.");
    };
    let tags = match parsed.get("tags") {
        None | Some(Value::Null) => Default::default(),
        Some(t) => match serde_json::from_value(t.clone()) {
            Ok(tags) => tags,
            Err(_) => return bad("BadParameter", "Property 'tags' must be an object of strings."),
        },
    };
    let Ok(version) = wif_jose::kubernetes::random_uuid() else {
        return json_response(
            500,
            &keyvault::error_body("InternalError", "the random number generator failed"),
            None,
        );
    };
    let new = SecretVersion {
        version: version.replace('-', ""),
        value: value.to_owned(),
        content_type: parsed.get("contentType").and_then(Value::as_str).map(str::to_owned),
        tags,
        created: state.clock.now_s(),
    };
    let stored = store
        .change(state, |c| {
            let v = find_vault(c, vault)?;
            v.secrets.set(secret, new).map_err(VaultChangeError::Vault)?;
            let (s, v) = v.secrets.get(secret, None).map_err(VaultChangeError::Vault)?;
            Ok::<_, VaultChangeError>(keyvault::bundle(host, s, v, true))
        })
        .await;
    match stored {
        Ok(bundle) => json_response(200, &bundle, None),
        Err(e) => e.response(),
    }
}

/// Why a vault change was not kept.
enum VaultChangeError {
    Vault(KeyVaultError),
    Gone,
    Commit(CommitError),
}

impl From<CommitError> for VaultChangeError {
    fn from(error: CommitError) -> Self {
        VaultChangeError::Commit(error)
    }
}

impl VaultChangeError {
    fn response(&self) -> Response {
        match self {
            VaultChangeError::Vault(e) => failure(e),
            VaultChangeError::Gone => json_response(
                404,
                &keyvault::error_body("VaultNotFound", "The vault was deleted."),
                None,
            ),
            VaultChangeError::Commit(e) => {
                json_response(500, &keyvault::error_body("InternalError", &e.to_string()), None)
            }
        }
    }
}

fn find_vault<'c>(config: &'c mut DirectoryConfig, name: &str) -> Result<&'c mut KeyVaultConfig, VaultChangeError> {
    ops::find_vault_mut(config, name).ok_or(VaultChangeError::Gone)
}

#[cfg(test)]
mod tests;
