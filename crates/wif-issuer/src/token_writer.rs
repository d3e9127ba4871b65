//! The projected token files kubelet would keep in a pod, kept on a laptop instead (`wif up`):
//! each ServiceAccount's token is signed by the issuer's key, written atomically (mode 0600),
//! and written again at 80% of its lifetime, as kubelet rotates it. A file that cannot be
//! written is logged and tried again within seconds, not at the next rotation.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wif_jose::SigningKey;
use wif_jose::kubernetes::ProjectedToken;

use crate::files::{FileError, write_atomically};

/// How soon a failed write is tried again.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// A token that was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenWriteError {
    /// Signing failed.
    #[error("cannot sign the projected token of {account}")]
    Sign {
        /// `namespace/name`.
        account: String,
        /// Why.
        #[source]
        source: wif_jose::KeyError,
    },
    /// The file was not written.
    #[error("cannot write the projected token of {account}")]
    File {
        /// `namespace/name`.
        account: String,
        /// Why.
        #[source]
        source: FileError,
    },
}

/// One ServiceAccount's token file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFile {
    /// The ServiceAccount's namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Where its token is written.
    pub path: PathBuf,
}

/// Writes and rewrites projected tokens, as kubelet does.
#[derive(Debug, Clone)]
pub struct TokenWriter {
    key: Arc<SigningKey>,
    issuer: String,
    files: Vec<TokenFile>,
    lifetime: Duration,
}

impl TokenWriter {
    /// Tokens from `issuer`, signed with `key`, valid for `lifetime` (at least 10 s).
    ///
    /// ```
    /// let key = std::sync::Arc::new(wif_jose::SigningKey::generate(wif_jose::Algorithm::RS256).expect("a key"));
    /// let dir = std::env::temp_dir().join(format!("wif-doc-{}", std::process::id()));
    /// let file = wif_issuer::TokenFile { namespace: "demo".into(), name: "app".into(), path: dir.join("token") };
    /// let writer = wif_issuer::TokenWriter::new(key, "https://127.0.0.1:8443/", vec![file], std::time::Duration::from_secs(3600));
    /// assert!(writer.write_all().iter().all(Result::is_ok));
    /// # std::fs::remove_dir_all(dir).expect("cleaned up");
    /// ```
    pub fn new(key: Arc<SigningKey>, issuer: &str, files: Vec<TokenFile>, lifetime: Duration) -> Self {
        TokenWriter {
            key,
            issuer: issuer.to_owned(),
            files,
            lifetime: lifetime.max(Duration::from_secs(10)),
        }
    }

    /// When kubelet would rewrite a token: at 80% of its lifetime.
    pub fn refresh_interval(&self) -> Duration {
        self.lifetime.mul_f64(0.8)
    }

    /// Writes every token once, now.
    pub fn write_all(&self) -> Vec<Result<(), TokenWriteError>> {
        self.files.iter().map(|file| self.write(file)).collect()
    }

    fn write(&self, file: &TokenFile) -> Result<(), TokenWriteError> {
        let account = format!("{}/{}", file.namespace, file.name);
        let token =
            ProjectedToken::for_service_account(&self.issuer, &file.namespace, &file.name, wif_core::clock::unix_now())
                .and_then(|mut token| {
                    token.expiration_seconds = i64::try_from(self.lifetime.as_secs()).unwrap_or(3600);
                    token.sign(&self.key)
                })
                .map_err(|source| TokenWriteError::Sign {
                    account: account.clone(),
                    source,
                })?;
        write_atomically(&file.path, token.as_bytes()).map_err(|source| TokenWriteError::File { account, source })
    }

    /// Writes every token now and again at 80% of its lifetime, for ever (run it under
    /// [`wif_server::supervise`]); a round with a failure is tried again after
    /// [`RETRY_AFTER_FAILURE`].
    pub async fn run(self) {
        loop {
            let mut failed = false;
            for (file, written) in self.files.iter().zip(self.write_all()) {
                match written {
                    Ok(()) => tracing::info!(file = %file.path.display(), "projected token written"),
                    Err(error) => {
                        failed = true;
                        tracing::warn!(
                            file = %file.path.display(),
                            error = %wif_core::error_text::error_chain(&error),
                            "cannot write the projected token; retrying"
                        );
                    }
                }
            }
            let wait = if failed {
                RETRY_AFTER_FAILURE.min(self.refresh_interval())
            } else {
                self.refresh_interval()
            };
            tokio::time::sleep(wait).await;
        }
    }
}
