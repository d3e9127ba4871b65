//! The directory's file, in Graph's camelCase shape: tenants (GUID and optional domain), their
//! applications and user-assigned managed identities with their federated identity
//! credentials, and how to reach each issuer. Unknown keys are refused, so a typo is an error
//! and not a silently missing setting. The local Azure plane's file (`wif_azure::AzureConfig`)
//! holds these same fields and its own.

use serde::{Deserialize, Serialize};
use wif_core::fic::FederatedCredential;
pub use wif_issuer::IssuerConfig;

/// The config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectoryConfig {
    /// Tenants.
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// How to reach each issuer.
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
    /// Lifetime of tokens issued to applications (Entra: about an hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_seconds: Option<i64>,
}

/// A tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantConfig {
    /// The tenant GUID.
    pub tenant_id: String,
    /// An optional verified domain (`contoso.onmicrosoft.com`), usable in URLs instead of the GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// App registrations.
    #[serde(default)]
    pub applications: Vec<ApplicationConfig>,
    /// User-assigned managed identities.
    #[serde(default)]
    pub user_assigned_identities: Vec<ManagedIdentityConfig>,
}

/// An app registration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationConfig {
    /// Display name.
    pub display_name: String,
    /// Application (client) id.
    pub app_id: String,
    /// Object id of its service principal (`oid` in tokens); derived from the app id when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Its federated identity credentials.
    #[serde(default)]
    pub federated_identity_credentials: Vec<FederatedCredential>,
    /// Microsoft Graph application permissions granted to it with admin consent (its Graph
    /// tokens carry them as `roles`): [`GRAPH_APP_ROLES`] names those the local Graph honours.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub graph_app_roles: Vec<String>,
    /// Object ids of the service principals that own this application (Graph's
    /// `/applications/{id}/owners`): with `Application.ReadWrite.OwnedBy` they manage it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
}

/// The Microsoft Graph application permissions the local Graph decides with: reading service
/// principals and applications (`Application.Read.All`, `Directory.Read.All`), writing any
/// application (`Application.ReadWrite.All`), or only those the caller owns
/// (`Application.ReadWrite.OwnedBy`). Entra's names and meanings; a config naming another is
/// refused, so a typo is an error and not a permission silently missing.
pub const GRAPH_APP_ROLES: [&str; 5] = [
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// A user-assigned managed identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagedIdentityConfig {
    /// Resource name.
    pub name: String,
    /// Client id.
    pub client_id: String,
    /// Principal (object) id; derived from the client id when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// ARM resource id (`xms_mirid`); a placeholder under the name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Its ARM location (the resource group's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Its ARM tags.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
    /// Its federated identity credentials.
    #[serde(default)]
    pub federated_identity_credentials: Vec<FederatedCredential>,
    /// Microsoft Graph application permissions granted to it (as an app role assignment to a
    /// managed identity's service principal is made in Azure): see [`GRAPH_APP_ROLES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub graph_app_roles: Vec<String>,
}
