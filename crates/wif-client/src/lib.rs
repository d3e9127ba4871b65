//! wif-client: tokens for any Microsoft Entra ID identity, from one Kubernetes projected
//! service-account token. The identity (authority host, tenant, client id) is chosen at run
//! time or read from the variables the webhook injects, including named identities
//! (`AZURE_CLIENT_ID_<ALIAS>`), so one pod can be a reader in tenant A and a writer in tenant B.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wif_client::ClientError> {
//! use wif_core::settings::ProcessEnv;
//! let wi = wif_client::WorkloadIdentity::from_process_env()?;
//! let reader = wi.default_credential(&ProcessEnv)?.get_token("https://vault.azure.net/.default").await?;
//! let writer = wi.named(&ProcessEnv, "writer")?.get_token("https://storage.azure.com/.default").await?;
//! # Ok(()) }
//! ```

pub mod assertion;
#[cfg(feature = "azure-core")]
pub mod azure;
pub mod cache;
pub mod credential;
pub mod error;
pub mod exchange;
pub mod identity;

pub use cache::{AccessToken, CacheOutcome, TokenCache};
pub use credential::{FederatedCredential, WorkloadIdentity};
pub use error::{ClientError, ConfigError};
pub use identity::Identity;
