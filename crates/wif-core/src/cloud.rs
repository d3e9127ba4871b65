//! Azure clouds and their Entra ID authority hosts: the `AZURE_ENVIRONMENT` names upstream
//! accepts (go-autorest, case-insensitive) and an explicit authority-host override, which
//! upstream lacks (its only escape hatch is the Azure Stack environment file).

use std::fmt;

/// A named Azure cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cloud {
    /// `AzurePublicCloud` (alias `AzureCloud`), the default.
    Public,
    /// `AzureUSGovernmentCloud` (alias `AzureUSGovernment`).
    UsGovernment,
    /// `AzureChinaCloud`.
    China,
    /// `AzureGermanCloud` (retired by Microsoft, still accepted by upstream).
    German,
}

/// `AZURE_ENVIRONMENT` named a cloud nobody knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// The name matched no cloud.
    #[error(
        "failed to get AAD endpoint: unknown AZURE_ENVIRONMENT {name:?} (expected one of AzurePublicCloud, AzureUSGovernmentCloud, AzureChinaCloud, AzureGermanCloud; use --authority-host for any other authority)"
    )]
    Unknown {
        /// What was given.
        name: String,
    },
    /// Azure Stack reads its endpoints from a file upstream; we take an explicit host instead.
    #[error(
        "AZURE_ENVIRONMENT AzureStackCloud has no built-in authority host: pass the Azure Stack authority with --authority-host"
    )]
    AzureStack,
}

impl Cloud {
    /// Every named cloud, in table order.
    pub const ALL: [Cloud; 4] = [Cloud::Public, Cloud::UsGovernment, Cloud::China, Cloud::German];

    /// Parses an `AZURE_ENVIRONMENT` value; empty means the public cloud, as upstream.
    pub fn from_environment_name(name: &str) -> Result<Cloud, CloudError> {
        let lower = name.trim().to_ascii_lowercase();
        match lower.as_str() {
            "" | "azurepubliccloud" | "azurecloud" => Ok(Cloud::Public),
            "azureusgovernmentcloud" | "azureusgovernment" => Ok(Cloud::UsGovernment),
            "azurechinacloud" => Ok(Cloud::China),
            "azuregermancloud" => Ok(Cloud::German),
            "azurestackcloud" => Err(CloudError::AzureStack),
            _ => Err(CloudError::Unknown { name: name.to_owned() }),
        }
    }

    /// The canonical `AZURE_ENVIRONMENT` name.
    pub fn environment_name(self) -> &'static str {
        match self {
            Cloud::Public => "AzurePublicCloud",
            Cloud::UsGovernment => "AzureUSGovernmentCloud",
            Cloud::China => "AzureChinaCloud",
            Cloud::German => "AzureGermanCloud",
        }
    }

    /// The Entra ID authority host injected as `AZURE_AUTHORITY_HOST` (with trailing slash).
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com/",
            Cloud::UsGovernment => "https://login.microsoftonline.us/",
            Cloud::China => "https://login.chinacloudapi.cn/",
            Cloud::German => "https://login.microsoftonline.de/",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.environment_name())
    }
}

/// The public cloud's own names, as an app configured for production reaches them: what
/// `wif up --production-names` answers as (its `CONNECT` front serves exactly these).
pub mod public {
    /// Entra ID's authority host.
    pub const LOGIN_HOST: &str = "login.microsoftonline.com";
    /// Azure Resource Manager.
    pub const ARM_HOST: &str = "management.azure.com";
    /// Microsoft Graph.
    pub const GRAPH_HOST: &str = "graph.microsoft.com";
    /// Key Vault's DNS suffix: vault `V` is `V.vault.azure.net`.
    pub const VAULT_SUFFIX: &str = "vault.azure.net";
    /// Storage's endpoint suffix: account `A`'s blob service is `A.blob.core.windows.net`.
    pub const STORAGE_SUFFIX: &str = "core.windows.net";
    /// Entra ID's authority, as tokens and documents name it (no trailing slash).
    pub const LOGIN_URL: &str = "https://login.microsoftonline.com";
    /// Azure Resource Manager's base URL.
    pub const ARM_URL: &str = "https://management.azure.com";
    /// Microsoft Graph's base URL.
    pub const GRAPH_URL: &str = "https://graph.microsoft.com";
    /// The hosts served whole (vault and blob hosts go by their suffixes).
    pub const HOSTS: [&str; 3] = [LOGIN_HOST, ARM_HOST, GRAPH_HOST];
}

/// One entry of Entra's instance discovery answer: a cloud's authority hosts, the one to send
/// requests to and the one to key caches by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceMetadata {
    /// The host requests go to.
    pub preferred_network: &'static str,
    /// The host cache entries are keyed by.
    pub preferred_cache: &'static str,
    /// Every host of that cloud.
    pub aliases: &'static [&'static str],
}

