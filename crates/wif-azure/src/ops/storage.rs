//! Storage accounts (issue 27's ARM side): names global across every subscription, as Azure's
//! are; a PUT creates or updates, a PATCH changes tags, SKU and the access flags, a delete takes
//! the account's role assignments with it; and `checkNameAvailability`'s answer. Account keys
//! do not exist here: [`keys_refused`] is the one answer to every key or SAS request.

use std::collections::BTreeMap;

use super::error::{ArmError, arm_error};
use super::groups::*;
use crate::config::{AccountPlace, AzureConfig, StorageAccountConfig, valid_storage_account_name};
use crate::rbac::Scope;

/// The storage account `name`, wherever it is (names are global), with its place.
pub fn find_storage_account<'c>(
    config: &'c AzureConfig,
    name: &str,
) -> Option<(&'c StorageAccountConfig, AccountPlace)> {
    config.subscriptions.iter().find_map(|s| {
        s.resource_groups.iter().find_map(|g| {
            g.storage_accounts
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
                .map(|a| {
                    (
                        a,
                        AccountPlace {
                            subscription_id: s.subscription_id.clone(),
                            resource_group: g.name.clone(),
                            tenant_id: s.tenant_id.clone(),
                        },
                    )
                })
        })
    })
}

fn account_not_found(name: &str, group_name: &str) -> ArmError {
    arm_error(
        404,
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.Storage/storageAccounts/{name}' under resource group '{group_name}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// The storage account `name` of group `group_name`.
pub fn storage_account<'c>(
    config: &'c AzureConfig,
    sub: &str,
    group_name: &str,
    name: &str,
) -> Result<(&'c StorageAccountConfig, AccountPlace), ArmError> {
    let rg = group(config, sub, group_name)?;
    match find_storage_account(config, name) {
        Some((account, place))
            if place.subscription_id.eq_ignore_ascii_case(sub) && place.resource_group == rg.name =>
        {
            Ok((account, place))
        }
        _ => Err(account_not_found(name, group_name)),
    }
}

/// The accounts of a subscription, or of one of its groups, with their places.
pub fn storage_accounts<'c>(
    config: &'c AzureConfig,
    sub: &str,
    group_name: Option<&str>,
) -> Result<Vec<(&'c StorageAccountConfig, AccountPlace)>, ArmError> {
    let subscription = subscription(config, sub)?;
    if let Some(name) = group_name {
        group(config, sub, name)?;
    }
    Ok(subscription
        .resource_groups
        .iter()
        .filter(|g| group_name.is_none_or(|n| g.name.eq_ignore_ascii_case(n)))
        .flat_map(|g| {
            g.storage_accounts.iter().map(|a| {
                (
                    a,
                    AccountPlace {
                        subscription_id: subscription.subscription_id.clone(),
                        resource_group: g.name.clone(),
                        tenant_id: subscription.tenant_id.clone(),
                    },
                )
            })
        })
        .collect())
}

/// Azure's words for a name that breaks the rule (`AccountNameInvalid`, in ARM's refusal and in
/// `checkNameAvailability`'s answer alike).
fn invalid_name_message(name: &str) -> String {
    format!(
        "{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."
    )
}

fn taken_message(name: &str) -> String {
    format!("The storage account named {name} is already taken.")
}

/// What changes on an existing account: each field when given (a PATCH, or a PUT's optional
/// parts), the stored value when not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChange {
    /// `tags`, replacing the account's.
    pub tags: Option<BTreeMap<String, String>>,
    /// `sku.name`.
    pub sku: Option<String>,
    /// `kind`.
    pub kind: Option<String>,
    /// `properties.allowSharedKeyAccess`.
    pub allow_shared_key_access: Option<bool>,
    /// `properties.allowBlobPublicAccess`.
    pub allow_blob_public_access: Option<bool>,
    /// `properties.minimumTlsVersion`.
    pub minimum_tls_version: Option<String>,
}

impl AccountChange {
    fn apply(self, account: &mut StorageAccountConfig) {
        if let Some(tags) = self.tags {
            account.tags = tags;
        }
        if let Some(sku) = self.sku {
            account.sku = sku;
        }
        if let Some(kind) = self.kind {
            account.kind = kind;
        }
        if let Some(allowed) = self.allow_shared_key_access {
            account.allow_shared_key_access = Some(allowed);
        }
        if let Some(allowed) = self.allow_blob_public_access {
            account.allow_blob_public_access = Some(allowed);
        }
        if let Some(version) = self.minimum_tls_version {
            account.minimum_tls_version = Some(version);
        }
    }
}

