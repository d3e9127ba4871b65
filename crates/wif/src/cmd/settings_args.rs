//! The webhook settings as command-line flags with environment twins, shared by every
//! command that mutates pods (`render`, `demo`, and the webhook server).

use anyhow::Result;
use clap::Args;
use wif_core::WebhookSettings;
use wif_core::settings::{ProcessEnv, SettingsOverrides, settings_from};

/// Flags that shape the mutation.
#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    /// Tenant for ServiceAccounts without a tenant-id annotation (the webhook's AZURE_TENANT_ID).
    #[arg(long, env = "AZURE_TENANT_ID")]
    pub tenant_id: Option<String>,
    /// Azure cloud whose authority host is injected (AzurePublicCloud, AzureUSGovernmentCloud,
    /// AzureChinaCloud, AzureGermanCloud).
    #[arg(long, env = "AZURE_ENVIRONMENT")]
    pub azure_environment: Option<String>,
    /// Explicit authority host to inject instead of the cloud's (https URL), e.g. a local emulator.
    #[arg(long)]
    pub authority_host: Option<String>,
    /// Audience of the projected token.
    #[arg(long, default_value = wif_core::contract::DEFAULT_AUDIENCE)]
    pub audience: String,
    /// Where the token is mounted: v1.6 (/var/run/secrets/azure/wi) or legacy (v1.5.x,
    /// /var/run/secrets/azure/tokens).
    #[arg(long, default_value = "v1.6", value_parser = ["v1.6", "legacy"])]
    pub token_layout: String,
    /// Image of the proxy sidecar.
    #[arg(long, env = "PROXY_IMAGE")]
    pub proxy_image: Option<String>,
    /// Image of the proxy init container.
    #[arg(long, env = "PROXY_INIT_IMAGE")]
    pub proxy_init_image: Option<String>,
    /// Place the proxy as a native sidecar (Kubernetes 1.32 and later), so Jobs complete;
    /// `--native-sidecar=false` forces the plain container. Unset: `wif webhook` asks the API
    /// server's version once at start, as upstream does; `wif render` uses a plain container.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub native_sidecar: Option<bool>,
    /// --log-level handed to the proxy sidecar ("", info, debug, trace, all).
    #[arg(long, default_value = "info")]
    pub proxy_log_level: String,
    /// Custom token endpoint (AKS identity bindings): pods annotated
    /// azure.workload.identity/use-<SUFFIX>: "true" opt in.
    #[arg(long)]
    pub custom_token_endpoint_annotation_suffix: Option<String>,
    /// Custom token endpoint: the audience of opted-in pods' tokens.
    #[arg(long)]
    pub custom_token_endpoint_audience: Option<String>,
}

impl SettingsArgs {
    /// The settings, validated.
    pub fn settings(&self) -> Result<WebhookSettings> {
        let overrides = SettingsOverrides {
            tenant_id: self.tenant_id.clone(),
            azure_environment: self.azure_environment.clone(),
            authority_host: self.authority_host.clone(),
            audience: Some(self.audience.clone()),
            token_layout: Some(self.token_layout.clone()),
            proxy_image: self.proxy_image.clone(),
            proxy_init_image: self.proxy_init_image.clone(),
            proxy_log_level: Some(self.proxy_log_level.clone()),
            native_sidecar: self.native_sidecar,
            custom_token_endpoint_annotation_suffix: self.custom_token_endpoint_annotation_suffix.clone(),
            custom_token_endpoint_audience: self.custom_token_endpoint_audience.clone(),
        };
        settings_from(&overrides, &ProcessEnv).map_err(|e| match e {
            wif_core::settings::SettingsError::MissingTenant => anyhow::anyhow!(
                "a default tenant is required: pass --tenant-id or set AZURE_TENANT_ID (it is the tenant for ServiceAccounts without a tenant-id annotation)"
            ),
            other => other.into(),
        })
    }
}
