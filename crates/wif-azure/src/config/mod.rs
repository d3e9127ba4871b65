//! The local Azure plane's state model and its file ([`AzureConfig`]): the directory's tenants
//! (Entra's part, `wif_sts`'s types), the subscriptions of those tenants with their resource
//! groups, the key vaults (with their secrets), storage accounts and managed clusters in
//! them, and role assignments at any scope. One file holds everything, so the token endpoint reads the
//! identities ARM creates (they live in their tenant's `userAssignedIdentities`, placed by
//! their `resourceId`). Pure: [`crate::ops`] changes it, [`check`] holds its rules, the
//! surfaces ([`crate::arm`], [`crate::graph`], [`crate::vault`]) are HTTP shells around it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wif_sts::directory::{DirectoryConfig, IssuerConfig, TenantConfig};

use crate::keyvault::VaultSecrets;
use crate::rbac::{Assignment, Scope};

pub mod check;
mod names;
mod storage;

pub use names::{valid_group_name, valid_resource_name, valid_storage_account_name, valid_vault_name};
pub use storage::{AccountPlace, SeedBlob, SeedContainer, StorageAccountConfig};

/// The emulator's whole file (`wif sts --config`, `wif up`'s state file): the directory's
/// fields (those of [`DirectoryConfig`], which the token endpoint reads) and the local Azure
/// plane's. Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureConfig {
    /// Tenants, with their applications and managed identities.
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// How to reach each issuer.
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
    /// Lifetime of tokens issued to applications (Entra: about an hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_seconds: Option<i64>,
    /// Subscriptions with their resource groups, vaults and clusters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<SubscriptionConfig>,
    /// Role assignments at any scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_assignments: Vec<RoleAssignmentConfig>,
    /// The Key Vault DNS suffix (`vault.wif.test` when absent): vault `V` is `V.<suffix>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_vault_dns_suffix: Option<String>,
    /// The storage endpoint suffix (`storage.wif.test` when absent): account `A`'s blob
    /// endpoint is `https://A.blob.<suffix>/`, as Azure's is under `core.windows.net`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_endpoint_suffix: Option<String>,
}

impl AzureConfig {
    /// The directory's part, what the token endpoint serves.
    pub fn directory(&self) -> DirectoryConfig {
        DirectoryConfig {
            tenants: self.tenants.clone(),
            issuers: self.issuers.clone(),
            token_lifetime_seconds: self.token_lifetime_seconds,
        }
    }

    /// A file holding `directory` and no Azure resources yet.
    pub fn from_directory(directory: DirectoryConfig) -> Self {
        AzureConfig {
            tenants: directory.tenants,
            issuers: directory.issuers,
            token_lifetime_seconds: directory.token_lifetime_seconds,
            ..AzureConfig::default()
        }
    }

    /// The Key Vault DNS suffix, without a leading dot.
    pub fn vault_dns_suffix(&self) -> String {
        self.key_vault_dns_suffix
            .as_deref()
            .unwrap_or(DEFAULT_VAULT_DNS_SUFFIX)
            .trim_start_matches('.')
            .to_owned()
    }

    /// The storage endpoint suffix, without a leading dot.
    pub fn storage_endpoint_suffix(&self) -> String {
        self.storage_endpoint_suffix
            .as_deref()
            .unwrap_or(DEFAULT_STORAGE_ENDPOINT_SUFFIX)
            .trim_start_matches('.')
            .to_owned()
    }
}

/// The Key Vault DNS suffix when the config names none: a reserved TLD (RFC 6761), so a client
/// that does not go through the emulator's CONNECT proxy fails to resolve instead of reaching
/// anything real.
pub const DEFAULT_VAULT_DNS_SUFFIX: &str = "vault.wif.test";

/// The storage endpoint suffix when the config names none: a reserved TLD (RFC 6761) for the
/// same reason as the vault's, so an account's endpoints never name a real host (Azure's
/// `core.windows.net` would send a client that skips the proxy to the real service).
pub const DEFAULT_STORAGE_ENDPOINT_SUFFIX: &str = "storage.wif.test";

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
    /// Storage accounts (their names global, as vaults' are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_accounts: Vec<StorageAccountConfig>,
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
