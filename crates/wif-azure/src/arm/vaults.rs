//! ARM's `Microsoft.KeyVault/vaults` (the data plane is [`crate::vault`]'s) and the
//! read-only `Microsoft.ContainerService/managedClusters` that stand for the local cluster.

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use super::request::{ArmRequest, authorize, method_not_allowed};
use super::request::{tags_of, text_of};
use crate::caller::Caller;
use crate::config::{
    AccessPolicyConfig, AzureConfig, KeyVaultConfig, ManagedClusterConfig, ResourceGroupConfig, VaultPlace,
};
use crate::ops::{self, ArmError, arm_error};
use crate::respond::answer;

pub(super) fn vault_json(v: &KeyVaultConfig, place: &VaultPlace, suffix: &str) -> Value {
    json!({
        "id": place.vault_id(&v.name),
        "name": v.name,
        "type": "Microsoft.KeyVault/vaults",
        "location": v.location,
        "tags": v.tags,
        "properties": {
            "tenantId": place.tenant_id,
            "sku": {"family": "A", "name": v.sku},
            "accessPolicies": v.access_policies,
            "enabledForDeployment": false,
            "enabledForDiskEncryption": false,
            "enabledForTemplateDeployment": false,
            "enableRbacAuthorization": v.enable_rbac_authorization,
            "enableSoftDelete": true,
            "softDeleteRetentionInDays": 90,
            "vaultUri": format!("https://{}.{suffix}/", v.name.to_ascii_lowercase()),
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []},
        },
    })
}

pub(super) fn cluster_json(sub: &str, g: &ResourceGroupConfig, c: &ManagedClusterConfig) -> Value {
    json!({
        "id": format!("/subscriptions/{sub}/resourcegroups/{}/providers/Microsoft.ContainerService/managedClusters/{}", g.name, c.name),
        "name": c.name,
        "type": "Microsoft.ContainerService/ManagedClusters",
        "location": c.location.clone().unwrap_or_else(|| g.location.clone()),
        "properties": {
            "provisioningState": "Succeeded",
            "powerState": {"code": "Running"},
            "oidcIssuerProfile": {"enabled": true, "issuerURL": c.issuer_url},
            "securityProfile": {"workloadIdentity": {"enabled": true}},
        },
    })
}

pub(super) async fn vault(request: &ArmRequest<'_>, sub: &str, group: &str, name: &str) -> Result<Response, ArmError> {
    let scope = format!(
        "{}/providers/Microsoft.KeyVault/vaults/{name}",
        ops::group_id(sub, group)
    );
    match *request.method {
        Method::GET => {
            request.authorize("Microsoft.KeyVault/vaults/read", &scope).await?;
            let body = request
                .read(|c| {
                    ops::vault(c, sub, group, name).map(|(v, p)| vault_json(v, &p, &request.state.vault_dns_suffix))
                })
                .await?;
            Ok(answer(200, &body))
        }
        Method::PUT => {
            request.authorize("Microsoft.KeyVault/vaults/write", &scope).await?;
            let body = request.json()?;
            // Who reads the vault's data, when the body says; an update that leaves them out
            // keeps the vault's (a tags-only PUT changes no permission model).
            let policies: Option<Vec<AccessPolicyConfig>> = match body.pointer("/properties/accessPolicies") {
                None | Some(Value::Null) => None,
                Some(p) => serde_json::from_value(p.clone()).map(Some).map_err(|e| {
                    arm_error(
                        400,
                        "BadRequest",
                        format!("The request content was invalid: accessPolicies: {e}."),
                    )
                })?,
            };
            let rbac = body
                .pointer("/properties/enableRbacAuthorization")
                .and_then(Value::as_bool);
            let mut input = KeyVaultConfig {
                name: name.to_owned(),
                location: text_of(&body, "/location").unwrap_or_default().to_owned(),
                enable_rbac_authorization: rbac.unwrap_or(true),
                access_policies: policies.clone().unwrap_or_default(),
                sku: text_of(&body, "/properties/sku/name").unwrap_or("standard").to_owned(),
                tags: tags_of(&body)?.unwrap_or_default(),
                secrets: Default::default(),
            };
            if input.location.is_empty() {
                return Err(arm_error(
                    400,
                    "LocationRequired",
                    "The location property is required for this definition.",
                ));
            }
            // Decided on the state being changed, under the commit's lock.
            let (stored, place, created) = request
                .change(|c| {
                    if let Ok((existing, _)) = ops::vault(c, sub, group, name) {
                        input.enable_rbac_authorization = rbac.unwrap_or(existing.enable_rbac_authorization);
                        input.access_policies = policies.unwrap_or_else(|| existing.access_policies.clone());
                    }
                    guard_data_access(c, &request.caller, &scope, sub, group, &input)?;
                    ops::put_vault(c, sub, group, input)
                })
                .await?;
            Ok(answer(
                if created { 201 } else { 200 },
                &vault_json(&stored, &place, &request.state.vault_dns_suffix),
            ))
        }
        Method::DELETE => {
            request.authorize("Microsoft.KeyVault/vaults/delete", &scope).await?;
            let existed = request.change(|c| ops::delete_vault(c, sub, group, name)).await?;
            Ok(answer(if existed { 200 } else { 204 }, &Value::Null).map(|_| axum::body::Body::empty()))
        }
        _ => Err(method_not_allowed(request)),
    }
}

/// What grants the right to give data access: changing a vault's permission model (RBAC or
/// access policies), or its access policies, decides who reads its secrets, so it needs
/// `Microsoft.Authorization/roleAssignments/write` as Azure requires for the model; without
/// it a Contributor could flip a vault to access policies and grant itself every secret.
pub(super) const GRANTS_DATA_ACCESS: &str = "Microsoft.Authorization/roleAssignments/write";

/// Refuses an update of an existing vault that changes who may read its data (its permission
/// model, or its access policies) unless `caller` may assign roles at the vault (Azure's
/// `InsufficientPermissions`). A new vault is its creator's to set up.
fn guard_data_access(
    config: &AzureConfig,
    caller: &Caller,
    scope: &str,
    sub: &str,
    group: &str,
    input: &KeyVaultConfig,
) -> Result<(), ArmError> {
    let Ok((existing, _)) = ops::vault(config, sub, group, &input.name) else {
        return Ok(());
    };
    let model = existing.enable_rbac_authorization != input.enable_rbac_authorization;
    let policies = existing.access_policies != input.access_policies;
    if !(model || policies) || authorize(config, caller, GRANTS_DATA_ACCESS, scope).is_ok() {
        return Ok(());
    }
    let what = if model {
        "Caller is not allowed to change permission model. For more information on how to change the permissions model follow this link: https://go.microsoft.com/fwlink/?linkid=2155160."
    } else {
        "Caller is not allowed to change access policies: they grant access to the vault's data, which takes the right to assign roles here (the local plane is stricter than Azure, where vaults/write sufficed)."
    };
    Err(arm_error(
        403,
        "InsufficientPermissions",
        format!(
            "{what} Details: oid={}; action={GRANTS_DATA_ACCESS}; resource={}; decision=NotAllowed;",
            caller.object_id,
            scope.to_ascii_lowercase()
        ),
    ))
}
