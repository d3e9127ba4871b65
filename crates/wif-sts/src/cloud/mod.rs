//! The local Azure plane's state model (issue 17): subscriptions of the directory's tenants,
//! their resource groups, the key vaults (with their secrets) and managed clusters in them,
//! and role assignments at any scope. It is part of the emulator's config and state file
//! ([`crate::directory::DirectoryConfig`]), next to the tenants, so one file holds everything
//! and the token endpoint reads the identities ARM creates (they live in their tenant's
//! `userAssignedIdentities`, placed by their `resourceId`). Pure: [`ops`] changes it, the
//! surfaces ([`crate::arm`], [`crate::graph`], [`crate::vault`]) are HTTP shells around it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::keyvault::VaultSecrets;
use crate::rbac::{Assignment, Scope};

pub mod ops;

/// The Key Vault DNS suffix when the config names none: a reserved TLD (RFC 6761), so a client
/// that does not go through the emulator's CONNECT proxy fails to resolve instead of reaching
/// anything real.
pub const DEFAULT_VAULT_DNS_SUFFIX: &str = "vault.wif.test";

/// The role every principal of a subscription's tenant holds at the subscription when the
/// config says nothing: the tutorials assume the caller is Owner.
pub const DEFAULT_CALLER_ROLE: &str = "Owner";

/// A subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionConfig {
    /// The subscription GUID.
    pub subscription_id: String,
    /// The tenant it belongs to (one of `tenants`).
    pub tenant_id: String,
    /// Shown by `az account list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The built-in role every application of the tenant holds at this subscription without an
    /// assignment (`Owner` when absent; `None` to require assignments for ARM calls too).
    /// Managed identities hold only what is assigned to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_role: Option<String>,
    /// Resource groups.
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroupConfig>,
}

/// A resource group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceGroupConfig {
    /// Its name (case-insensitive, as in ARM).
    pub name: String,
    /// Its location.
    pub location: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Managed clusters: what `az aks show` reads (the local cluster's issuer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_clusters: Vec<ManagedClusterConfig>,
    /// Key vaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_vaults: Vec<KeyVaultConfig>,
}

/// A managed cluster standing for the local cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagedClusterConfig {
    /// Its name.
    pub name: String,
    /// Its location (the group's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The cluster's OIDC issuer URL, served as `oidcIssuerProfile.issuerURL`.
    pub issuer_url: String,
}

/// A key vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyVaultConfig {
    /// Its name: globally unique, 3–24 characters.
    pub name: String,
    /// Its location.
    pub location: String,
    /// Azure RBAC decides data-plane access (true), or the access policies do (false).
    #[serde(default = "yes")]
    pub enable_rbac_authorization: bool,
    /// Access policies, used when RBAC authorization is off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_policies: Vec<AccessPolicyConfig>,
    /// `sku.name`: `standard` or `premium`.
    #[serde(default = "standard")]
    pub sku: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The secrets, each with its versions.
    #[serde(default, skip_serializing_if = "VaultSecrets::is_empty")]
    pub secrets: VaultSecrets,
}

fn yes() -> bool {
    true
}

fn standard() -> String {
    "standard".into()
}

/// One access policy entry: a principal and what it may do with secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicyConfig {
    /// The principal's object id.
    pub object_id: String,
    /// Its tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Permissions by kind; only `secrets` is enforced.
    #[serde(default)]
    pub permissions: AccessPolicyPermissions,
}

/// An access policy's permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicyPermissions {
    /// `get`, `list`, `set`, `delete`, `all`...
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Kept as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Kept as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
}

/// A role assignment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleAssignmentConfig {
    /// Its name (a GUID).
    pub name: String,
    /// The scope, as the client wrote it.
    pub scope: String,
    /// The role definition's id (a full id or the bare GUID).
    pub role_definition_id: String,
    /// The principal's object id.
    pub principal_id: String,
    /// `ServicePrincipal`, `User`, `Group`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<String>,
    /// When it was made (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<String>,
    /// Who made it (object id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl RoleAssignmentConfig {
    /// The assignment as RBAC evaluates it.
    pub fn assignment(&self) -> Assignment {
        Assignment {
            name: self.name.clone(),
            scope: Scope::new(&self.scope),
            role_id: self.role_definition_id.clone(),
            principal_id: self.principal_id.clone(),
        }
    }
}

/// Where a vault sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultPlace {
    /// Subscription id.
    pub subscription_id: String,
    /// The resource group's name as stored.
    pub resource_group: String,
    /// The subscription's tenant.
    pub tenant_id: String,
}

impl VaultPlace {
    /// The vault's ARM id.
    pub fn vault_id(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{name}",
            self.subscription_id, self.resource_group
        )
    }
}

/// Whether `name` is a valid vault name: 3–24 characters, letters, digits and dashes,
/// starting with a letter, ending with a letter or digit, no `--`.
pub fn valid_vault_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.contains("--")
}

/// Whether `name` is a valid resource group name (ARM's rule: 1–90 characters, letters,
/// digits, `_`, `-`, `.`, `(`, `)`, not ending in `.`).
pub fn valid_group_name(name: &str) -> bool {
    (1..=90).contains(&name.len())
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
}

/// Whether `name` is a valid name for a user-assigned identity or managed cluster (3–128
/// characters, letters, digits, `-` and `_`, starting with a letter or digit).
pub fn valid_resource_name(name: &str) -> bool {
    (3..=128).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests;
