//! Webhook settings: everything that is fixed per webhook deployment rather than per pod
//! (default tenant, authority host, audience, token layout, proxy images and log level,
//! native-sidecar placement, the custom token endpoint), and their parsing from the
//! environment variables upstream reads. Parsing takes an [`EnvSource`], so tests feed a
//! map instead of mutating the process environment.

use std::fmt;
use std::str::FromStr;

use crate::cloud::{Cloud, normalize_authority_host};
use crate::contract;

mod custom_endpoint;
mod env;
mod error;

pub use custom_endpoint::{CaSource, CustomTokenEndpoint, custom_token_endpoint_from, is_qualified_name};
use env::non_empty;
pub use env::{EnvSource, ProcessEnv};
pub use error::SettingsError;

/// Where the projected token lives in the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenLayout {
    /// upstream v1.6.0: volume `azure-workload-identity-reserved-<hash>` at
    /// `/var/run/secrets/azure/wi`, token at `token/azure-identity-token`; the webhook's
    /// volume replaces any same-named one.
    #[default]
    V1_6,
    /// upstream v1.5.x: volume `azure-identity-token` at `/var/run/secrets/azure/tokens`,
    /// the path the AKS docs and most tools hard-code; a volume or mount of that name that
    /// the pod already declares is kept (users pre-declare it for vcluster and GitOps).
    Legacy,
}

impl TokenLayout {
    /// The mount path of the token volume.
    pub fn mount_path(self) -> &'static str {
        match self {
            TokenLayout::V1_6 => contract::V1_6_MOUNT_PATH,
            TokenLayout::Legacy => contract::LEGACY_MOUNT_PATH,
        }
    }

    /// The token's path inside the volume.
    pub fn token_path(self) -> &'static str {
        match self {
            TokenLayout::V1_6 => contract::V1_6_TOKEN_PATH,
            TokenLayout::Legacy => contract::LEGACY_TOKEN_PATH,
        }
    }

    /// The value of `AZURE_FEDERATED_TOKEN_FILE`.
    pub fn token_file(self) -> &'static str {
        match self {
            TokenLayout::V1_6 => contract::V1_6_TOKEN_FILE,
            TokenLayout::Legacy => contract::LEGACY_TOKEN_FILE,
        }
    }

    /// The value of `AZURE_KUBERNETES_CA_FILE` (custom token endpoint only).
    pub fn ca_file(self) -> String {
        format!("{}/{}", self.mount_path(), contract::V1_6_CA_PATH)
    }
}

impl fmt::Display for TokenLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenLayout::V1_6 => "v1.6",
            TokenLayout::Legacy => "legacy",
        })
    }
}

impl FromStr for TokenLayout {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v1.6" => Ok(TokenLayout::V1_6),
            "legacy" | "v1.5" => Ok(TokenLayout::Legacy),
            other => Err(SettingsError::TokenLayout {
                value: other.to_owned(),
            }),
        }
    }
}

/// Settings of one webhook deployment (or one `wif render` run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `AZURE_TENANT_ID` of the webhook: the tenant for ServiceAccounts that name none.
    pub default_tenant_id: String,
    /// `AZURE_AUTHORITY_HOST` injected into pods, with trailing slash.
    pub authority_host: String,
    /// Audience of the projected token (`--audience`).
    pub audience: String,
    /// Where the token is mounted.
    pub token_layout: TokenLayout,
    /// `PROXY_IMAGE`.
    pub proxy_image: String,
    /// `PROXY_INIT_IMAGE`.
    pub proxy_init_image: String,
    /// `--log-level` handed to the proxy sidecar (`""`, `info`, `debug`, `trace`, `all`).
    pub proxy_log_level: String,
    /// Place the proxy as a native sidecar (Kubernetes ≥ 1.32), so Jobs complete.
    pub native_sidecar: bool,
    /// Identity-bindings mode, when configured.
    pub custom_token_endpoint: Option<CustomTokenEndpoint>,
}

impl WebhookSettings {
    /// Upstream's defaults for a webhook whose default tenant is `tenant_id`.
    pub fn new(tenant_id: impl Into<String>) -> Self {
        WebhookSettings {
            default_tenant_id: tenant_id.into(),
            authority_host: Cloud::Public.authority_host().to_owned(),
            audience: contract::DEFAULT_AUDIENCE.to_owned(),
            token_layout: TokenLayout::default(),
            proxy_image: contract::DEFAULT_PROXY_IMAGE.to_owned(),
            proxy_init_image: contract::DEFAULT_PROXY_INIT_IMAGE.to_owned(),
            proxy_log_level: "info".to_owned(),
            native_sidecar: false,
            custom_token_endpoint: None,
        }
    }
}

