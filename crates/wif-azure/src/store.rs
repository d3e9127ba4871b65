//! The plane's state as every surface changes it: the whole file ([`AzureConfig`]) behind one
//! lock, and the one commit every change goes through. A change is made on a copy, checked
//! with the plane's rules and the directory's, written to the state file (atomically) and only
//! then served (the token endpoint's directory swapped) and kept, so a restart loses nothing
//! that was answered with 2xx and a refused change leaves no trace. The lock is held over that
//! disk write and never over a network call.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Mutex;
use wif_sts::StsState;
use wif_sts::directory::{Directory, DirectoryError};

use crate::config::AzureConfig;
use crate::config::check::{AzureConfigError, check};

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
    /// The state file cannot be written.
    #[error("cannot keep the change")]
    Persist(#[from] PersistError),
}

/// The state file was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// The state did not serialise.
    #[error("cannot write the state as YAML")]
    Yaml(#[from] serde_saphyr::SerializeError),
    /// The file system refused.
    #[error("cannot {what} {}", path.display())]
    Io {
        /// `write` or `replace`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A file that cannot be read at start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not the emulator's file.
    #[error("{}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
}

/// Reads the state file when it exists, else the config file: what a (re)start serves.
pub fn load_config(config_file: &Path, state_file: Option<&Path>) -> Result<AzureConfig, LoadError> {
    let path = match state_file {
        Some(state) if state.exists() => state,
        _ => config_file,
    };
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_saphyr::from_str(&text).map_err(|source| LoadError::Yaml {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
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
        Store {
            admin_token,
            state_file,
            base_dir,
            emulator,
            config: Mutex::new(config),
        }
    }

    /// Whether changes survive a restart.
    pub fn persists(&self) -> bool {
        self.state_file.is_some()
    }

    /// Runs `change` on a copy of the file and, when it succeeds, commits the copy: checked,
    /// written, and served. The change's own error, or a commit that fails, leaves the state
    /// as it was.
    pub async fn change<T, E>(&self, change: impl FnOnce(&mut AzureConfig) -> Result<T, E>) -> Result<T, E>
    where
        E: From<CommitError>,
    {
        let mut config = self.config.lock().await;
        let mut candidate = config.clone();
        let answer = change(&mut candidate)?;
        let directory = checked(&candidate, &self.base_dir).map_err(CommitError::from)?;
        if let Some(path) = &self.state_file {
            persist(path, &candidate).map_err(CommitError::from)?;
        }
        self.emulator.replace_directory(directory).await;
        *config = candidate;
        Ok(answer)
    }
}

fn persist(path: &Path, config: &AzureConfig) -> Result<(), PersistError> {
    use std::io::Write;
    let text = serde_saphyr::to_string(config)?;
    let tmp = path.with_extension("tmp");
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| PersistError::Io { what, path, source }
    };
    let mut file = std::fs::File::create(&tmp).map_err(io("write", &tmp))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("replace", path))
}
