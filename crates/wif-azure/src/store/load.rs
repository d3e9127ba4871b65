//! Reading what a (re)start serves: the state file when there is one, checked before a byte of
//! it is trusted (private to its owner, whole as wif wrote it), else the user's config file;
//! both parsed with YAML budgets sized from the file itself, so that every state the store may
//! write loads again. Writing is [`super::persist`]'s.

use std::path::{Path, PathBuf};

use wif_issuer::files::{FileError, check_private};

use super::seal::{Damage, HEADER, Sealing, unseal};
use crate::config::AzureConfig;

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
        /// Why, in the parser's words, its snippet naming the file.
        #[source]
        source: wif_core::yaml::NamedError,
    },
    /// The state file is open to others than its owner (it holds secret values), or its mode
    /// cannot be read: nothing is read from it until its owner narrows it.
    #[error(transparent)]
    NotPrivate(FileError),
    /// The state file is not what wif wrote: cut, emptied or changed. It is kept as it is.
    #[error(
        "{} is damaged: {why}. It is left as it is: restore it from a copy, or move it away to start again from the config (after a hand edit, delete its first and last lines to have it read as it is)",
        path.display()
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: Damage,
    },
}

/// Reads the state file when it exists ([`load_state`]), else the config file: what a
/// (re)start serves.
pub fn load_config(config_file: &Path, state_file: Option<&Path>) -> Result<AzureConfig, LoadError> {
    if let Some(state) = state_file.filter(|s| s.exists()) {
        return load_state(state);
    }
    let text = std::fs::read_to_string(config_file).map_err(|source| LoadError::Read {
        path: config_file.to_path_buf(),
        source,
    })?;
    parse(config_file, &text)
}

/// Reads a state file the store wrote: refused when others may read or change it, or when it
/// is empty or does not match its trailer (never rewritten here: a damaged file stays for its
/// owner to look at). A file without the header, from a wif before the trailer, is read as it
/// is, with a warning; the next commit writes it sealed.
pub fn load_state(path: &Path) -> Result<AzureConfig, LoadError> {
    check_private(path).map_err(LoadError::NotPrivate)?;
    remove_old_temporary(path);
    let read = |source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Never more than the store writes (with room for a file sealed by an older cap): a file
    // grown past it is not one wif wrote, and is not read into memory whole.
    let limit = 2 * super::MAX_STATE_BYTES as u64;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(path).map_err(read)?, limit + 1),
        &mut bytes,
    )
    .map_err(read)?;
    if bytes.len() as u64 > limit {
        return Err(read(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is over {limit} bytes, more than the plane ever writes"),
        )));
    }
    let sealing = unseal(&bytes).map_err(|why| LoadError::Damaged {
        path: path.to_path_buf(),
        why,
    })?;
    if sealing == Sealing::Legacy {
        tracing::warn!(
            path = %path.display(),
            "the state file does not start with `{HEADER}` (an older wif wrote it): it is read as it is, and the next change writes it with its checksum trailer"
        );
    }
    let text = String::from_utf8(bytes).map_err(|e| LoadError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    parse(path, &text)
}

/// Removes the temporary file wif before its sealed states left beside a state file after a
/// crash (`NAME.tmp`, written mode 0644 and holding every secret); a warning says so.
fn remove_old_temporary(path: &Path) {
    let old = path.with_extension("tmp");
    if old == path || !old.is_file() {
        return;
    }
    match std::fs::remove_file(&old) {
        Ok(()) => {
            tracing::warn!(file = %old.display(), "removed a temporary state file an older wif left (it may have been readable by others)")
        }
        Err(error) => {
            tracing::warn!(file = %old.display(), %error, "cannot remove a temporary state file an older wif left: remove it by hand")
        }
    }
}

fn parse(path: &Path, text: &str) -> Result<AzureConfig, LoadError> {
    serde_saphyr::from_str_with_options(text, yaml_options(text.len())).map_err(|source| LoadError::Yaml {
        path: path.to_path_buf(),
        source: wif_core::yaml::NamedError::new(path.display().to_string(), source),
    })
}

/// The parser's budget for a text of `len` bytes: serde-saphyr's defaults, raised to what any
/// text of that length can hold, so no file the store wrote is refused for its size (a state
/// of a few MB holds more nodes than the default 250,000). Every node (scalar, mapping,
/// sequence) takes at least one byte of its own, each gives at most two events (start and
/// end) besides the stream's and document's four, and a scalar's contents are never longer
/// than its text: nodes ≤ len + 1, events ≤ 2·len + 6, scalar bytes ≤ len. What still guards
/// is what makes a small text costly: aliases and anchors, depth (the file's shape is at most
/// a dozen levels deep, the default limit 64), simple keys over 1024 characters (the writer
/// makes long keys explicit `? ` keys). Comments (the header and trailer) are not kept.
fn yaml_options(len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = budget.max_nodes.max(len.saturating_add(16));
    budget.max_events = budget.max_events.max(len.saturating_mul(2).saturating_add(64));
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(len);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.emit_comments = false;
    options
}
