//! The emulator's state as every surface changes it: the config (directory, subscriptions,
//! vaults, role assignments) behind one lock, and the commit every change goes through.
//! A change is made on a copy, checked with the directory's rules, written to the state file
//! (atomically) and only then served and kept, so a restart loses nothing that was answered
//! with 2xx and a refused change leaves no trace. The lock is held over that disk write and
//! never over a network call.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::directory::{Directory, DirectoryConfig, DirectoryError};
use crate::server::StsState;

/// The state and where it is kept.
pub struct Store {
    /// The management API's own bearer token, when it is on.
    pub admin_token: Option<String>,
    state_file: Option<PathBuf>,
    base_dir: PathBuf,
    /// The config as last committed.
    pub config: Mutex<DirectoryConfig>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("state_file", &self.state_file)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The store for `config` (as read, relative paths unresolved against `base_dir`),
    /// writing changes to `state_file` when given (else changes live in memory only).
    pub fn new(config: DirectoryConfig, base_dir: PathBuf, state_file: Option<PathBuf>) -> Self {
        Store {
            admin_token: None,
            state_file,
            base_dir,
            config: Mutex::new(config),
        }
    }

    /// Turns the management API on, guarded by `token`.
    #[must_use]
    pub fn with_admin_token(mut self, token: String) -> Self {
        self.admin_token = Some(token);
        self
    }

    /// Whether changes survive a restart.
    pub fn persists(&self) -> bool {
        self.state_file.is_some()
    }

    /// Runs `change` on a copy of the config and, when it succeeds, commits the copy; the
    /// change's own error, or a commit that fails, leaves the state as it was.
    pub async fn change<T, E>(
        &self,
        state: &StsState,
        change: impl FnOnce(&mut DirectoryConfig) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<CommitError>,
    {
        let mut config = self.config.lock().await;
        let mut candidate = config.clone();
        let answer = change(&mut candidate)?;
        commit(state, self, candidate.clone()).await?;
        *config = candidate;
        Ok(answer)
    }
}

/// A change that cannot be kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The changed config breaks a rule of the directory.
    #[error(transparent)]
    Invalid(#[from] DirectoryError),
    /// The state file cannot be written.
    #[error("{0}")]
    Persist(String),
}

/// Reads the state file when it exists, else the config file: what a (re)start serves.
pub fn load_config(config_file: &Path, state_file: Option<&Path>) -> Result<DirectoryConfig, String> {
    let path = match state_file {
        Some(state) if state.exists() => state,
        _ => config_file,
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks `candidate`, persists it, and swaps the served directory (the caller keeps it).
pub async fn commit(state: &StsState, store: &Store, candidate: DirectoryConfig) -> Result<(), CommitError> {
    let directory = Directory::from_config(candidate.clone(), &store.base_dir)?;
    if let Some(path) = &store.state_file {
        persist(path, &candidate).map_err(CommitError::Persist)?;
    }
    *state.directory.write().await = Arc::new(directory);
    Ok(())
}

fn persist(path: &Path, config: &DirectoryConfig) -> Result<(), String> {
    use std::io::Write;
    let text = serde_saphyr::to_string(config).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
}
