//! Files that hold keys, tokens and secrets: written mode 0600 from the first byte (and their
//! directories made 0700), never silently over an existing file, and, for a file that is read
//! while it is rewritten, atomically (a new file renamed over the old, as kubelet swaps the
//! projected token) and durably (the file and then its directory synced). It also says whether
//! an existing file or directory is private to its owner, the way ssh checks `~/.ssh`. What goes
//! in the files is each caller's business.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file that was not written, or is not private.
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
        /// `write`, `create`, `replace`, `sync`, `set the mode of`, `read the mode of`.
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
    /// Others than its owner may read or change it: it holds keys or secrets, so nothing is
    /// read from it or written beside it until its owner narrows it (`fix`).
    #[error(
        "{} has mode {mode:04o}: it holds keys or secrets and must be private to its owner; run `{fix}`",
        path.display()
    )]
    NotPrivate {
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The command that narrows it (`chmod 600 FILE` or `chmod 700 DIR`).
        fix: String,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FileError {
    let path = path.to_path_buf();
    move |source| FileError::Io { what, path, source }
}

/// Writes `contents` to `path` with mode 0600 (created that way, never widened); refuses to
/// replace an existing file unless `overwrite`.
pub fn write_private(path: &Path, contents: &[u8], overwrite: bool) -> Result<(), FileError> {
    write_private_file(path, contents, overwrite).map(drop)
}

/// [`write_private`], returning the open file (for a caller that syncs it).
fn write_private_file(path: &Path, contents: &[u8], overwrite: bool) -> Result<std::fs::File, FileError> {
    if !overwrite && path.exists() {
        return Err(FileError::Exists {
            path: path.to_path_buf(),
        });
    }
    // A new file every time, never an existing one reopened: whoever held the old one open
    // (it may have been readable) keeps the old bytes only, and a symlink planted at `path` is
    // removed, not followed (O_CREAT|O_EXCL never follows one).
    if overwrite {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("replace", path)(e)),
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
        let mut file = options.open(path).map_err(io("write", path))?;
        file.write_all(contents).map_err(io("write", path))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path).map_err(io("write", path))?;
        file.write_all(contents).map_err(io("write", path))?;
        Ok(file)
    }
}

/// Makes `dir` and its missing parents, each new one mode 0700 (from the start: no moment when
/// others may enter). An existing directory is left as it is: see [`check_private`].
pub fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io("create", dir))
}

/// Refuses a file or directory that its group or others may read, write or enter (any of the
/// 0o077 bits), as ssh refuses a private key others can read: the error names the mode and the
/// `chmod` that fixes it. Nothing is changed here: a file that was readable may have been read,
/// which its owner should know. Elsewhere than on Unix this checks nothing.
pub fn check_private(path: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::metadata(path).map_err(io("read the mode of", path))?;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            let wanted = if metadata.is_dir() { "700" } else { "600" };
            return Err(FileError::NotPrivate {
                path: path.to_path_buf(),
                mode,
                fix: format!("chmod {wanted} {}", shell_word(&path.display().to_string())),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// `word` as one POSIX shell word: as it is when plain, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%,=".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Writes `contents` to `path` (mode 0600) so that a reader never sees half of it and a crash
/// never loses it once this returns: a new file beside it (`.NAME.next`, mode 0600 from its
/// first byte), synced, renamed over the old one, and the directory synced so the rename
/// itself is on disk. The directory is made (mode 0700) when missing.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    let dir = path.parent().ok_or_else(|| FileError::NoDirectory {
        path: path.to_path_buf(),
    })?;
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    create_private_dir(dir)?;
    let next = dir.join(format!(
        ".{}.next",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("token")
    ));
    let file = write_private_file(&next, contents, true)?;
    file.sync_all().map_err(io("sync", &next))?;
    drop(file);
    std::fs::rename(&next, path).map_err(io("replace", path))?;
    // The new file is in place: from here the write has happened, and a caller told otherwise
    // would answer "failed" for a change that a restart brings back. A directory that cannot
    // be synced is logged; the rename is then as durable as the file system makes it.
    if let Err(error) = sync_dir(dir) {
        tracing::warn!(dir = %dir.display(), error = %wif_core::error_text::error_chain(&error), "the directory was not synced after a write");
    }
    Ok(())
}

/// Syncs a directory, so that a rename in it survives a crash (on Unix; elsewhere a directory
/// cannot be opened to be synced, and the rename is what the platform makes of it).
fn sync_dir(dir: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
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
            for path in [dir.join("tokens"), dir.join("tokens/ns")] {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o700, "{}", path.display());
            }
        }
        assert!(matches!(
            write_atomically(Path::new("/"), b"x"),
            Err(FileError::NoDirectory { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn directories_are_made_0700_and_open_ones_are_refused_with_the_chmod_that_fixes_them() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        let dir = std::env::temp_dir().join(format!("wif-issuer-private {}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        create_private_dir(&dir.join("a/b")).unwrap();
        assert_eq!(
            (mode(&dir), mode(&dir.join("a")), mode(&dir.join("a/b"))),
            (0o700, 0o700, 0o700)
        );
        check_private(&dir).unwrap();

        // A leftover next file others could read, and may hold open, is replaced by a new one:
        // whoever holds the old one never sees the new bytes.
        let state = dir.join("state.yaml");
        std::fs::write(dir.join(".state.yaml.next"), b"old").unwrap();
        set(&dir.join(".state.yaml.next"), 0o644);
        let held = std::fs::File::open(dir.join(".state.yaml.next")).unwrap();
        write_atomically(&state, b"new").unwrap();
        assert_eq!((mode(&state), std::fs::read(&state).unwrap()), (0o600, b"new".to_vec()));
        check_private(&state).unwrap();
        let mut seen = String::new();
        std::io::Read::read_to_string(&mut &held, &mut seen).unwrap();
        assert_eq!(seen, "old", "the file held open is not the one written");

        // A symlink planted as the next file is removed, not followed: its target is untouched.
        let target = dir.join("elsewhere");
        std::fs::write(&target, b"keep").unwrap();
        std::os::unix::fs::symlink(&target, dir.join(".state.yaml.next")).unwrap();
        write_atomically(&state, b"newer").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert_eq!(std::fs::read(&state).unwrap(), b"newer");
        std::fs::remove_file(&target).unwrap();

        set(&state, 0o640);
        match check_private(&state) {
            Err(FileError::NotPrivate { path, mode, fix }) => {
                assert_eq!((path, mode), (state.clone(), 0o640));
                assert_eq!(fix, format!("chmod 600 '{}'", state.display()));
            }
            other => panic!("{other:?}"),
        }
        set(&dir, 0o755);
        let refused = check_private(&dir).unwrap_err();
        assert!(
            matches!(refused, FileError::NotPrivate { mode: 0o755, .. }),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("has mode 0755"), "{refused}");
        assert!(
            refused
                .to_string()
                .ends_with(&format!("run `chmod 700 '{}'`", dir.display())),
            "{refused}"
        );
        assert!(matches!(
            check_private(&dir.join("missing")),
            Err(FileError::Io {
                what: "read the mode of",
                ..
            })
        ));
        assert_eq!(
            shell_word("/home/me/.local/share/wif/up"),
            "/home/me/.local/share/wif/up"
        );
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
