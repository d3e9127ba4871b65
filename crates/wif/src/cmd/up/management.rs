//! How other commands of the same user change the running `wif up`'s plane: at each start
//! `wif up` draws an admin token for the local Graph's management API and writes it, with the
//! emulator's URL and the cluster issuer's, to `STATE/management.json` (mode 0600). Whoever
//! may read the state directory's CA key may read it; nobody else. `wif migrate pod-identity
//! --apply` reads it to create federated credentials.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What `STATE/management.json` holds.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Management {
    /// The emulator's own URL (ARM and Graph are served there).
    pub url: String,
    /// The local cluster issuer's URL.
    pub issuer: String,
    /// The Graph management API's admin token.
    pub token: String,
    /// The CA the emulator's certificate chains to.
    pub ca_file: PathBuf,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Management")
            .field("url", &self.url)
            .field("issuer", &self.issuer)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

fn file(dir: &Path) -> PathBuf {
    dir.join("management.json")
}

/// Draws a new admin token and writes the file; the token.
pub fn start(dir: &Path, url: &str, issuer: &str, ca_file: &Path) -> Result<String> {
    let secret = wif_console::Console::random_secret()?;
    let management = Management {
        url: url.to_owned(),
        issuer: issuer.to_owned(),
        token: URL_SAFE_NO_PAD.encode(secret),
        ca_file: ca_file.to_path_buf(),
    };
    wif_issuer::files::write_private(&file(dir), serde_json::to_string(&management)?.as_bytes(), true)
        .with_context(|| format!("writing {}", file(dir).display()))?;
    Ok(management.token)
}

/// The running `wif up`'s management access on `dir`.
pub fn read(dir: &Path) -> Result<Management> {
    if !super::state::held(dir)? {
        bail!("no wif up runs on {}: start it first", dir.display());
    }
    let path = file(dir);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (a wif up older than --apply?)", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not wif up's management file", path.display()))
}

/// The state directory `wif up` uses when given none.
pub fn default_dir() -> Result<PathBuf> {
    super::state::default_dir()
}
