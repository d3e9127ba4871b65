//! What the emulator's handlers share: the directory (swapped whole when it changes, read as a
//! snapshot), the signing key and its JWKS, the issuers' keys, the metrics, the emulator's own
//! URL and its clock.

use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::sync::RwLock;
use wif_core::clock::Clock;
use wif_issuer::IssuerKeys;
use wif_jose::SigningKey;

use super::metrics::StsMetrics;
use crate::directory::Directory;

/// What the handlers share.
pub struct StsState {
    /// The directory. A request takes a snapshot (the lock is held only to clone the `Arc`),
    /// so a management write never waits for a token request's issuer fetch, nor the reverse.
    pub directory: RwLock<Arc<Directory>>,
    /// The key access tokens are signed with.
    pub signing_key: SigningKey,
    /// Issuer keys.
    pub issuers: IssuerKeys,
    /// Metrics.
    pub metrics: StsMetrics,
    /// The emulator's own URL (`https://host:port`): every advertised URL and every issued
    /// token's `iss` is built from it, whatever `Host` a client sends, and an assertion from
    /// this origin is refused as Entra refuses its own tokens. Set once the port is known.
    public_url: std::sync::RwLock<String>,
    /// The key that signs tokens, as a JWKS: what a plane served beside the token endpoint
    /// (the local Azure plane) verifies its callers' tokens with.
    pub own_keys: wif_jose::JwkSet,
    /// What "now" is: assertions' time windows, issued tokens, error timestamps.
    pub clock: Arc<dyn Clock>,
    /// The last token exchanges and the live feed of new ones (the operator's console).
    pub journal: crate::journal::Journal,
}

impl std::fmt::Debug for StsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsState")
            .field("public_url", &self.public_url())
            .finish_non_exhaustive()
    }
}

/// The state as handlers hold it.
pub(crate) type Shared = Arc<StsState>;

impl StsState {
    /// The emulator's own URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .trim_end_matches('/')
            .to_owned()
    }

    /// Sets the emulator's own URL (once the listener's port is known).
    pub fn set_public_url(&self, url: impl Into<String>) {
        *self
            .public_url
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = url.into();
    }

    /// The directory as it is now; later management changes do not touch this snapshot.
    pub async fn directory(&self) -> Arc<Directory> {
        Arc::clone(&*self.directory.read().await)
    }

    /// Replaces the directory served from now on (a request in flight keeps its snapshot).
    pub async fn replace_directory(&self, directory: Directory) {
        *self.directory.write().await = Arc::new(directory);
    }

    /// The state for `directory`, registering metrics in `registry`. A CA file named by the
    /// directory that cannot be read is an error now, not at the first request.
    pub fn new(
        directory: Directory,
        signing_key: SigningKey,
        public_url: String,
        registry: &mut Registry,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, wif_issuer::FetchError> {
        let issuers = IssuerKeys::new(directory.issuers.clone())?;
        let own_keys = wif_jose::jwks_of(std::slice::from_ref(signing_key.public_key()));
        Ok(Arc::new(StsState {
            own_keys,
            directory: RwLock::new(Arc::new(directory)),
            signing_key,
            issuers,
            metrics: StsMetrics::new(registry),
            public_url: std::sync::RwLock::new(public_url),
            clock,
            journal: crate::journal::Journal::default(),
        }))
    }
}
