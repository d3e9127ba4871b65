//! Which identity to get tokens for: authority host, tenant and client id, chosen at run
//! time, with defaults from the variables the webhook injects (`AZURE_AUTHORITY_HOST`,
//! `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`), and named identities
//! from `AZURE_CLIENT_ID_<ALIAS>`, `AZURE_TENANT_ID_<ALIAS>`, `AZURE_AUTHORITY_HOST_<ALIAS>`.

use std::path::PathBuf;

use wif_core::cloud::{Cloud, normalize_authority_host};
use wif_core::settings::EnvSource;

use crate::error::{ClientError, ConfigError};

/// One identity: where to ask, in which tenant, as which application.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// `https://login.microsoftonline.com/` or any https authority, with trailing slash.
    pub authority_host: String,
    /// Tenant GUID or domain.
    pub tenant_id: String,
    /// Client id of the application or managed identity.
    pub client_id: String,
}

impl Identity {
    /// Checks and normalizes the three parts.
    ///
    /// ```
    /// let identity = wif_client::Identity::new(
    ///     "https://login.microsoftonline.com",
    ///     "contoso.onmicrosoft.com",
    ///     "11111111-0000-4000-8000-000000000001",
    /// )
    /// .expect("a valid identity");
    /// assert_eq!(identity.token_endpoint(), "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
    /// assert!(wif_client::Identity::new("http://login.example", "t", "c").is_err(), "https only");
    /// ```
    pub fn new(authority_host: &str, tenant_id: &str, client_id: &str) -> Result<Self, ClientError> {
        let authority_host = normalize_authority_host(authority_host).map_err(ConfigError::AuthorityHost)?;
        if tenant_id.is_empty()
            || !tenant_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(ConfigError::Tenant(tenant_id.to_owned()).into());
        }
        if client_id.is_empty() || !client_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(ConfigError::ClientId(client_id.to_owned()).into());
        }
        Ok(Identity {
            authority_host,
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
        })
    }

    /// The v2 token endpoint.
    pub fn token_endpoint(&self) -> String {
        format!("{}{}/oauth2/v2.0/token", self.authority_host, self.tenant_id)
    }
}

