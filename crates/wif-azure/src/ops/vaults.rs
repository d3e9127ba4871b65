//! Key vaults (names global, secrets kept across PUTs) and the managed clusters that stand
//! for the local cluster.

use super::error::{ArmError, arm_error};
use super::groups::*;
use crate::config::{
    AzureConfig, KeyVaultConfig, ManagedClusterConfig, ResourceGroupConfig, VaultPlace, valid_vault_name,
};
use crate::rbac::Scope;

/// The managed cluster `name`.
pub fn cluster<'c>(
    config: &'c AzureConfig,
    sub: &str,
    group_name: &str,
    name: &str,
) -> Result<(&'c ManagedClusterConfig, &'c ResourceGroupConfig), ArmError> {
    let rg = group(config, sub, group_name)?;
    rg.managed_clusters
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .map(|c| (c, rg))
        .ok_or_else(|| {
            arm_error(
                404,
                "ResourceNotFound",
                format!(
                    "The Resource 'Microsoft.ContainerService/managedClusters/{name}' under resource group '{group_name}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
                ),
            )
        })
}

/// The vault `name`, wherever it is (vault names are global), with its place.
pub fn find_vault<'c>(config: &'c AzureConfig, name: &str) -> Option<(&'c KeyVaultConfig, VaultPlace)> {
    config.subscriptions.iter().find_map(|s| {
        s.resource_groups.iter().find_map(|g| {
            g.key_vaults
                .iter()
                .find(|v| v.name.eq_ignore_ascii_case(name))
                .map(|v| {
                    (
                        v,
                        VaultPlace {
                            subscription_id: s.subscription_id.clone(),
                            resource_group: g.name.clone(),
                            tenant_id: s.tenant_id.clone(),
                        },
                    )
                })
        })
    })
}

/// The vault `name`, mutable.
pub fn find_vault_mut<'c>(config: &'c mut AzureConfig, name: &str) -> Option<&'c mut KeyVaultConfig> {
    config
        .subscriptions
        .iter_mut()
        .flat_map(|s| s.resource_groups.iter_mut())
        .flat_map(|g| g.key_vaults.iter_mut())
        .find(|v| v.name.eq_ignore_ascii_case(name))
}

fn vault_not_found(name: &str, group_name: &str) -> ArmError {
    arm_error(
        404,
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.KeyVault/vaults/{name}' under resource group '{group_name}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// The vault `name` of group `group_name`.
pub fn vault<'c>(
    config: &'c AzureConfig,
    sub: &str,
    group_name: &str,
    name: &str,
) -> Result<(&'c KeyVaultConfig, VaultPlace), ArmError> {
    let rg = group(config, sub, group_name)?;
    match find_vault(config, name) {
        Some((vault, place)) if place.subscription_id.eq_ignore_ascii_case(sub) && place.resource_group == rg.name => {
            Ok((vault, place))
        }
        _ => Err(vault_not_found(name, group_name)),
    }
}

/// Creates or updates a vault (secrets are kept across PUTs). A name another group already
/// holds is a conflict: vault names are global.
pub fn put_vault(
    config: &mut AzureConfig,
    sub: &str,
    group_name: &str,
    mut input: KeyVaultConfig,
) -> Result<(KeyVaultConfig, VaultPlace, bool), ArmError> {
    if !valid_vault_name(&input.name) {
        return Err(arm_error(
            400,
            "VaultNameNotValid",
            format!(
                "The vault name '{}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.",
                input.name
            ),
        ));
    }
    let rg_name = group(config, sub, group_name)?.name.clone();
    input.location = normalized_location(&input.location);
    if let Some((_, place)) = find_vault(config, &input.name)
        && !(place.subscription_id.eq_ignore_ascii_case(sub) && place.resource_group == rg_name)
    {
        return Err(arm_error(
            409,
            "VaultAlreadyExists",
            format!(
                "The vault name '{}' is already in use. Vault names are globally unique so it is possible that the name is already taken.",
                input.name
            ),
        ));
    }
    let rg = group_mut(config, sub, group_name)?;
    let created = match rg
        .key_vaults
        .iter_mut()
        .find(|v| v.name.eq_ignore_ascii_case(&input.name))
    {
        Some(existing) => {
            input.name.clone_from(&existing.name);
            input.secrets = std::mem::take(&mut existing.secrets);
            *existing = input.clone();
            false
        }
        None => {
            rg.key_vaults.push(input.clone());
            true
        }
    };
    let place = find_vault(config, &input.name)
        .map(|(_, p)| p)
        .ok_or_else(|| vault_not_found(&input.name, group_name))?;
    Ok((input, place, created))
}

/// Deletes a vault; whether it existed.
pub fn delete_vault(config: &mut AzureConfig, sub: &str, group_name: &str, name: &str) -> Result<bool, ArmError> {
    let id = match vault(config, sub, group_name, name) {
        Ok((v, place)) => Scope::new(&place.vault_id(&v.name)),
        Err(e) if e.code == "ResourceNotFound" => return Ok(false),
        Err(e) => return Err(e),
    };
    group_mut(config, sub, group_name)?
        .key_vaults
        .retain(|v| !v.name.eq_ignore_ascii_case(name));
    config.role_assignments.retain(|a| !id.covers(&Scope::new(&a.scope)));
    Ok(true)
}
