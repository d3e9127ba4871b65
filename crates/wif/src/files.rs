//! Writing files that hold keys and tokens: mode 0600 from the first byte, no silent overwrite.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Writes `contents` to `path` with mode 0600 (created that way, never widened); refuses to
/// replace an existing file unless `overwrite`.
pub fn write_private(path: &Path, contents: &[u8], overwrite: bool) -> Result<()> {
    if !overwrite && path.exists() {
        bail!("{} exists; remove it or pass --force", path.display());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        // An existing file keeps its old mode through open(): tighten it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
        file.write_all(contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    #[cfg(not(unix))]
    {
        let mut file = options
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.write_all(contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
