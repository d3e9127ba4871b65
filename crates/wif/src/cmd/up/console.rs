//! The web console of `wif up`: its login key is drawn at each start and written, with the
//! console's URL, to `STATE/console.key` (mode 0600), so that `wif up --console-link` in
//! another shell of the same user mints a fresh one-time link for the running instance; a
//! link of an earlier run no longer works.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use wif_console::Console;
use wif_console::access::LoginKeys;

/// What `STATE/console.key` holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeyFile {
    key: String,
    url: String,
}

fn key_file(dir: &Path) -> PathBuf {
    dir.join("console.key")
}

/// A new console for the emulator at `url`, its key written to the state directory `dir`.
pub fn start(dir: &Path, url: &str) -> Result<Console> {
    let secret = Console::random_secret()?;
    let file = KeyFile {
        key: URL_SAFE_NO_PAD.encode(secret),
        url: url.to_owned(),
    };
    wif_issuer::files::write_private(&key_file(dir), serde_json::to_string(&file)?.as_bytes(), true)
        .with_context(|| format!("writing the console's key to {}", key_file(dir).display()))?;
    Ok(Console::new(secret))
}

/// A one-time login link of the console at `url` under `keys`.
pub fn link(keys: &LoginKeys, url: &str) -> Result<String> {
    let token = keys.mint(Console::random_nonce()?, wif_core::clock::unix_now());
    Ok(format!("{url}/_console/login?token={token}"))
}

/// `wif up --console-link`: a fresh link for the `wif up` running on `dir`.
pub fn print_link(dir: &Path) -> Result<()> {
    if !super::state::held(dir)? {
        bail!(
            "no wif up runs on {}: start it (its banner prints a console link)",
            dir.display()
        );
    }
    let path = key_file(dir);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (a wif up older than its console?)", path.display()))?;
    let file: KeyFile =
        serde_json::from_str(&text).with_context(|| format!("{} is not a console key file", path.display()))?;
    let secret: [u8; 32] = URL_SAFE_NO_PAD
        .decode(file.key.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .with_context(|| format!("{}: the key is not 32 bytes of base64url", path.display()))?;
    println!("{}", link(&LoginKeys::new(secret), &file.url)?);
    Ok(())
}
