//! What `wif up` keeps in its state directory, so that a restart gives the same ports and an
//! app's trust store stays valid: the ports and the App Service secret (`state.json`), the
//! issuer's signing key, the CA and the serving certificate; and the lock that keeps a second
//! `wif up` off a state directory in use and tells the printing commands that one runs. The
//! directory is private to its owner: made mode 0700, every file in it written mode 0600 from
//! its first byte, and a directory (or Azure state file) others may read or change is refused
//! at start with the `chmod` that fixes it, as ssh refuses an open `~/.ssh`.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use wif_jose::{Algorithm, SigningKey};
use wif_server::pki::{LOOPBACK_NAMES, LocalCa};

use wif_issuer::files::{FileError, check_private, create_private_dir, write_private};
use wif_issuer::key_files::signing_key_from_file;

/// The ports and the secret, chosen at the first start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ports {
    /// The cluster issuer's HTTPS port.
    pub issuer_port: u16,
    /// The emulator's HTTPS port.
    pub sts_port: u16,
    /// The proxy's HTTP port.
    pub proxy_port: u16,
    /// App Service's `IDENTITY_HEADER`.
    pub identity_header: String,
    /// The CONNECT proxy for vault hosts (0 in a state directory made before it existed).
    #[serde(default)]
    pub vault_proxy_port: u16,
}

/// The state directory and what it holds.
#[derive(Debug)]
pub struct State {
    /// The directory.
    pub dir: PathBuf,
    /// Ports and secret.
    pub ports: Ports,
    /// The issuer's signing key.
    pub key: std::sync::Arc<SigningKey>,
}

/// The key in `file`, made (mode 0600) on first use.
fn kept_key(file: &Path) -> Result<SigningKey> {
    if file.exists() {
        return Ok(signing_key_from_file(file)?);
    }
    let key = SigningKey::generate(Algorithm::RS256)?;
    write_private(file, key.to_pkcs8_pem()?.as_bytes(), true)?;
    Ok(key)
}

/// The default state directory: `$XDG_DATA_HOME/wif/up`, else `~/.local/share/wif/up`.
pub fn default_dir() -> Result<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .context("neither XDG_DATA_HOME nor HOME is set: pass --state-dir DIR")?;
    Ok(data.join("wif").join("up"))
}

/// The file the local Azure plane keeps its state in (secret values among it).
const AZURE_STATE_FILE: &str = "azure-state.yaml";

/// The CA as a JVM trust store.
const JAVA_TRUST_STORE: &str = "ca-truststore.jks";

/// The JVM trust store's password: keytool's customary one. It guards nothing (the store holds
/// one public certificate); the JVM wants one to check the store's integrity.
pub const JAVA_TRUST_STORE_PASSWORD: &str = "changeit";

