//! Where the client assertion comes from: the projected token file, re-read whenever it
//! changed on disk (kubelet rewrites it at 80% of its lifetime by swapping a symlink, so the
//! path's metadata is compared on every use, which costs one `stat`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::error::ClientError;

/// Largest token file read (Kubernetes tokens are about 1 KiB).
pub const MAX_TOKEN_FILE_BYTES: u64 = 16 * 1024;

/// Something that hands out the current client assertion.
pub trait AssertionSource: Send + Sync + std::fmt::Debug {
    /// The assertion, whitespace trimmed.
    fn assertion(&self) -> Result<String, ClientError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

impl Fingerprint {
    fn of(metadata: &std::fs::Metadata) -> Self {
        Fingerprint {
            modified: metadata.modified().ok(),
            len: metadata.len(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(metadata),
        }
    }
}

/// The projected token file.
#[derive(Debug)]
pub struct TokenFile {
    path: PathBuf,
    cached: Mutex<Option<(Fingerprint, String)>>,
}

impl TokenFile {
    /// The file at `path` (read on first use).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TokenFile {
            path: path.into(),
            cached: Mutex::new(None),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failure(&self, source: std::io::Error) -> ClientError {
        ClientError::TokenFile {
            path: self.path.display().to_string(),
            source: std::sync::Arc::new(source),
        }
    }
}

impl AssertionSource for TokenFile {
    fn assertion(&self) -> Result<String, ClientError> {
        let metadata = std::fs::metadata(&self.path).map_err(|e| self.failure(e))?;
        if metadata.len() > MAX_TOKEN_FILE_BYTES {
            return Err(ClientError::TokenFileTooLarge {
                path: self.path.display().to_string(),
                size: metadata.len(),
                limit: MAX_TOKEN_FILE_BYTES,
            });
        }
        let fingerprint = Fingerprint::of(&metadata);
        let mut cached = self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((seen, content)) = cached.as_ref()
            && *seen == fingerprint
        {
            return Ok(content.clone());
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| self.failure(e))?;
        let content = text.trim().to_owned();
        if content.is_empty() {
            return Err(ClientError::EmptyTokenFile {
                path: self.path.display().to_string(),
            });
        }
        *cached = Some((fingerprint, content.clone()));
        Ok(content)
    }
}

/// A fixed assertion (tests, or an assertion obtained elsewhere).
#[derive(Debug, Clone)]
pub struct StaticAssertion(pub String);

impl AssertionSource for StaticAssertion {
    fn assertion(&self) -> Result<String, ClientError> {
        Ok(self.0.trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rereads_on_change_and_trims() {
        let dir = std::env::temp_dir().join(format!("wif-client-assertion-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        let source = TokenFile::new(&path);
        assert!(matches!(source.assertion(), Err(ClientError::TokenFile { .. })));
        std::fs::write(&path, "first.token.value\n").unwrap();
        assert_eq!(source.assertion().unwrap(), "first.token.value");
        // kubelet's way: write a new file and swap it in.
        let next = dir.join("token.next");
        std::fs::write(&next, "second.token.value-longer").unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_eq!(source.assertion().unwrap(), "second.token.value-longer");
        std::fs::write(&path, "  \n").unwrap();
        assert!(matches!(source.assertion(), Err(ClientError::EmptyTokenFile { .. })));
        std::fs::write(&path, vec![b'x'; 20_000]).unwrap();
        assert!(
            source
                .assertion()
                .unwrap_err()
                .to_string()
                .contains("more than a token")
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
