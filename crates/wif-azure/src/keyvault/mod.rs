//! The Key Vault data plane, pure (issue 17's second piece): a vault's secrets with their
//! versions, the operations azure-cli and the SDKs send (set, get latest or by version, list,
//! delete) and the RBAC data action each needs, the 401 challenge every SDK's first request
//! gets, and Key Vault's own error bodies (spec/azure-control-plane.md §7); what one version
//! may hold and how many are kept ([`limits`]). The HTTP shell, the token check and the CONNECT
//! proxy for vault host names come with the surface.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::rbac::Scope;

pub mod limits;

pub use limits::{
    MAX_CONTENT_TYPE_CHARS, MAX_SECRET_BYTES, MAX_SECRET_TAGS, MAX_SECRET_VERSIONS, MAX_TAG_NAME_CHARS,
    MAX_TAG_VALUE_CHARS,
};

/// The RBAC data action of each secret operation (MicrosoftDocs rbac-migration table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretOperation {
    /// `GET /secrets/{name}/{version?}`.
    Get,
    /// `GET /secrets`.
    List,
    /// `PUT /secrets/{name}`.
    Set,
    /// `DELETE /secrets/{name}`.
    Delete,
}

impl SecretOperation {
    /// The data action Azure checks.
    pub fn data_action(self) -> &'static str {
        match self {
            SecretOperation::Get => "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            SecretOperation::List => "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            SecretOperation::Set => "Microsoft.KeyVault/vaults/secrets/setSecret/action",
            SecretOperation::Delete => "Microsoft.KeyVault/vaults/secrets/delete",
        }
    }
}

/// A refused secret operation, with Key Vault's status and words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyVaultError {
    /// No such secret (or version).
    #[error(
        "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
    )]
    SecretNotFound {
        /// The name (and version) asked for.
        name: String,
    },
    /// A name outside `^[0-9a-zA-Z-]{1,127}$`.
    #[error("The request URI contains an invalid name: {name}")]
    BadName {
        /// The name given.
        name: String,
    },
    /// A value over the service's 25 KiB.
    #[error("Secret value is too large: {bytes} bytes (at most 25600)")]
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// More tags than a secret carries.
    #[error("Property has invalid value: tags ({count} tags; a secret has at most 15)")]
    TooManyTags {
        /// How many were given.
        count: usize,
    },
    /// A tag name over 512 characters.
    #[error("Property has invalid value: a tag name of {chars} characters (at most 512)")]
    TagNameTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// A tag value over 512 characters.
    #[error("Property has invalid value: the value of tag '{tag}' has {chars} characters (at most 512)")]
    TagValueTooLong {
        /// The tag's name.
        tag: String,
        /// The value's length in characters.
        chars: usize,
    },
    /// A `contentType` over 255 characters.
    #[error("Property has invalid value: contentType has {chars} characters (at most 255)")]
    ContentTypeTooLong {
        /// Its length in characters.
        chars: usize,
    },
}

impl KeyVaultError {
    /// HTTP status and Key Vault's error code.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            KeyVaultError::SecretNotFound { .. } => (404, "SecretNotFound"),
            KeyVaultError::BadName { .. } => (400, "BadParameter"),
            KeyVaultError::TooLarge { .. }
            | KeyVaultError::TooManyTags { .. }
            | KeyVaultError::TagNameTooLong { .. }
            | KeyVaultError::TagValueTooLong { .. }
            | KeyVaultError::ContentTypeTooLong { .. } => (400, "BadParameter"),
        }
    }

    /// The body Key Vault answers with.
    pub fn body(&self) -> Value {
        error_body(self.status_and_code().1, &self.to_string())
    }
}

/// `{"error": {"code", "message"}}`.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// Whether `name` is a secret name the SDKs' URL pattern accepts.
pub fn valid_secret_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// One version of a secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVersion {
    /// 32 lower-case hex characters.
    pub version: String,
    /// The value.
    pub value: String,
    /// `contentType`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Tags (az always adds `file-encoding: utf-8`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Unix seconds.
    pub created: i64,
}

/// A secret: its name as first set, and its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// Its name, as first set (names compare ignoring case).
    pub name: String,
    /// Its versions, oldest first; the last is the current value.
    pub versions: Vec<SecretVersion>,
}

/// A vault's secrets; names compare case-insensitively, as Key Vault's do.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct VaultSecrets {
    secrets: BTreeMap<String, Secret>,
}

impl VaultSecrets {
    /// Whether the vault holds no secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Adds a version (`version` from the caller: the shell draws it at random) when Key Vault
    /// would take it ([`limits`]); the oldest versions beyond
    /// [`MAX_SECRET_VERSIONS`] are dropped.
    pub fn set(&mut self, name: &str, new: SecretVersion) -> Result<&SecretVersion, KeyVaultError> {
        if !valid_secret_name(name) {
            return Err(KeyVaultError::BadName { name: name.to_owned() });
        }
        check_limits(&new)?;
        let secret = self.secrets.entry(name.to_ascii_lowercase()).or_insert_with(|| Secret {
            name: name.to_owned(),
            versions: Vec::new(),
        });
        secret.versions.push(new);
        prune(&mut secret.versions);
        Ok(secret
            .versions
            .last()
            .unwrap_or_else(|| unreachable!("a version was just pushed")))
    }

