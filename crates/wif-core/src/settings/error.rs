//! Why settings cannot be used.

use crate::cloud::{AuthorityHostError, CloudError};

/// A setting that cannot be used; the webhook refuses to start with it.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// `AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR` is not JSON; the parser's error is the source.
    #[error("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR is not a valid label selector: not JSON")]
    LabelSelectorNotJson(#[source] std::sync::Arc<serde_json::Error>),
}
