//! Webhook settings: everything that is fixed per webhook deployment rather than per pod
//! (default tenant, authority host, audience, token layout, proxy images and log level,
//! native-sidecar placement, the custom token endpoint), and their parsing from the
//! environment variables upstream reads. Parsing takes an [`EnvSource`], so tests feed a
//! map instead of mutating the process environment.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::cloud::{AuthorityHostError, Cloud, CloudError, normalize_authority_host};
use crate::contract;

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

/// Where the custom token endpoint's CA comes from (at most one source, as upstream).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaSource {
    /// No CA: clients use their system roots.
    None,
    /// Inline PEM, injected as `AZURE_KUBERNETES_CA_DATA`.
    Data(String),
    /// A ConfigMap holding `ca.crt`, projected into the token volume.
    ConfigMap(String),
    /// A ClusterTrustBundle signer (and optional JSON label selector), projected.
    ClusterTrustBundle {
        /// `signerName`.
        signer_name: String,
        /// `labelSelector`, already parsed.
        label_selector: Option<serde_json::Value>,
    },
}

/// The AKS "identity bindings" custom token endpoint (upstream v1.6.0 §1.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomTokenEndpoint {
    /// The pod annotation that opts in: `azure.workload.identity/use-<suffix>`.
    pub opt_in_annotation: String,
    /// Audience of the projected token for opted-in pods.
    pub audience: String,
    /// `AZURE_KUBERNETES_TOKEN_PROXY`.
    pub token_proxy: String,
    /// `AZURE_KUBERNETES_SNI_NAME`.
    pub sni_name: String,
    /// The CA the token proxy is verified with.
    pub ca: CaSource,
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

/// A setting that cannot be used; the webhook refuses to start with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// `AZURE_TENANT_ID` is required (upstream's exact words).
    #[error("required key AZURE_TENANT_ID missing value")]
    MissingTenant,
    /// Unknown cloud.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// Bad explicit authority host.
    #[error(transparent)]
    AuthorityHost(#[from] AuthorityHostError),
    /// Unknown token layout.
    #[error("invalid token layout {value:?}: expected v1.6 or legacy")]
    TokenLayout {
        /// What was given.
        value: String,
    },
    /// Unknown proxy log level.
    #[error("invalid --log-level set: {value:?} (expected one of \"\", info, debug, trace, all)")]
    LogLevel {
        /// What was given.
        value: String,
    },
    /// The audience must be non-empty.
    #[error("the token audience must not be empty")]
    EmptyAudience,
    /// A custom-token-endpoint setting is inconsistent; the text is upstream's.
    #[error("{0}")]
    CustomTokenEndpoint(String),
}

/// A source of environment variables: the process environment, or a map in tests.
pub trait EnvSource {
    /// The variable's value, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<S: std::hash::BuildHasher> EnvSource for HashMap<&str, &str, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| (*v).to_owned())
    }
}

impl<S: std::hash::BuildHasher> EnvSource for HashMap<&str, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
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

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
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

/// Validates the custom token endpoint exactly as upstream does at start-up; `None` when
/// neither the suffix nor the audience is set.
pub fn custom_token_endpoint_from(
    suffix: &str,
    audience: &str,
    env: &impl EnvSource,
) -> Result<Option<CustomTokenEndpoint>, SettingsError> {
    let fail = |msg: &str| Err(SettingsError::CustomTokenEndpoint(msg.to_owned()));
    match (suffix.is_empty(), audience.is_empty()) {
        (true, true) => return Ok(None),
        (true, false) => {
            return fail("custom token endpoint annotation suffix cannot be empty when audience is set");
        }
        (false, true) => {
            return fail("custom token endpoint audience cannot be empty when annotation suffix is set");
        }
        (false, false) => {}
    }
    if audience.eq_ignore_ascii_case(contract::DEFAULT_AUDIENCE) {
        return fail("custom token endpoint audience cannot be api://AzureADTokenExchange");
    }
    let annotation = format!("{}use-{}", contract::PREFIX, suffix.to_ascii_lowercase());
    if !is_qualified_name(&annotation) {
        return Err(SettingsError::CustomTokenEndpoint(format!(
            "custom token endpoint annotation {annotation:?} is not a valid Kubernetes qualified name"
        )));
    }
    let var = |name| non_empty(env.var(name));
    let ca_data = var("AZURE_KUBERNETES_CA_DATA");
    let config_map = var("AZURE_KUBERNETES_CA_CONFIGMAP_NAME");
    let signer = var("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME");
    let selector = var("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR");
    let sources = [ca_data.is_some(), config_map.is_some(), signer.is_some()];
    if sources.iter().filter(|set| **set).count() > 1 {
        return fail(
            "only one of AZURE_KUBERNETES_CA_DATA, AZURE_KUBERNETES_CA_CONFIGMAP_NAME or AZURE_KUBERNETES_CA_CTB_SIGNER_NAME can be set",
        );
    }
    if selector.is_some() && signer.is_none() {
        return fail(
            "AZURE_KUBERNETES_CA_CTB_SIGNER_NAME needs to be set when AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR is set",
        );
    }
    let ca = match (ca_data, config_map, signer) {
        (Some(data), _, _) => CaSource::Data(data),
        (_, Some(name), _) => CaSource::ConfigMap(name),
        (_, _, Some(signer_name)) => {
            let label_selector = match selector {
                None => None,
                Some(text) => Some(parse_label_selector(&text)?),
            };
            CaSource::ClusterTrustBundle {
                signer_name,
                label_selector,
            }
        }
        _ => CaSource::None,
    };
    Ok(Some(CustomTokenEndpoint {
        opt_in_annotation: annotation,
        audience: audience.to_owned(),
        token_proxy: var("AZURE_KUBERNETES_TOKEN_PROXY").unwrap_or_default(),
        sni_name: var("AZURE_KUBERNETES_SNI_NAME").unwrap_or_default(),
        ca,
    }))
}

