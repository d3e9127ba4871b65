//! What a permitted vault request does: a read is decided and answered under one lock of the
//! state, copying nothing; a write (set, delete) goes through the store's one commit, so it is
//! kept before it is answered, and is decided again there, against the state it changes: a
//! role revoked while the body was in flight, or the vault deleted and its (global) name taken
//! by another, refuses the write.

use axum::body::Body;
use axum::response::Response;
use serde_json::{Value, json};

use super::answer::{bad, failure, json_response};
use super::request::{MAX_BODY_BYTES, Operation};
use crate::caller::Caller;
use crate::config::{AzureConfig, KeyVaultConfig, VaultPlace};
use crate::keyvault::{self, KeyVaultError, SecretOperation, SecretVersion};
use crate::ops;
use crate::state::AzureState;
use crate::store::CommitError;

/// A permitted request's context.
pub(super) struct VaultRequest<'r> {
    pub state: &'r AzureState,
    /// The host the client named (the bundles' ids carry it).
    pub host: &'r str,
    /// The vault's name as the host gave it.
    pub vault: &'r str,
    pub caller: &'r Caller,
    pub place: &'r VaultPlace,
    /// The vault's ARM id.
    pub vault_id: String,
}

/// Decides and runs `op`.
pub(super) async fn run(request: &VaultRequest<'_>, op: Operation<'_>, body: Body) -> Response {
    let kind = op.kind();
    let target = match op.secret_name() {
        Some(n) => format!("{}/secrets/{n}", request.vault_id),
        None => request.vault_id.clone(),
    };
    // One lock for the decision and a read: nothing is copied, nothing waits on the network.
    {
        let config = request.state.store.config.lock().await;
        // The vault authenticated for, not another that took its global name since.
        let Some((vault, _)) = ops::find_vault(&config, request.vault).filter(|(_, place)| place == request.place)
        else {
            return VaultChangeError::Gone.response();
        };
        if let Some(denied) = super::access::refusal(&config, vault, request.place, request.caller, kind, &target) {
            tracing::info!(vault = %request.vault, caller = %request.caller.object_id, action = kind.data_action(), "vault call refused: not permitted");
            return denied;
        }
        match op {
            Operation::List => return list(request.host, vault),
            Operation::Get { name, version } => {
                return match vault.secrets.get(name, version) {
                    Ok((s, v)) => json_response(200, &keyvault::bundle(request.host, s, v, true), None),
                    Err(e) => failure(&e),
                };
            }
            Operation::Set { .. } | Operation::Delete { .. } => {}
        }
    }
    match op {
        Operation::Set { name } => set(request, name, &target, body).await,
        Operation::Delete { name } => delete(request, name, &target).await,
        Operation::List | Operation::Get { .. } => VaultChangeError::Gone.response(),
    }
}

fn list(host: &str, vault: &KeyVaultConfig) -> Response {
    let items: Vec<Value> = vault
        .secrets
        .list()
        .into_iter()
        .map(|(secret, version)| {
            let mut item = keyvault::bundle(host, secret, version, false);
            item["id"] = json!(format!("https://{host}/secrets/{}", secret.name));
            item
        })
        .collect();
    json_response(200, &json!({"value": items, "nextLink": null}), None)
}

async fn delete(request: &VaultRequest<'_>, secret: &str, target: &str) -> Response {
    let deleted = request
        .state
        .store
        .change(|c| {
            permitted(c, request, SecretOperation::Delete, target)?
                .secrets
                .delete(secret)
                .map_err(VaultChangeError::Vault)
        })
        .await;
    match deleted {
        Ok(s) => match s.versions.last() {
            Some(v) => json_response(200, &keyvault::bundle(request.host, &s, v, false), None),
            None => failure(&KeyVaultError::SecretNotFound {
                name: secret.to_owned(),
            }),
        },
        Err(e) => e.response(),
    }
}

async fn set(request: &VaultRequest<'_>, secret: &str, target: &str, body: Body) -> Response {
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
        created: request.state.emulator.clock.now_s(),
    };
    let stored = request
        .state
        .store
        .change(|c| {
            let v = permitted(c, request, SecretOperation::Set, target)?;
            v.secrets.set(secret, new).map_err(VaultChangeError::Vault)?;
            let (s, v) = v.secrets.get(secret, None).map_err(VaultChangeError::Vault)?;
            Ok::<_, VaultChangeError>(keyvault::bundle(request.host, s, v, true))
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
    /// Not permitted any more: Key Vault's 403.
    Refused(Box<Response>),
    Commit(CommitError),
}

impl From<CommitError> for VaultChangeError {
    fn from(error: CommitError) -> Self {
        VaultChangeError::Commit(error)
    }
}

impl VaultChangeError {
    fn response(self) -> Response {
        match self {
            VaultChangeError::Refused(denied) => *denied,
            VaultChangeError::Vault(e) => failure(&e),
            VaultChangeError::Gone => json_response(
                404,
                &keyvault::error_body("VaultNotFound", "The vault was deleted."),
                None,
            ),
            VaultChangeError::Commit(full @ CommitError::TooLarge { .. }) => json_response(
                507,
                &keyvault::error_body(crate::arm::STATE_FULL, &full.to_string()),
                None,
            ),
            VaultChangeError::Commit(e) => json_response(
                500,
                &keyvault::error_body("InternalError", &wif_core::error_text::error_chain(&e)),
                None,
            ),
        }
    }
}

/// The vault a write changes, decided again on the state being changed: still the vault the
/// request was authenticated for (same place: a vault deleted and made again elsewhere under
/// its global name is another vault), and the caller still permitted.
fn permitted<'c>(
    config: &'c mut AzureConfig,
    request: &VaultRequest<'_>,
    kind: SecretOperation,
    target: &str,
) -> Result<&'c mut KeyVaultConfig, VaultChangeError> {
    let (vault, place) = ops::find_vault(config, request.vault).ok_or(VaultChangeError::Gone)?;
    if place != *request.place {
        return Err(VaultChangeError::Gone);
    }
    if let Some(denied) = super::access::refusal(config, vault, &place, request.caller, kind, target) {
        tracing::info!(vault = %request.vault, caller = %request.caller.object_id, action = kind.data_action(), "vault write refused at commit: no longer permitted");
        return Err(VaultChangeError::Refused(Box::new(denied)));
    }
    ops::find_vault_mut(config, request.vault).ok_or(VaultChangeError::Gone)
}