/// Creates an account of `name` at `location` with `change` applied, or updates the group's
/// account of that name (a second `az storage account create` is an update, in Azure too: the
/// optional parts the body leaves out are kept). A name another group or subscription holds is
/// `StorageAccountAlreadyTaken`; moving an account is ARM's `InvalidResourceLocation`.
pub fn put_storage_account(
    config: &mut AzureConfig,
    sub: &str,
    group_name: &str,
    name: &str,
    location: &str,
    change: AccountChange,
) -> Result<(StorageAccountConfig, AccountPlace, bool), ArmError> {
    if !valid_storage_account_name(name) {
        return Err(arm_error(400, "AccountNameInvalid", invalid_name_message(name)));
    }
    let rg_name = group(config, sub, group_name)?.name.clone();
    if location.trim().is_empty() {
        return Err(arm_error(
            400,
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    }
    let location = normalized_location(location);
    if let Some((_, place)) = find_storage_account(config, name)
        && !(place.subscription_id.eq_ignore_ascii_case(sub) && place.resource_group == rg_name)
    {
        return Err(arm_error(409, "StorageAccountAlreadyTaken", taken_message(name)));
    }
    let rg = group_mut(config, sub, group_name)?;
    let created = match rg.storage_accounts.iter_mut().find(|a| a.name == name) {
        Some(existing) => {
            if existing.location != location {
                return Err(arm_error(
                    409,
                    "InvalidResourceLocation",
                    format!(
                        "The resource '{name}' already exists in location '{}' in resource group '{rg_name}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.",
                        existing.location
                    ),
                ));
            }
            change.apply(existing);
            false
        }
        None => {
            let mut account = StorageAccountConfig::new(name, &location);
            change.apply(&mut account);
            rg.storage_accounts.push(account);
            true
        }
    };
    let (account, place) = storage_account(config, sub, group_name, name)?;
    Ok((account.clone(), place, created))
}

/// Applies `change` to the group's account `name` (ARM's PATCH).
pub fn patch_storage_account(
    config: &mut AzureConfig,
    sub: &str,
    group_name: &str,
    name: &str,
    change: AccountChange,
) -> Result<(StorageAccountConfig, AccountPlace), ArmError> {
    storage_account(config, sub, group_name, name)?;
    let account = group_mut(config, sub, group_name)?
        .storage_accounts
        .iter_mut()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| account_not_found(name, group_name))?;
    change.apply(account);
    let (account, place) = storage_account(config, sub, group_name, name)?;
    Ok((account.clone(), place))
}

/// Deletes an account and the role assignments at or below it; whether it existed.
pub fn delete_storage_account(
    config: &mut AzureConfig,
    sub: &str,
    group_name: &str,
    name: &str,
) -> Result<bool, ArmError> {
    let id = match storage_account(config, sub, group_name, name) {
        Ok((a, place)) => Scope::new(&place.account_id(&a.name)),
        Err(e) if e.code == "ResourceNotFound" => return Ok(false),
        Err(e) => return Err(e),
    };
    group_mut(config, sub, group_name)?
        .storage_accounts
        .retain(|a| !a.name.eq_ignore_ascii_case(name));
    config.role_assignments.retain(|a| !id.covers(&Scope::new(&a.scope)));
    Ok(true)
}

/// `checkNameAvailability`'s answer: available, or why not (`reason` and `message` as Azure
/// sends them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAvailability {
    /// `nameAvailable`.
    pub available: bool,
    /// `AccountNameInvalid` or `AlreadyExists`.
    pub reason: Option<&'static str>,
    /// Azure's message for the reason.
    pub message: Option<String>,
}

/// Whether `name` could be a new account's, anywhere (names are global).
pub fn storage_name_availability(config: &AzureConfig, name: &str) -> NameAvailability {
    let (reason, message) = if !valid_storage_account_name(name) {
        ("AccountNameInvalid", invalid_name_message(name))
    } else if find_storage_account(config, name).is_some() {
        ("AlreadyExists", taken_message(name))
    } else {
        return NameAvailability {
            available: true,
            reason: None,
            message: None,
        };
    };
    NameAvailability {
        available: false,
        reason: Some(reason),
        message: Some(message),
    }
}

/// The answer to every request for an account's keys or a key-signed SAS: the local plane
/// serves Microsoft Entra authorization only, so its accounts have no keys to give.
pub fn keys_refused(name: &str) -> ArmError {
    arm_error(
        409,
        "KeyBasedAuthenticationNotPermitted",
        format!(
            "Key based authentication is not permitted on storage account '{name}': the local Azure plane serves Microsoft Entra authorization only, so its accounts have no keys. Assign a data role (for example Storage Blob Data Contributor) and use --auth-mode login (a token credential in the SDKs)."
        ),
    )
}
