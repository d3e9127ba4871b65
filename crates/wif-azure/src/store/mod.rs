//! The plane's state as every surface changes it: the whole file ([`AzureConfig`]) behind one
//! lock, and the one commit every change goes through. A change is made on a copy, checked
//! with the plane's rules and the directory's, weighed ([`MAX_STATE_BYTES`]), written to the
//! state file (atomically, mode 0600, sealed with a checksum trailer) and only then served (the
//! token endpoint's directory swapped) and kept, so a restart loses nothing that was answered
//! with 2xx, every such state loads again, and a refused change leaves no trace. The lock is
//! held over that disk write and never over a network call. The file's frame is [`seal`]'s,
//! reading it `load`'s, writing it `persist`'s.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Mutex;
use wif_sts::StsState;
use wif_sts::directory::{Directory, DirectoryError};

use crate::config::AzureConfig;
use crate::config::check::{AzureConfigError, check};

mod load;
mod persist;
pub mod seal;

pub use load::{LoadError, load_config, load_state};
pub use persist::{MAX_STATE_BYTES, PersistError};
pub use seal::Damage;

/// A file the plane cannot serve: its Azure part, or its directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidConfig {
    /// The Azure part breaks a rule of the plane.
    #[error(transparent)]
    Azure(#[from] AzureConfigError),
    /// The directory breaks a rule of Entra's.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// Checks `config` whole and returns the directory the token endpoint serves from it.
pub fn checked(config: &AzureConfig, base_dir: &Path) -> Result<Directory, InvalidConfig> {
    check(config)?;
    Ok(Directory::from_config(config.directory(), base_dir)?)
}

/// A change that cannot be kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The changed file breaks a rule.
    #[error(transparent)]
    Invalid(#[from] InvalidConfig),
    /// The changed state would weigh more than [`MAX_STATE_BYTES`] (and more than it does).
    #[error(
        "the local Azure plane's state would take {bytes} bytes, over its limit of {limit}: delete secrets (or other resources) first"
    )]
    TooLarge {
        /// What the state file would weigh.
        bytes: usize,
        /// [`MAX_STATE_BYTES`].
        limit: usize,
    },
    /// The state file cannot be written.
    #[error("cannot keep the change")]
    Persist(#[from] PersistError),
}

/// The state and where it is kept.
pub struct Store {
    /// The management API's own bearer token, when it is on.
    pub admin_token: Option<String>,
    state_file: Option<PathBuf>,
    base_dir: PathBuf,
    emulator: Arc<StsState>,
    /// The file as last committed.
    pub config: Mutex<AzureConfig>,
    /// What the state file of `config` weighs (read and written under the `config` lock).
    committed_bytes: AtomicUsize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("state_file", &self.state_file)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The store for `config` (relative paths resolved against `base_dir`), whose directory
    /// `emulator` serves, writing changes to `state_file` when given (else they live in memory).
    pub fn new(
        config: AzureConfig,
        base_dir: PathBuf,
        state_file: Option<PathBuf>,
        emulator: Arc<StsState>,
        admin_token: Option<String>,
    ) -> Self {
        let committed_bytes = persist::sealed(&config).map_or(0, |text| text.len());
        Store {
            admin_token,
            state_file,
            base_dir,
            emulator,
            config: Mutex::new(config),
            committed_bytes: AtomicUsize::new(committed_bytes),
        }
    }

    /// Whether changes survive a restart.
    pub fn persists(&self) -> bool {
        self.state_file.is_some()
    }

    /// Runs `change` on a copy of the file and, when it succeeds, commits the copy: checked,
    /// weighed, written, and served. The change's own error, or a commit that fails, leaves the
    /// state as it was. The state is weighed even when it lives in memory only, so a plane
    /// behaves the same with and without a state file.
    pub async fn change<T, E>(&self, change: impl FnOnce(&mut AzureConfig) -> Result<T, E>) -> Result<T, E>
    where
        E: From<CommitError>,
    {
        let mut config = self.config.lock().await;
        let mut candidate = config.clone();
        let answer = change(&mut candidate)?;
        let directory = checked(&candidate, &self.base_dir).map_err(CommitError::from)?;
        let text = persist::sealed(&candidate).map_err(CommitError::from)?;
        let before = self.committed_bytes.load(Ordering::Acquire);
        if text.len() > MAX_STATE_BYTES && text.len() > before {
            return Err(CommitError::TooLarge {
                bytes: text.len(),
                limit: MAX_STATE_BYTES,
            }
            .into());
        }
        if let Some(path) = &self.state_file {
            persist::persist(path, &text).map_err(CommitError::from)?;
        }
        self.emulator.replace_directory(directory).await;
        *config = candidate;
        self.committed_bytes.store(text.len(), Ordering::Release);
        Ok(answer)
    }
}