fn parse_label_selector(text: &str) -> Result<serde_json::Value, SettingsError> {
    let invalid = |why: String| {
        SettingsError::CustomTokenEndpoint(format!(
            "AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR is not a valid label selector: {why}"
        ))
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let object = value
        .as_object()
        .ok_or_else(|| invalid("expected a JSON object".into()))?;
    for key in object.keys() {
        if key != "matchLabels" && key != "matchExpressions" {
            return Err(invalid(format!("unknown field {key:?}")));
        }
    }
    if let Some(labels) = object.get("matchLabels") {
        let labels = labels
            .as_object()
            .ok_or_else(|| invalid("matchLabels must be an object".into()))?;
        if labels.values().any(|v| !v.is_string()) {
            return Err(invalid("matchLabels values must be strings".into()));
        }
    }
    if let Some(exprs) = object.get("matchExpressions") {
        let exprs = exprs
            .as_array()
            .ok_or_else(|| invalid("matchExpressions must be a list".into()))?;
        for expr in exprs {
            let key_ok = expr.get("key").is_some_and(serde_json::Value::is_string);
            let op_ok = expr.get("operator").is_some_and(serde_json::Value::is_string);
            if !key_ok || !op_ok {
                return Err(invalid("each matchExpression needs a key and an operator".into()));
            }
        }
    }
    Ok(value)
}

/// A Kubernetes qualified name: optional DNS-subdomain prefix and `/`, then a name of at
/// most 63 characters, alphanumeric at both ends with `-`, `_`, `.` inside.
pub fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && label.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    });
    name_ok && prefix_ok
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
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn tenant_is_required_with_upstream_words() {
        let err = settings_from(&SettingsOverrides::default(), &env(&[])).unwrap_err();
        assert_eq!(err.to_string(), "required key AZURE_TENANT_ID missing value");
        let err = settings_from(&SettingsOverrides::default(), &env(&[("AZURE_TENANT_ID", "")])).unwrap_err();
        assert_eq!(err, SettingsError::MissingTenant);
    }

    #[test]
    fn environment_defaults_to_public_cloud_and_images_come_from_env() {
        let s = settings_from(
            &SettingsOverrides::default(),
            &env(&[("AZURE_TENANT_ID", "t"), ("PROXY_IMAGE", "example/proxy:1")]),
        )
        .unwrap();
        assert_eq!(s.authority_host, "https://login.microsoftonline.com/");
        assert_eq!(s.proxy_image, "example/proxy:1");
        assert_eq!(s.proxy_init_image, contract::DEFAULT_PROXY_INIT_IMAGE);
        assert_eq!(s.audience, contract::DEFAULT_AUDIENCE);
        assert_eq!(s.token_layout, TokenLayout::V1_6);
    }

    #[test]
    fn flags_win_over_env_and_authority_host_wins_over_cloud() {
        let overrides = SettingsOverrides {
            tenant_id: Some("flag-tenant".into()),
            azure_environment: Some("AzureChinaCloud".into()),
            authority_host: Some("https://127.0.0.1:8443".into()),
            token_layout: Some("legacy".into()),
            ..SettingsOverrides::default()
        };
        let s = settings_from(&overrides, &env(&[("AZURE_TENANT_ID", "env-tenant")])).unwrap();
        assert_eq!(s.default_tenant_id, "flag-tenant");
        assert_eq!(s.authority_host, "https://127.0.0.1:8443/");
        assert_eq!(s.token_layout, TokenLayout::Legacy);
        let china = SettingsOverrides {
            azure_environment: Some("AzureChinaCloud".into()),
            ..overrides
        };
        let china = SettingsOverrides {
            authority_host: None,
            ..china
        };
        let s = settings_from(&china, &env(&[])).unwrap();
        assert_eq!(s.authority_host, "https://login.chinacloudapi.cn/");
    }

    #[test]
    fn bad_settings_are_refused() {
        let base = SettingsOverrides {
            tenant_id: Some("t".into()),
            ..Default::default()
        };
        let cases = [
            SettingsOverrides {
                azure_environment: Some("InvalidCloud".into()),
                ..base.clone()
            },
            SettingsOverrides {
                authority_host: Some("http://x".into()),
                ..base.clone()
            },
            SettingsOverrides {
                token_layout: Some("v2".into()),
                ..base.clone()
            },
            SettingsOverrides {
                proxy_log_level: Some("loud".into()),
                ..base.clone()
            },
            SettingsOverrides {
                audience: Some(" ".into()),
                ..base.clone()
            },
        ];
        let expected = [
            "failed to get AAD endpoint: unknown AZURE_ENVIRONMENT \"InvalidCloud\" (expected one of AzurePublicCloud, AzureUSGovernmentCloud, AzureChinaCloud, AzureGermanCloud; use --authority-host for any other authority)",
            "invalid authority host \"http://x\": it must start with https:// (Entra clients refuse plain http)",
            "invalid token layout \"v2\": expected v1.6 or legacy",
            "invalid --log-level set: \"loud\" (expected one of \"\", info, debug, trace, all)",
            "the token audience must not be empty",
        ];
        assert_eq!(cases.len(), expected.len());
        for (case, words) in cases.iter().zip(expected) {
            assert_eq!(
                settings_from(case, &env(&[])).unwrap_err().to_string(),
                words,
                "{case:?}"
            );
        }
    }

    // spec/upstream-azwi.md §1.11 and §5.2.
    #[test]
    fn custom_token_endpoint_validation_matches_upstream() {
        let none = env(&[]);
        assert_eq!(custom_token_endpoint_from("", "", &none), Ok(None));
        let msg = |r: Result<Option<CustomTokenEndpoint>, SettingsError>| r.unwrap_err().to_string();
        assert!(msg(custom_token_endpoint_from("", "api://X", &none)).contains("annotation suffix cannot be empty"));
        assert!(msg(custom_token_endpoint_from("x", "", &none)).contains("audience cannot be empty"));
        assert!(msg(custom_token_endpoint_from("x", "API://AzureADTokenExchange", &none)).contains("cannot be"));
        assert!(msg(custom_token_endpoint_from("bad suffix!", "api://X", &none)).contains("qualified name"));
        let two = env(&[
            ("AZURE_KUBERNETES_CA_DATA", "pem"),
            ("AZURE_KUBERNETES_CA_CONFIGMAP_NAME", "cm"),
        ]);
        assert!(msg(custom_token_endpoint_from("x", "api://X", &two)).contains("only one of"));
        let two = env(&[
            ("AZURE_KUBERNETES_CA_DATA", "pem"),
            ("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME", "s"),
        ]);
        assert!(msg(custom_token_endpoint_from("x", "api://X", &two)).contains("only one of"));
        let two = env(&[
            ("AZURE_KUBERNETES_CA_CONFIGMAP_NAME", "c"),
            ("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME", "s"),
        ]);
        assert!(msg(custom_token_endpoint_from("x", "api://X", &two)).contains("only one of"));
        let lonely = env(&[("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR", "{}")]);
        assert!(msg(custom_token_endpoint_from("x", "api://X", &lonely)).contains("needs to be set"));
        let bad_json = env(&[
            ("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME", "s"),
            ("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR", "{not json"),
        ]);
        assert!(msg(custom_token_endpoint_from("x", "api://X", &bad_json)).contains("label selector"));
    }

    #[test]
    fn custom_token_endpoint_label_selectors_parse() {
        for selector in [
            r#"{"matchLabels":{"a":"b"}}"#,
            r#"{"matchExpressions":[{"key":"a","operator":"In","values":["b"]}]}"#,
            r#"{"matchLabels":{"a":"b"},"matchExpressions":[{"key":"a","operator":"Exists"}]}"#,
            r#"{"matchExpressions":[{"key":"a","operator":"In"}]}"#,
        ] {
            let e = HashMap::from([
                ("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME", "example.com/signer"),
                ("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR", selector),
            ]);
            let cte = custom_token_endpoint_from("identity-binding", "api://AKSIdentityBinding", &e)
                .unwrap()
                .unwrap();
            assert_eq!(cte.opt_in_annotation, "azure.workload.identity/use-identity-binding");
            assert!(matches!(
                cte.ca,
                CaSource::ClusterTrustBundle {
                    label_selector: Some(_),
                    ..
                }
            ));
        }
    }

    // Upstream scenarios 57-61.
    #[test]
    fn server_version_comparison() {
        assert!(version_at_least("1.20.0", 1, 20));
        assert!(version_at_least("2.0.0", 1, 25));
        assert!(version_at_least("1.25.0", 1, 20));
        assert!(!version_at_least("1.18.0", 1, 20));
        assert!(!version_at_least("0.25.0", 1, 20));
        assert!(supports_native_sidecar("v1.32.1-gke.1"));
        assert!(supports_native_sidecar("v1.33.0+k3s1"));
        assert!(!supports_native_sidecar("v1.31.9"));
        assert!(!supports_native_sidecar("garbage"));
    }

    #[test]
    fn qualified_names() {
        assert!(is_qualified_name("azure.workload.identity/use-identity-binding"));
        assert!(is_qualified_name("wif.dev/client-id.reader"));
        assert!(!is_qualified_name("azure.workload.identity/use-"));
        assert!(!is_qualified_name("Azure.Workload/x"));
        assert!(!is_qualified_name(&format!("a/{}", "x".repeat(64))));
    }
}