    /// The latest version, or the one named (an empty version is the latest, as `GET
    /// /secrets/{name}/` asks).
    pub fn get(&self, name: &str, version: Option<&str>) -> Result<(&Secret, &SecretVersion), KeyVaultError> {
        let not_found = || KeyVaultError::SecretNotFound {
            name: match version.filter(|v| !v.is_empty()) {
                Some(v) => format!("{name}/{v}"),
                None => name.to_owned(),
            },
        };
        let secret = self.secrets.get(&name.to_ascii_lowercase()).ok_or_else(not_found)?;
        let found = match version.filter(|v| !v.is_empty()) {
            None => secret.versions.last(),
            Some(v) => secret.versions.iter().find(|s| s.version.eq_ignore_ascii_case(v)),
        };
        found.map(|v| (secret, v)).ok_or_else(not_found)
    }

    /// Every secret with its latest version, by name.
    pub fn list(&self) -> Vec<(&Secret, &SecretVersion)> {
        self.secrets
            .values()
            .filter_map(|s| s.versions.last().map(|v| (s, v)))
            .collect()
    }

    /// Deletes a secret and all its versions.
    pub fn delete(&mut self, name: &str) -> Result<Secret, KeyVaultError> {
        self.secrets
            .remove(&name.to_ascii_lowercase())
            .ok_or_else(|| KeyVaultError::SecretNotFound { name: name.to_owned() })
    }
}

/// The secret bundle the SDKs parse: `id` must be `https://{host}/secrets/{name}/{version}`.
pub fn bundle(host: &str, secret: &Secret, version: &SecretVersion, with_value: bool) -> Value {
    let mut body = json!({
        "id": format!("https://{host}/secrets/{}/{}", secret.name, version.version),
        "attributes": {
            "enabled": true,
            "created": version.created,
            "updated": version.created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        },
    });
    if with_value {
        body["value"] = json!(version.value);
    }
    if !version.tags.is_empty() {
        body["tags"] = json!(version.tags);
    }
    if let Some(content_type) = &version.content_type {
        body["contentType"] = json!(content_type);
    }
    body
}

/// The `WWW-Authenticate` of the 401 that every SDK's first, unauthenticated request gets:
/// the tenant (the workload's own, or Python refuses it) and the resource (`https://vault.azure.net`,
/// or the local suffix's), each quoted, separated by `", "` (Python splits on `,`, Go on spaces).
pub fn challenge(authority: &str, tenant: &str, resource: &str) -> String {
    format!(
        "Bearer authorization=\"{}/{tenant}\", resource=\"{resource}\"",
        authority.trim_end_matches('/')
    )
}

/// The body of that 401.
pub fn missing_token_body() -> Value {
    error_body("Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
}

/// The 401 body for a token for another audience (`found` is its `aud`).
pub fn wrong_audience_body(expected: &str, found: &str) -> Value {
    error_body(
        "Unauthorized",
        &format!("AKV10022: Invalid audience. Expected {expected}, found: {found}."),
    )
}

/// Who is refused, and what, for the 403 body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal<'a> {
    /// The caller's `appid`.
    pub app_id: &'a str,
    /// The caller's `oid`.
    pub object_id: &'a str,
    /// The caller's `tid`.
    pub tenant_id: &'a str,
    /// The data action that was not allowed.
    pub action: &'a str,
    /// The secret's resource id.
    pub resource: &'a Scope,
    /// The vault's name.
    pub vault: &'a str,
    /// The vault's location.
    pub location: &'a str,
}

/// Key Vault's 403 when no role assignment grants the action, in Azure's words.
pub fn forbidden_by_rbac_body(refusal: &Refusal<'_>) -> Value {
    let message = format!(
        "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid={};oid={};iss=https://sts.windows.net/{}/\r\nAction: '{}'\r\nResource: '{}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: {};location={}\r\n",
        refusal.app_id,
        refusal.object_id,
        refusal.tenant_id,
        refusal.action,
        refusal.resource.as_str(),
        refusal.vault,
        refusal.location
    );
    json!({"error": {"code": "Forbidden", "message": message, "innererror": {"code": "ForbiddenByRbac"}}})
}

/// Refuses a version Key Vault would refuse: its value, content type or tags over the limits.
fn check_limits(version: &SecretVersion) -> Result<(), KeyVaultError> {
    if version.value.len() > MAX_SECRET_BYTES {
        return Err(KeyVaultError::TooLarge {
            bytes: version.value.len(),
        });
    }
    if let Some(content_type) = &version.content_type {
        let chars = content_type.chars().count();
        if chars > MAX_CONTENT_TYPE_CHARS {
            return Err(KeyVaultError::ContentTypeTooLong { chars });
        }
    }
    if version.tags.len() > MAX_SECRET_TAGS {
        return Err(KeyVaultError::TooManyTags {
            count: version.tags.len(),
        });
    }
    for (name, value) in &version.tags {
        let chars = name.chars().count();
        if chars > MAX_TAG_NAME_CHARS {
            return Err(KeyVaultError::TagNameTooLong { chars });
        }
        let chars = value.chars().count();
        if chars > MAX_TAG_VALUE_CHARS {
            return Err(KeyVaultError::TagValueTooLong {
                tag: name.clone(),
                chars,
            });
        }
    }
    Ok(())
}

/// Drops the oldest of `versions` (oldest first) beyond [`MAX_SECRET_VERSIONS`].
fn prune(versions: &mut Vec<SecretVersion>) {
    let excess = versions.len().saturating_sub(MAX_SECRET_VERSIONS);
    versions.drain(..excess);
}

#[cfg(test)]
mod tests;
