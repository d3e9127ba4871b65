//! Writing the state file: the whole state as YAML inside its seal ([`super::seal`]), at most
//! [`MAX_STATE_BYTES`] of it, written mode 0600 beside the old file, synced, renamed over it and
//! the directory synced ([`wif_issuer::files::write_atomically`]), so the file on disk is
//! always one whole commit. Reading is [`super::load`]'s.

use std::path::Path;

use wif_issuer::files::{FileError, write_atomically};

use super::seal::seal;
use crate::config::AzureConfig;

/// The most a commit may make the state file weigh (the whole file, header and trailer
/// included): 8 MiB, a few hundred secrets at Key Vault's 25k bytes each, beside the plane's
/// own few kB. It bounds what each commit rewrites and what a start reads and holds; a change
/// that would go over it is refused ([`super::CommitError::TooLarge`]), unless it makes the
/// state smaller (a state from an older wif may be over it).
pub const MAX_STATE_BYTES: usize = 8 * 1024 * 1024;

/// The state file was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// The state did not serialise.
    #[error("cannot write the state as YAML")]
    Yaml(#[from] serde_saphyr::SerializeError),
    /// The file system refused.
    #[error(transparent)]
    File(#[from] FileError),
}

/// The state file's whole text for `config`.
pub(super) fn sealed(config: &AzureConfig) -> Result<String, PersistError> {
    Ok(seal(&serde_saphyr::to_string(config)?))
}

/// Writes `text` as the state file at `path`.
pub(super) fn persist(path: &Path, text: &str) -> Result<(), PersistError> {
    Ok(write_atomically(path, text.as_bytes())?)
}
