//! Blobs kept across restarts when the plane keeps a state file: each account's blob service
//! is a file of its own beside it (`<state file>.blobs/<sha256 of the account's id>.json`,
//! mode 0600 in a 0700 folder), written whole and atomically after every change and before
//! the change is answered, so whatever was answered 2xx is there after a restart. Read when
//! the account is first called. Written whole: fine for what a laptop keeps (the local plane
//! bounds a blob at 256 MiB), and one file per account keeps a change all or nothing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wif_issuer::files::{FileError, write_atomically};

use crate::storage::store::BlobService;

/// Why an account's blobs could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// The file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The account's file.
        path: PathBuf,
        /// Why.
        #[source]
        source: FileError,
    },
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The account's file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The blobs could not be put in JSON.
    #[error("cannot encode the account's blobs")]
    Encode(#[source] serde_json::Error),
    /// The file is not what this plane writes (cut, edited, another account's).
    #[error("{} is damaged: it is kept as it is; move it away to start the account's blobs again", path.display())]
    Damaged {
        /// The account's file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
}

/// What one account's file holds: the account it is for, and its blob service.
#[derive(Serialize, Deserialize)]
struct Stored {
    account_id: String,
    service: BlobService,
}

/// Where the accounts' files go.
#[derive(Debug, Clone)]
pub struct BlobFiles {
    dir: PathBuf,
}

impl BlobFiles {
    /// The folder beside `state_file`: `<state file>.blobs`.
    pub fn beside(state_file: &Path) -> BlobFiles {
        let mut name = state_file.file_name().unwrap_or_default().to_os_string();
        name.push(".blobs");
        BlobFiles {
            dir: state_file.with_file_name(name),
        }
    }

    fn path(&self, account_id: &str) -> PathBuf {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, account_id.as_bytes());
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}.json"))
    }

    /// The blob service of `account_id` as last written, if any was.
    pub fn load(&self, account_id: &str) -> Result<Option<BlobService>, PersistError> {
        let path = self.path(account_id);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PersistError::Read { path, source }),
        };
        let stored: Stored = serde_json::from_slice(&bytes).map_err(|source| PersistError::Damaged {
            path: path.clone(),
            source,
        })?;
        if stored.account_id != account_id {
            let source = serde::de::Error::custom(format!("it holds account {}", stored.account_id));
            return Err(PersistError::Damaged { path, source });
        }
        Ok(Some(stored.service))
    }

    /// Removes `account_id`'s file (the account is gone); a missing file is no error.
    pub fn remove(&self, account_id: &str) -> Result<(), PersistError> {
        let path = self.path(account_id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(PersistError::Read { path, source }),
        }
    }

    /// Writes `service` as `account_id`'s blobs.
    pub fn save(&self, account_id: &str, service: &BlobService) -> Result<(), PersistError> {
        let path = self.path(account_id);
        let stored = Stored {
            account_id: account_id.to_owned(),
            service: service.clone(),
        };
        let bytes = serde_json::to_vec(&stored).map_err(PersistError::Encode)?;
        write_atomically(&path, &bytes).map_err(|source| PersistError::Write { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::store::{Blob, Container};

    #[test]
    fn an_account_written_reads_back_the_same_and_a_damaged_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("wif-blob-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = BlobFiles::beside(&dir.join("azure-state.yaml"));
        let id = "/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/a";
        assert!(files.load(id).unwrap().is_none());
        let mut service = BlobService::default();
        let mut container = Container::default();
        let mut blob = Blob {
            content: vec![0, 159, 146, 150, 255].into(),
            committed_once: true,
            ..Blob::default()
        };
        blob.uncommitted.insert("YQ==".into(), b"block".to_vec());
        container.blobs.insert("dir/b.bin".into(), blob);
        service.containers.insert("c1c".into(), container);
        service.sequence = 7;
        files.save(id, &service).unwrap();
        assert_eq!(files.load(id).unwrap(), Some(service));
        let path = files.path(id);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(path.starts_with(dir.join("azure-state.yaml.blobs")));
        std::fs::write(&path, b"{\"account_id\": \"").unwrap();
        assert!(matches!(files.load(id), Err(PersistError::Damaged { .. })));
        std::fs::write(
            &path,
            b"{\"account_id\": \"other\", \"service\": {\"containers\": {}, \"sequence\": 0}}",
        )
        .unwrap();
        assert!(matches!(files.load(id), Err(PersistError::Damaged { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