/// Settings given as flags; `None` means "take the environment or the default".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsOverrides {
    /// `--tenant-id`.
    pub tenant_id: Option<String>,
    /// `--azure-environment`.
    pub azure_environment: Option<String>,
    /// `--authority-host`: wins over the cloud.
    pub authority_host: Option<String>,
    /// `--audience`.
    pub audience: Option<String>,
    /// `--token-layout`.
    pub token_layout: Option<String>,
    /// `--proxy-image`: wins over `PROXY_IMAGE`.
    pub proxy_image: Option<String>,
    /// `--proxy-init-image`: wins over `PROXY_INIT_IMAGE`.
    pub proxy_init_image: Option<String>,
    /// `--log-level` handed to the proxy.
    pub proxy_log_level: Option<String>,
    /// Native-sidecar placement of the proxy.
    pub native_sidecar: Option<bool>,
    /// `--custom-token-endpoint-annotation-suffix`.
    pub custom_token_endpoint_annotation_suffix: Option<String>,
    /// `--custom-token-endpoint-audience`.
    pub custom_token_endpoint_audience: Option<String>,
}

/// Builds settings from flags first, then upstream's environment variables
/// (`AZURE_TENANT_ID`, `AZURE_ENVIRONMENT`, `PROXY_IMAGE`, `PROXY_INIT_IMAGE`, the six
/// `AZURE_KUBERNETES_*`), then defaults. Unlike upstream, `CONFIG_`-prefixed twins are
/// not read.
pub fn settings_from(overrides: &SettingsOverrides, env: &impl EnvSource) -> Result<WebhookSettings, SettingsError> {
    let tenant = non_empty(overrides.tenant_id.clone())
        .or_else(|| non_empty(env.var("AZURE_TENANT_ID")))
        .ok_or(SettingsError::MissingTenant)?;
    let mut settings = WebhookSettings::new(tenant);

    let environment = overrides
        .azure_environment
        .clone()
        .or_else(|| env.var("AZURE_ENVIRONMENT"));
    settings.authority_host = match non_empty(overrides.authority_host.clone()) {
        Some(host) => normalize_authority_host(&host)?,
        None => Cloud::from_environment_name(environment.as_deref().unwrap_or_default())?
            .authority_host()
            .to_owned(),
    };
    if let Some(audience) = &overrides.audience {
        if audience.trim().is_empty() {
            return Err(SettingsError::EmptyAudience);
        }
        settings.audience = audience.clone();
    }
    if let Some(layout) = &overrides.token_layout {
        settings.token_layout = layout.parse()?;
    }
    if let Some(image) = non_empty(overrides.proxy_image.clone()).or_else(|| non_empty(env.var("PROXY_IMAGE"))) {
        settings.proxy_image = image;
    }
    if let Some(image) =
        non_empty(overrides.proxy_init_image.clone()).or_else(|| non_empty(env.var("PROXY_INIT_IMAGE")))
    {
        settings.proxy_init_image = image;
    }
    if let Some(level) = &overrides.proxy_log_level {
        settings.proxy_log_level = parse_log_level(level)?;
    }
    if let Some(native) = overrides.native_sidecar {
        settings.native_sidecar = native;
    }
    settings.custom_token_endpoint = custom_token_endpoint_from(
        overrides
            .custom_token_endpoint_annotation_suffix
            .as_deref()
            .unwrap_or_default(),
        overrides.custom_token_endpoint_audience.as_deref().unwrap_or_default(),
        env,
    )?;
    Ok(settings)
}

/// Upstream's log levels; `warning` is accepted as the name of the empty default.
pub fn parse_log_level(value: &str) -> Result<String, SettingsError> {
    match value.to_ascii_lowercase().as_str() {
        "" | "warning" | "warn" => Ok(String::new()),
        level @ ("info" | "debug" | "trace" | "all") => Ok(level.to_owned()),
        _ => Err(SettingsError::LogLevel {
            value: value.to_owned(),
        }),
    }
}

/// Whether a kube-apiserver `gitVersion` (e.g. `v1.32.1-gke.100`) is at least
/// `major.minor`. Unparsable versions are treated as too old, the safe placement.
pub fn version_at_least(git_version: &str, major: u64, minor: u64) -> bool {
    let digits = |s: &str| -> Option<u64> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        s[..end].parse().ok()
    };
    let trimmed = git_version.trim().trim_start_matches('v');
    let mut parts = trimmed.split('.');
    let (Some(found_major), Some(found_minor)) = (parts.next().and_then(digits), parts.next().and_then(digits)) else {
        return false;
    };
    (found_major, found_minor) >= (major, minor)
}

/// Whether an API server of this version runs native sidecars (init containers with
/// `restartPolicy: Always`) the way the proxy placement needs.
pub fn supports_native_sidecar(git_version: &str) -> bool {
    version_at_least(git_version, 1, contract::NATIVE_SIDECAR_MIN_MINOR)
}

#[cfg(test)]
mod tests;