fn var(env: &impl EnvSource, name: &str) -> Option<String> {
    env.var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn missing(name: &str, hint: Option<&'static str>) -> ClientError {
    ConfigError::Missing {
        name: name.to_owned(),
        hint,
    }
    .into()
}

fn default_authority(env: &impl EnvSource) -> String {
    var(env, "AZURE_AUTHORITY_HOST").unwrap_or_else(|| Cloud::Public.authority_host().to_owned())
}

/// The default identity: `AZURE_CLIENT_ID` in `AZURE_TENANT_ID` at `AZURE_AUTHORITY_HOST`.
pub fn from_env(env: &impl EnvSource) -> Result<Identity, ClientError> {
    let tenant = var(env, "AZURE_TENANT_ID").ok_or_else(|| missing("AZURE_TENANT_ID", None))?;
    let client = var(env, "AZURE_CLIENT_ID").ok_or_else(|| {
        missing(
            "AZURE_CLIENT_ID",
            Some("does the ServiceAccount carry azure.workload.identity/client-id?"),
        )
    })?;
    Identity::new(&default_authority(env), &tenant, &client)
}

/// A named identity: `AZURE_CLIENT_ID_<ALIAS>`, with `AZURE_TENANT_ID_<ALIAS>` and
/// `AZURE_AUTHORITY_HOST_<ALIAS>` falling back to the default ones.
pub fn named_from_env(env: &impl EnvSource, alias: &str) -> Result<Identity, ClientError> {
    let suffix = wif_core::mutation::alias_env_suffix(&alias.to_ascii_lowercase())
        .ok_or_else(|| ConfigError::Alias(alias.to_owned()))?;
    let client = var(env, &format!("AZURE_CLIENT_ID_{suffix}")).ok_or_else(|| ConfigError::NoNamedClient {
        suffix: suffix.clone(),
        alias: alias.to_ascii_lowercase(),
    })?;
    let tenant = var(env, &format!("AZURE_TENANT_ID_{suffix}"))
        .or_else(|| var(env, "AZURE_TENANT_ID"))
        .ok_or_else(|| ConfigError::NoTenant { suffix: suffix.clone() })?;
    let authority = var(env, &format!("AZURE_AUTHORITY_HOST_{suffix}")).unwrap_or_else(|| default_authority(env));
    Identity::new(&authority, &tenant, &client)
}

/// Every named identity in the environment, by alias (lower case).
pub fn named_identities(env_vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut aliases: Vec<String> = env_vars
        .into_iter()
        .filter_map(|(k, _)| {
            k.strip_prefix("AZURE_CLIENT_ID_")
                .map(|s| s.to_ascii_lowercase().replace('_', "-"))
        })
        .collect();
    aliases.sort();
    aliases.dedup();
    aliases
}

/// `AZURE_FEDERATED_TOKEN_FILE`.
pub fn token_file_from_env(env: &impl EnvSource) -> Result<PathBuf, ClientError> {
    var(env, "AZURE_FEDERATED_TOKEN_FILE")
        .map(PathBuf::from)
        .ok_or_else(|| {
            missing(
                "AZURE_FEDERATED_TOKEN_FILE",
                Some("is the pod labelled azure.workload.identity/use: \"true\"?"),
            )
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn defaults_from_the_webhook_variables() {
        let e = env(&[("AZURE_TENANT_ID", "t-a"), ("AZURE_CLIENT_ID", "c1")]);
        let id = from_env(&e).unwrap();
        assert_eq!(id.authority_host, "https://login.microsoftonline.com/");
        assert_eq!(
            id.token_endpoint(),
            "https://login.microsoftonline.com/t-a/oauth2/v2.0/token"
        );
        let e = env(&[
            ("AZURE_TENANT_ID", "t-a"),
            ("AZURE_CLIENT_ID", "c1"),
            ("AZURE_AUTHORITY_HOST", "https://127.0.0.1:8444"),
        ]);
        assert_eq!(
            from_env(&e).unwrap().token_endpoint(),
            "https://127.0.0.1:8444/t-a/oauth2/v2.0/token"
        );
        assert!(
            from_env(&env(&[("AZURE_TENANT_ID", "t")]))
                .unwrap_err()
                .to_string()
                .contains("AZURE_CLIENT_ID is not set")
        );
        let http = env(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_AUTHORITY_HOST", "http://x"),
        ]);
        assert!(from_env(&http).unwrap_err().to_string().contains("https"));
    }

    #[test]
    fn named_identities_fall_back_to_the_defaults() {
        let e = env(&[
            ("AZURE_TENANT_ID", "tenant-a"),
            ("AZURE_CLIENT_ID_WRITER", "c2"),
            ("AZURE_TENANT_ID_WRITER", "tenant-b"),
            ("AZURE_CLIENT_ID_BLOB_READER", "c3"),
            ("AZURE_AUTHORITY_HOST_BLOB_READER", "https://127.0.0.1:9999"),
        ]);
        let writer = named_from_env(&e, "writer").unwrap();
        assert_eq!(
            (writer.tenant_id.as_str(), writer.client_id.as_str()),
            ("tenant-b", "c2")
        );
        let reader = named_from_env(&e, "blob-reader").unwrap();
        assert_eq!(
            (reader.tenant_id.as_str(), reader.authority_host.as_str()),
            ("tenant-a", "https://127.0.0.1:9999/")
        );
        assert!(
            named_from_env(&e, "missing")
                .unwrap_err()
                .to_string()
                .contains("wif.dev/client-id.missing")
        );
        let names = named_identities([
            ("AZURE_CLIENT_ID_BLOB_READER".to_owned(), String::new()),
            ("AZURE_CLIENT_ID_WRITER".to_owned(), String::new()),
        ]);
        assert_eq!(names, ["blob-reader", "writer"]);
    }

    #[test]
    fn ids_are_checked() {
        assert_eq!(
            Identity::new("https://h/", "t/../x", "c").unwrap_err().to_string(),
            "tenant id \"t/../x\" must be a GUID or a domain (letters, digits, '-' and '.')"
        );
        assert_eq!(
            Identity::new("https://h/", "t", "c id").unwrap_err().to_string(),
            "client id \"c id\" is not a valid client id"
        );
        assert!(
            Identity::new(
                "https://h/",
                "contoso.onmicrosoft.com",
                "11111111-0000-4000-8000-000000000001"
            )
            .is_ok()
        );
    }
}