/// Makes the state directory (mode 0700) when missing; else refuses it, or its Azure state
/// file, when others than its owner may read or change them, naming each with the `chmod`
/// that fixes it. Nothing is narrowed here: the owner decides (a directory given with
/// `--state-dir` may be one they share on purpose), and a secret that was readable may have
/// been read.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(create_private_dir(dir)?);
    }
    let azure_state = dir.join(AZURE_STATE_FILE);
    let mut open = Vec::new();
    for path in std::iter::once(dir).chain(azure_state.exists().then_some(azure_state.as_path())) {
        match check_private(path) {
            Ok(()) => {}
            Err(e @ FileError::NotPrivate { .. }) => open.push(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    if !open.is_empty() {
        bail!(
            "wif up keeps keys and secrets in its state directory and will not use it while others can reach them:\n  {}",
            open.join("\n  ")
        );
    }
    Ok(())
}

/// Distinct free loopback ports, chosen by the kernel.
fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let listeners = [0; N].map(|_| std::net::TcpListener::bind("127.0.0.1:0"));
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(listeners) {
        *port = listener
            .context("cannot find a free loopback port")?
            .local_addr()?
            .port();
    }
    Ok(ports)
}

impl State {
    /// The state in `dir`, made on first use; the serving certificate also names the vault
    /// hosts under `vault_suffix` and the blob hosts under `storage_suffix`, and Azure's own
    /// hosts only when `azure_names` (`--production-names`): a key that can answer as
    /// login.microsoftonline.com exists only for a user who asked for one.
    pub fn load_or_create(dir: &Path, vault_suffix: &str, storage_suffix: &str, azure_names: bool) -> Result<Self> {
        prepare_dir(dir)?;
        create_private_dir(&dir.join("tls"))?;
        let ports_file = dir.join("state.json");
        let ports = if ports_file.exists() {
            let text = std::fs::read_to_string(&ports_file)
                .with_context(|| format!("cannot read {}", ports_file.display()))?;
            let mut ports: Ports = serde_json::from_str(&text)
                .with_context(|| format!("{} is damaged: remove it to pick new ports", ports_file.display()))?;
            if ports.vault_proxy_port == 0 {
                [ports.vault_proxy_port] = free_ports()?;
                write_private(&ports_file, serde_json::to_string_pretty(&ports)?.as_bytes(), true)?;
            }
            ports
        } else {
            let [issuer_port, sts_port, proxy_port, vault_proxy_port] = free_ports()?;
            let identity_header = format!(
                "{}{}",
                wif_jose::kubernetes::random_uuid()?.replace('-', ""),
                wif_jose::kubernetes::random_uuid()?.replace('-', "")
            );
            let ports = Ports {
                issuer_port,
                sts_port,
                proxy_port,
                identity_header,
                vault_proxy_port,
            };
            write_private(&ports_file, serde_json::to_string_pretty(&ports)?.as_bytes(), true)?;
            ports
        };
        let key = kept_key(&dir.join("sa.key"))?;
        kept_key(&dir.join("sts.key"))?;
        let (cert, tls_key, ca) = (dir.join("tls/tls.crt"), dir.join("tls/tls.key"), dir.join("ca.pem"));
        let suffix = vault_suffix.trim_start_matches('.');
        let mut names: Vec<String> = LOOPBACK_NAMES.iter().map(|n| (*n).to_owned()).collect();
        let storage = storage_suffix.trim_start_matches('.');
        names.extend([format!("*.{suffix}"), suffix.to_owned(), format!("*.blob.{storage}")]);
        if azure_names {
            names.extend(wif_core::cloud::public::HOSTS.map(str::to_owned));
            names.extend([
                format!("*.{}", wif_core::cloud::public::VAULT_SUFFIX),
                format!("*.blob.{}", wif_core::cloud::public::STORAGE_SUFFIX),
            ]);
        }
        let mut seen = std::collections::HashSet::new();
        names.retain(|name| seen.insert(name.clone()));
        let names_file = dir.join("tls/names");
        let names_text = names.join("\n");
        let same_names = std::fs::read_to_string(&names_file).is_ok_and(|t| t == names_text);
        if !(cert.exists() && tls_key.exists() && ca.exists() && same_names) {
            if ca.exists() {
                eprintln!(
                    "wif up: the serving certificate did not name {}: a new CA is made ({}); clients that kept the old one must read it again",
                    names.join(", "),
                    ca.display()
                );
            }
            let authority = LocalCa::new("wif up local CA")?;
            let serving = authority.issue(&names.iter().map(String::as_str).collect::<Vec<_>>())?;
            write_private(&cert, serving.cert_pem.as_bytes(), true)?;
            write_private(&tls_key, serving.key_pem.as_bytes(), true)?;
            write_private(&ca, authority.cert_pem().as_bytes(), true)?;
            write_private(&names_file, names_text.as_bytes(), true)?;
        }
        // Clients that replace the system roots with a bundle (requests, OpenSSL) get the
        // system's roots and ours, so other HTTPS keeps working in the same shell.
        let mut bundle = [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/cert.pem",
        ]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
        bundle.push('\n');
        bundle.push_str(&std::fs::read_to_string(&ca)?);
        write_private(&dir.join("ca-bundle.pem"), bundle.as_bytes(), true)?;
        // The JVM's form of the same trust: the CA alone, in a store it reads as it is.
        let ca_der = wif_server::pki::pem_certificates(&std::fs::read_to_string(&ca)?);
        let entries: Vec<(&str, &[u8])> = ca_der.iter().map(|der| ("wif-up-ca", der.as_slice())).collect();
        let store = wif_server::trust_store::jks(&entries, JAVA_TRUST_STORE_PASSWORD, 0)?;
        write_private(&dir.join(JAVA_TRUST_STORE), &store, true)?;
        Ok(State {
            dir: dir.to_path_buf(),
            ports,
            key: std::sync::Arc::new(key),
        })
    }

    /// The CA's certificate file.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The system roots and the CA, for clients that take one bundle.
    pub fn ca_bundle(&self) -> PathBuf {
        self.dir.join("ca-bundle.pem")
    }

    /// The CA as a JVM trust store (JKS, password [`JAVA_TRUST_STORE_PASSWORD`]).
    pub fn java_trust_store(&self) -> PathBuf {
        self.dir.join(JAVA_TRUST_STORE)
    }

    /// The CONNECT front's URL, for `HTTPS_PROXY`.
    pub fn front_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.vault_proxy_port)
    }

    /// The issuer's URL.
    pub fn issuer_url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.ports.issuer_port)
    }

    /// The emulator's URL.
    pub fn sts_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.ports.sts_port)
    }

    /// The emulator's signing key: kept, so the tokens azure-cli cached stay valid across
    /// restarts, as Entra's keys outlive a login.
    pub fn sts_key(&self) -> Result<SigningKey> {
        Ok(signing_key_from_file(&self.dir.join("sts.key"))?)
    }

    /// The local Azure plane's state file: ARM, Graph and vault changes survive a restart.
    pub fn azure_state_file(&self) -> PathBuf {
        self.dir.join(AZURE_STATE_FILE)
    }

    /// The projected token file of `namespace/name`.
    pub fn token_file(&self, namespace: &str, name: &str) -> PathBuf {
        self.dir.join("tokens").join(namespace).join(name)
    }
}

/// Holds the state directory's lock while `wif up` runs.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// The lock file: held by the `wif up` that runs on the directory, its pid inside.
const LOCK_FILE: &str = "up.lock";

/// Whether a `wif up` runs on `dir` now (holds its lock). A shared lock is tried and let go
/// at once; a `wif up` starting in that instant tries again ([`lock`]).
pub fn held(dir: &Path) -> Result<bool> {
    let path = dir.join(LOCK_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared) {
        Ok(()) => Ok(false),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(true),
        Err(e) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// Takes the state directory's lock, or says who holds it. A few tries, 20 ms apart: a
/// printing command's look at the lock ([`held`]) holds it for an instant.
pub fn lock(dir: &Path) -> Result<Lock> {
    let path = dir.join(LOCK_FILE);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let take = || rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive);
    let taken = (0..5).any(|attempt| {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        take().is_ok()
    });
    if !taken {
        let holder = std::fs::read_to_string(&path).unwrap_or_default();
        bail!(
            "wif up already runs with state directory {} (pid {}); stop it first, or use another --state-dir",
            dir.display(),
            holder.trim()
        );
    }
    file.set_len(0)?;
    std::io::Write::write_all(&mut &file, std::process::id().to_string().as_bytes())?;
    Ok(Lock { _file: file })
}
