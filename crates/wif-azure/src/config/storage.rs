//! Storage accounts as the state keeps them (issue 27's ARM side): what ARM's
//! `Microsoft.Storage/storageAccounts` serves and the blob data plane will read. Names are
//! global across every subscription, as Azure's are (they are DNS labels under the storage
//! suffix). The account's containers and blobs are not modelled yet.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A storage account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageAccountConfig {
    /// Its name: 3–24 lowercase letters and digits, globally unique.
    pub name: String,
    /// Its location.
    pub location: String,
    /// `StorageV2` (the default), `Storage`, `BlobStorage`, `BlockBlobStorage`, `FileStorage`.
    #[serde(default = "storage_v2")]
    pub kind: String,
    /// `sku.name`: `Standard_LRS` (the default), `Standard_GRS`, `Premium_LRS`...
    #[serde(default = "standard_lrs")]
    pub sku: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// `allowSharedKeyAccess` as the client set it (absent: Azure's null, i.e. allowed). The
    /// local plane has no account keys whatever it says: only Entra authorization is served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_shared_key_access: Option<bool>,
    /// `allowBlobPublicAccess` as the client set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_blob_public_access: Option<bool>,
    /// `minimumTlsVersion` (`TLS1_0`, `TLS1_1`, `TLS1_2`) as the client set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_tls_version: Option<String>,
    /// Blobs the account starts with, as a vault starts with its `secrets:`: served from the
    /// first request on (unless the state file already holds the account's blobs); from then on
    /// the blob plane's changes are the account's. Kept across ARM's PUTs and PATCHes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<SeedContainer>,
}

/// A container an account starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedContainer {
    /// Its name (Storage's container rules).
    pub name: String,
    /// Its blobs.
    #[serde(default)]
    pub blobs: Vec<SeedBlob>,
}

/// A blob an account starts with: text content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedBlob {
    /// Its name (Storage's blob rules).
    pub name: String,
    /// Its content, as text.
    pub content: String,
    /// `Content-Type` (`application/octet-stream` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

fn storage_v2() -> String {
    "StorageV2".into()
}

fn standard_lrs() -> String {
    "Standard_LRS".into()
}

impl StorageAccountConfig {
    /// An account of Azure's defaults (`StorageV2`, `Standard_LRS`, no flags set).
    pub fn new(name: &str, location: &str) -> Self {
        StorageAccountConfig {
            name: name.to_owned(),
            location: location.to_owned(),
            kind: storage_v2(),
            sku: standard_lrs(),
            tags: BTreeMap::new(),
            allow_shared_key_access: None,
            allow_blob_public_access: None,
            minimum_tls_version: None,
            containers: Vec::new(),
        }
    }
}

/// Where a storage account sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPlace {
    /// Subscription id.
    pub subscription_id: String,
    /// The resource group's name as stored.
    pub resource_group: String,
    /// The subscription's tenant.
    pub tenant_id: String,
}

impl AccountPlace {
    /// The account's ARM id.
    pub fn account_id(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{name}",
            self.subscription_id, self.resource_group
        )
    }
}
