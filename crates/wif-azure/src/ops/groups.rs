//! Subscriptions and resource groups: finding them, creating and updating a group (ARM keeps
//! its location), deleting one with everything in it, and the ARM ids of groups and identities.

use std::collections::BTreeMap;

use crate::config::{AzureConfig, ResourceGroupConfig, SubscriptionConfig, valid_group_name};

use crate::rbac::Scope;

use super::error::{ArmError, arm_error, invalid_name};

/// The subscription `id`.
pub fn subscription<'c>(config: &'c AzureConfig, id: &str) -> Result<&'c SubscriptionConfig, ArmError> {
    config
        .subscriptions
        .iter()
        .find(|s| s.subscription_id.eq_ignore_ascii_case(id))
        .ok_or_else(|| {
            arm_error(
                404,
                "SubscriptionNotFound",
                format!("The subscription '{id}' could not be found."),
            )
        })
}

pub(crate) fn subscription_mut<'c>(
    config: &'c mut AzureConfig,
    id: &str,
) -> Result<&'c mut SubscriptionConfig, ArmError> {
    subscription(config, id)?;
    config
        .subscriptions
        .iter_mut()
        .find(|s| s.subscription_id.eq_ignore_ascii_case(id))
        .ok_or_else(|| arm_error(404, "SubscriptionNotFound", id.to_owned()))
}

fn group_not_found(name: &str) -> ArmError {
    arm_error(
        404,
        "ResourceGroupNotFound",
        format!("Resource group '{name}' could not be found."),
    )
}

/// The resource group `name` of subscription `sub`.
pub fn group<'c>(config: &'c AzureConfig, sub: &str, name: &str) -> Result<&'c ResourceGroupConfig, ArmError> {
    subscription(config, sub)?
        .resource_groups
        .iter()
        .find(|g| g.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| group_not_found(name))
}

pub(crate) fn group_mut<'c>(
    config: &'c mut AzureConfig,
    sub: &str,
    name: &str,
) -> Result<&'c mut ResourceGroupConfig, ArmError> {
    subscription_mut(config, sub)?
        .resource_groups
        .iter_mut()
        .find(|g| g.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| group_not_found(name))
}

/// Creates or updates a resource group. ARM keeps a group's location: a different one is a
/// conflict. Returns the group and whether it was created.
pub fn put_group(
    config: &mut AzureConfig,
    sub: &str,
    name: &str,
    location: &str,
    tags: Option<BTreeMap<String, String>>,
) -> Result<(ResourceGroupConfig, bool), ArmError> {
    if !valid_group_name(name) {
        return Err(invalid_name("resource group", name));
    }
    if location.trim().is_empty() {
        return Err(arm_error(
            400,
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    }
    let subscription = subscription_mut(config, sub)?;
    if let Some(existing) = subscription
        .resource_groups
        .iter_mut()
        .find(|g| g.name.eq_ignore_ascii_case(name))
    {
        if !same_location(&existing.location, location) {
            return Err(arm_error(
                409,
                "InvalidResourceGroupLocation",
                format!(
                    "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                    existing.location
                ),
            ));
        }
        if let Some(tags) = tags {
            existing.tags = tags;
        }
        return Ok((existing.clone(), false));
    }
    let created = ResourceGroupConfig {
        name: name.to_owned(),
        location: normalized_location(location),
        tags: tags.unwrap_or_default(),
        ..ResourceGroupConfig::default()
    };
    subscription.resource_groups.push(created.clone());
    Ok((created, true))
}

/// ARM's location names: lower case, no spaces (`East US` is `eastus`).
pub fn normalized_location(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn same_location(a: &str, b: &str) -> bool {
    normalized_location(a) == normalized_location(b)
}

/// Deletes a resource group and everything in it: its identities (so they stop getting
/// tokens), vaults, storage accounts, clusters and the role assignments at or below it.
pub fn delete_group(config: &mut AzureConfig, sub: &str, name: &str) -> Result<(), ArmError> {
    let scope = Scope::new(&group_id(sub, &group(config, sub, name)?.name));
    subscription_mut(config, sub)?
        .resource_groups
        .retain(|g| !g.name.eq_ignore_ascii_case(name));
    for tenant in &mut config.tenants {
        tenant.user_assigned_identities.retain(|mi| {
            !mi.resource_id
                .as_deref()
                .is_some_and(|id| scope.covers(&Scope::new(id)))
        });
    }
    config.role_assignments.retain(|a| !scope.covers(&Scope::new(&a.scope)));
    Ok(())
}

/// A group's ARM id.
pub fn group_id(sub: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{name}")
}

/// A user-assigned identity's ARM id, spelled as Azure returns it.
pub fn identity_id(sub: &str, group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourcegroups/{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )
}
