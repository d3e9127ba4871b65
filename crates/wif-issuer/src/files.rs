//! Files that hold keys and tokens: written mode 0600 from the first byte, never silently over
//! an existing file, and, for a token that is read while it is rewritten, atomically (a new file
//! renamed over the old, as kubelet swaps the projected token).

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file that was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file exists and overwriting was not asked for.
    #[error("{} exists; remove it or pass --force", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The file system refused.
    #[error("cannot {what} {}", path.display())]
    Io {
        /// `write`, `create`, `replace`, `set the mode of`.
        what: &'static str,
        /// The file (or directory).
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A token file path without a directory.
    #[error("{} names no directory", path.display())]
    NoDirectory {
        /// The path.
        path: PathBuf,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FileError {
    let path = path.to_path_buf();
    move |source| FileError::Io { what, path, source }
}

/// Writes `contents` to `path` with mode 0600 (created that way, never widened); refuses to
/// replace an existing file unless `overwrite`.
pub fn write_private(path: &Path, contents: &[u8], overwrite: bool) -> Result<(), FileError> {
    if !overwrite && path.exists() {
        return Err(FileError::Exists {
            path: path.to_path_buf(),
        });
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path).map_err(io("write", path))?;
        // An existing file keeps its old mode through open(): tighten it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io("set the mode of", path))?;
        file.write_all(contents).map_err(io("write", path))?;
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path).map_err(io("write", path))?;
        file.write_all(contents).map_err(io("write", path))?;
    }
    Ok(())
}

/// Writes `contents` to `path` (mode 0600) so that a reader never sees half of it: a new file
/// beside it, renamed over the old one. The directory is made when missing.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    let dir = path.parent().ok_or_else(|| FileError::NoDirectory {
        path: path.to_path_buf(),
    })?;
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let next = dir.join(format!(
        ".{}.next",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("token")
    ));
    write_private(&next, contents, true)?;
    std::fs::rename(&next, path).map_err(io("replace", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_0600_and_not_overwritten_unless_asked() {
        let dir = std::env::temp_dir().join(format!("wif-issuer-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key.pem");
        write_private(&file, b"one", false).unwrap();
        assert!(matches!(
            write_private(&file, b"two", false),
            Err(FileError::Exists { .. })
        ));
        assert_eq!(std::fs::read(&file).unwrap(), b"one");
        write_atomically(&dir.join("tokens/ns/sa"), b"token").unwrap();
        assert_eq!(std::fs::read(dir.join("tokens/ns/sa")).unwrap(), b"token");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for path in [file.clone(), dir.join("tokens/ns/sa")] {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
            }
        }
        assert!(matches!(
            write_atomically(Path::new("/"), b"x"),
            Err(FileError::NoDirectory { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
