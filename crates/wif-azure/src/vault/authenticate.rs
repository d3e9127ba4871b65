//! Who calls a vault: every SDK's first request carries no token and gets the 401 challenge
//! before its body is read; then the token must be this emulator's, for the challenge's
//! resource (`https://<suffix>`) and for the vault's tenant, each refusal in Key Vault's words.

use axum::http::HeaderMap;
use axum::response::Response;

use super::answer::json_response;
use super::host::resource;
use crate::caller::{Caller, CallerError, Surface};
use crate::config::VaultPlace;
use crate::keyvault;
use crate::ops;
use crate::state::AzureState;

/// A caller the vault may now decide about.
pub(super) struct Authenticated {
    pub caller: Caller,
    /// The vault's name as stored.
    pub vault_name: String,
    pub place: VaultPlace,
}

/// The vault's challenge and the caller's token, or the answer that refuses them.
pub(super) async fn authenticate(
    state: &AzureState,
    name: &str,
    headers: &HeaderMap,
) -> Result<Authenticated, Response> {
    // Only where the vault is, for the challenge: its secrets are read later, under one lock.
    let found = {
        let config = state.store.config.lock().await;
        ops::find_vault(&config, name).map(|(v, p)| (v.name.clone(), p))
    };
    let Some((vault_name, place)) = found else {
        return Err(json_response(
            404,
            &keyvault::error_body(
                "VaultNotFound",
                &format!(
                    "No vault named '{name}' exists in the local Azure plane (create it with az keyvault create)."
                ),
            ),
            None,
        ));
    };
    let resource = resource(&state.vault_dns_suffix);
    let challenge = keyvault::challenge(&state.emulator.public_url(), &place.tenant_id, &resource);
    // The challenge first, the body unread: SDKs send their first request without a token.
    let surface = Surface::Vault {
        resource: resource.clone(),
    };
    let caller = match crate::caller::of_request(&state.emulator, headers, surface) {
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
            return Err(json_response(401, &body, Some(&challenge)));
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
        return Err(json_response(401, &body, Some(&challenge)));
    }
    Ok(Authenticated {
        caller,
        vault_name,
        place,
    })
}
