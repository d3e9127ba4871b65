//! Who may do what in a vault: Azure RBAC with data actions (the scope chain from `/` to the
//! secret, wildcards, not-data-actions) for an RBAC vault, else its access policies; and Key
//! Vault's 403 in its own words when neither grants the operation.

use axum::response::Response;
use serde_json::json;

use super::answer::json_response;
use crate::caller::Caller;
use crate::config::AzureConfig;
use crate::config::{KeyVaultConfig, VaultPlace};
use crate::keyvault::{self, SecretOperation};
use crate::ops;
use crate::rbac::{self, Decision, Plane, Scope};

/// Key Vault's 403, in its words, unless `caller` may do `kind` on `target`: Azure RBAC with
/// data actions for an RBAC vault, else the vault's access policies.
pub(super) fn refusal(
    config: &AzureConfig,
    vault: &KeyVaultConfig,
    place: &VaultPlace,
    caller: &Caller,
    kind: SecretOperation,
    target: &str,
) -> Option<Response> {
    let scope = Scope::new(target);
    if vault.enable_rbac_authorization {
        let assignments = ops::effective_assignments(config, &caller.object_id, &caller.tenant_id);
        return match rbac::evaluate(&assignments, &caller.object_id, &scope, Plane::Data, kind.data_action()) {
            Decision::Allowed { .. } => None,
            Decision::Denied => Some(json_response(
                403,
                &keyvault::forbidden_by_rbac_body(&keyvault::Refusal {
                    app_id: &caller.app_id,
                    object_id: &caller.object_id,
                    tenant_id: &caller.tenant_id,
                    action: kind.data_action(),
                    resource: &scope,
                    vault: &vault.name,
                    location: &vault.location,
                }),
                None,
            )),
        };
    }
    let word = match kind {
        SecretOperation::Get => "get",
        SecretOperation::List => "list",
        SecretOperation::Set => "set",
        SecretOperation::Delete => "delete",
    };
    let allowed = vault.access_policies.iter().any(|p| {
        p.object_id.eq_ignore_ascii_case(&caller.object_id)
            && p.permissions
                .secrets
                .iter()
                .any(|s| s.eq_ignore_ascii_case(word) || s.eq_ignore_ascii_case("all"))
    });
    if allowed {
        return None;
    }
    let message = format!(
        "The user, group or application 'appid={};oid={};iss=https://sts.windows.net/{}/' does not have secrets {word} permission on key vault '{};location={}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
        caller.app_id, caller.object_id, place.tenant_id, vault.name, vault.location
    );
    Some(json_response(
        403,
        &json!({"error": {"code": "Forbidden", "message": message, "innererror": {"code": "AccessDenied"}}}),
        None,
    ))
}
