//! The local Azure plane's own rules, checked on every file read and every change before it
//! is kept: subscriptions name tenants of the directory and are listed once, their caller
//! roles and assignments' roles are built-in roles, their groups' names are valid and unique,
//! and storage accounts' names are valid and unique across every subscription.
//! (The directory's rules are `wif_sts`'s.)

use wif_core::mutation::is_guid;

use super::{AzureConfig, valid_group_name, valid_storage_account_name};
use crate::rbac;

/// An Azure entry the plane refuses: where, and which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct AzureConfigError {
    /// Which entry (`subscriptions[0]`, `roleAssignments[2]`).
    pub location: String,
    /// What is wrong.
    pub problem: AzureProblem,
}

/// The rule an Azure entry breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AzureProblem {
    /// A subscription id that is not a GUID.
    #[error("subscriptionId {0:?} is not a GUID")]
    SubscriptionIdNotGuid(String),
    /// A subscription of no tenant of the directory.
    #[error("tenantId {0} is none of the tenants")]
    UnknownTenant(String),
    /// A subscription listed twice.
    #[error("subscription {0} is listed twice")]
    SubscriptionTwice(String),
    /// A caller role that is no built-in role.
    #[error("callerRole {0:?} is no built-in role (or None)")]
    CallerRole(String),
    /// A resource group name that is invalid or used twice in its subscription.
    #[error("name {0:?} is invalid or used twice")]
    GroupName(String),
    /// A storage account name that breaks Azure's rule (3–24 lowercase letters and digits).
    #[error("storage account name {0:?} is invalid: 3-24 characters, lowercase letters and digits only")]
    StorageAccountName(String),
    /// A storage account name another account already holds (names are global).
    #[error("storage account name {0:?} is used twice (names are global across subscriptions)")]
    StorageAccountTwice(String),
    /// A seeded container or blob whose name Storage refuses.
    #[error("{0}")]
    SeedName(String),
    /// An assignment of a role that is no built-in role.
    #[error("roleDefinitionId {0:?} is no built-in role")]
    RoleDefinition(String),
}

fn refused(location: String, problem: AzureProblem) -> AzureConfigError {
    AzureConfigError { location, problem }
}

/// Checks the Azure part of `config` against the plane's rules.
pub fn check(config: &AzureConfig) -> Result<(), AzureConfigError> {
    for (i, s) in config.subscriptions.iter().enumerate() {
        let at = format!("subscriptions[{i}]");
        if !is_guid(&s.subscription_id) {
            return Err(refused(
                at,
                AzureProblem::SubscriptionIdNotGuid(s.subscription_id.clone()),
            ));
        }
        if !config
            .tenants
            .iter()
            .any(|t| t.tenant_id.eq_ignore_ascii_case(&s.tenant_id))
        {
            return Err(refused(at, AzureProblem::UnknownTenant(s.tenant_id.clone())));
        }
        if config.subscriptions[..i]
            .iter()
            .any(|o| o.subscription_id.eq_ignore_ascii_case(&s.subscription_id))
        {
            return Err(refused(at, AzureProblem::SubscriptionTwice(s.subscription_id.clone())));
        }
        if let Some(role) = &s.caller_role
            && !role.eq_ignore_ascii_case("none")
            && rbac::role_by_name(role).is_none()
        {
            return Err(refused(at, AzureProblem::CallerRole(role.clone())));
        }
        for (gi, g) in s.resource_groups.iter().enumerate() {
            if !valid_group_name(&g.name)
                || s.resource_groups[..gi]
                    .iter()
                    .any(|o| o.name.eq_ignore_ascii_case(&g.name))
            {
                return Err(refused(
                    format!("{at}.resourceGroups[{gi}]"),
                    AzureProblem::GroupName(g.name.clone()),
                ));
            }
        }
    }
    check_storage_accounts(config)?;
    for (i, a) in config.role_assignments.iter().enumerate() {
        if rbac::role_by_id(&a.role_definition_id).is_none() {
            return Err(refused(
                format!("roleAssignments[{i}]"),
                AzureProblem::RoleDefinition(a.role_definition_id.clone()),
            ));
        }
    }
    Ok(())
}

/// Storage account names: valid, and each held by one account across every subscription (ARM
/// refuses a second with `StorageAccountAlreadyTaken`, so a file must not hold one either).
fn check_storage_accounts(config: &AzureConfig) -> Result<(), AzureConfigError> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in config.subscriptions.iter().enumerate() {
        for (gi, g) in s.resource_groups.iter().enumerate() {
            for (ai, a) in g.storage_accounts.iter().enumerate() {
                let at = format!("subscriptions[{i}].resourceGroups[{gi}].storageAccounts[{ai}]");
                if !valid_storage_account_name(&a.name) {
                    return Err(refused(at, AzureProblem::StorageAccountName(a.name.clone())));
                }
                if !seen.insert(a.name.as_str()) {
                    return Err(refused(at, AzureProblem::StorageAccountTwice(a.name.clone())));
                }
                for (ci, c) in a.containers.iter().enumerate() {
                    let at = format!("{at}.containers[{ci}]");
                    let names = std::iter::once(crate::storage::names::check_container(&c.name))
                        .chain(c.blobs.iter().map(|b| crate::storage::names::check_blob(&b.name)));
                    for result in names {
                        if let Err(refusal) = result {
                            return Err(refused(at, AzureProblem::SeedName(refusal.body_reason())));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