/// What Entra answers `GET /common/discovery/instance` with for one of its own hosts
/// (spec/protocols.md §2; the same table MSAL carries as its known metadata).
pub const ENTRA_INSTANCES: [InstanceMetadata; 5] = [
    InstanceMetadata {
        preferred_network: "login.microsoftonline.com",
        preferred_cache: "login.windows.net",
        aliases: &[
            "login.microsoftonline.com",
            "login.windows.net",
            "login.microsoft.com",
            "sts.windows.net",
        ],
    },
    InstanceMetadata {
        preferred_network: "login.partner.microsoftonline.cn",
        preferred_cache: "login.partner.microsoftonline.cn",
        aliases: &["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
    },
    InstanceMetadata {
        preferred_network: "login.microsoftonline.de",
        preferred_cache: "login.microsoftonline.de",
        aliases: &["login.microsoftonline.de"],
    },
    InstanceMetadata {
        preferred_network: "login.microsoftonline.us",
        preferred_cache: "login.microsoftonline.us",
        aliases: &["login.microsoftonline.us", "login.usgovcloudapi.net"],
    },
    InstanceMetadata {
        preferred_network: "login-us.microsoftonline.com",
        preferred_cache: "login-us.microsoftonline.com",
        aliases: &["login-us.microsoftonline.com"],
    },
];

/// Whether `host` (no port, any case) is one of Entra's own authority hosts.
///
/// ```
/// assert!(wif_core::cloud::is_entra_host("Login.MicrosoftOnline.com"));
/// assert!(!wif_core::cloud::is_entra_host("127.0.0.1"));
/// ```
pub fn is_entra_host(host: &str) -> bool {
    ENTRA_INSTANCES
        .iter()
        .any(|i| i.aliases.iter().any(|a| a.eq_ignore_ascii_case(host)))
}

/// An explicit authority host that is not an `https://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid authority host {value:?}: {reason}")]
pub struct AuthorityHostError {
    /// What was given.
    pub value: String,
    /// Why it was refused.
    pub reason: &'static str,
}

/// Checks an explicit authority host and returns it with exactly one trailing slash, the
/// form upstream injects (SDKs join the tenant onto it).
pub fn normalize_authority_host(value: &str) -> Result<String, AuthorityHostError> {
    let refuse = |reason| AuthorityHostError {
        value: value.to_owned(),
        reason,
    };
    let rest = value
        .strip_prefix("https://")
        .ok_or_else(|| refuse("it must start with https:// (Entra clients refuse plain http)"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(refuse("it has no host"));
    }
    if value.contains(['?', '#']) || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("it must not carry a query, a fragment or white space"));
    }
    if host.contains('@') {
        return Err(refuse("it must not carry user information"));
    }
    Ok(format!("{}/", value.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Upstream scenarios 30-35 (spec/upstream-azwi.md §5.1).
    #[test]
    fn upstream_cloud_table() {
        let cases = [
            ("", "https://login.microsoftonline.com/"),
            ("AzurePublicCloud", "https://login.microsoftonline.com/"),
            ("AzureUSGovernmentCloud", "https://login.microsoftonline.us/"),
            ("AzureChinaCloud", "https://login.chinacloudapi.cn/"),
            ("AzureGermanCloud", "https://login.microsoftonline.de/"),
            ("azurechinacloud", "https://login.chinacloudapi.cn/"),
            ("AzureCloud", "https://login.microsoftonline.com/"),
        ];
        for (name, host) in cases {
            let cloud = Cloud::from_environment_name(name).expect(name);
            assert_eq!(cloud.authority_host(), host, "{name}");
        }
    }

    #[test]
    fn invalid_cloud_is_an_error_naming_it() {
        let err = Cloud::from_environment_name("InvalidCloud").unwrap_err();
        assert!(err.to_string().contains("failed to get AAD endpoint"));
        assert!(err.to_string().contains("InvalidCloud"));
        assert_eq!(
            Cloud::from_environment_name("AzureStackCloud"),
            Err(CloudError::AzureStack)
        );
    }

    #[test]
    fn names_round_trip() {
        for cloud in Cloud::ALL {
            assert_eq!(Cloud::from_environment_name(&cloud.to_string()), Ok(cloud));
        }
    }

    #[test]
    fn authority_host_override_is_normalized() {
        assert_eq!(
            normalize_authority_host("https://127.0.0.1:8443").as_deref(),
            Ok("https://127.0.0.1:8443/")
        );
        assert_eq!(
            normalize_authority_host("https://login.example//").as_deref(),
            Ok("https://login.example/")
        );
        let https = "it must start with https:// (Entra clients refuse plain http)";
        let query = "it must not carry a query, a fragment or white space";
        for (bad, why) in [
            ("http://x/", https),
            ("login.microsoftonline.com", https),
            ("https:///", "it has no host"),
            ("https://a/?x", query),
            ("https://u@h/", "it must not carry user information"),
            ("https://a b/", query),
        ] {
            assert_eq!(
                normalize_authority_host(bad).unwrap_err().to_string(),
                format!("invalid authority host {bad:?}: {why}")
            );
        }
    }
}
