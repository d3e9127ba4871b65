//! rustls server configuration: the aws-lc-rs provider installed once, the minimum TLS
//! version, and a certificate resolver whose key pair is swapped when `tls.crt`/`tls.key`
//! change on disk (Kubernetes Secret volumes swap a `..data` symlink, so the files are
//! polled by content rather than watched).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once, RwLock};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Certificates that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No certificate in the PEM.
    #[error("{path} holds no certificate")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// No usable private key in the PEM.
    #[error("{path} holds no usable private key")]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the pair (key does not match, unsupported algorithm).
    #[error("certificate and key refused: {0}")]
    Rustls(#[from] rustls::Error),
    /// Unknown `--tls-min-version`.
    #[error("invalid TLS version. Must be one of: 1.2, 1.3")]
    Version,
}

static INSTALL: Once = Once::new();

/// Installs aws-lc-rs as the process's rustls provider (idempotent). Every TLS user in wif
/// calls this first, so there is never a second provider to pick from.
pub fn install_crypto_provider() {
    INSTALL.call_once(|| {
        // Err means another provider was installed first: then that one stays, as rustls wants.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

/// The one crypto provider (aws-lc-rs), for verifiers built outside this crate.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    provider()
}

fn provider() -> Arc<CryptoProvider> {
    install_crypto_provider();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// A certified key from PEM bytes.
pub fn certified_key_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_path: &Path,
    key_path: &Path,
) -> Result<CertifiedKey, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert_path.to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsError::NoKey {
        path: key_path.to_owned(),
    })?;
    Ok(CertifiedKey::from_der(certs, key, &provider())?)
}

/// Where the serving certificate comes from: `tls.crt` and `tls.key` in a directory.
#[derive(Debug, Clone)]
pub struct CertificateSource {
    /// The certificate chain (PEM).
    pub cert_path: PathBuf,
    /// The private key (PEM).
    pub key_path: PathBuf,
}

impl CertificateSource {
    /// `dir/tls.crt` and `dir/tls.key`, as upstream's `--webhook-cert-dir`.
    pub fn in_dir(dir: &Path) -> Self {
        CertificateSource {
            cert_path: dir.join("tls.crt"),
            key_path: dir.join("tls.key"),
        }
    }

    fn read(&self) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.to_owned(),
                source,
            })
        };
        Ok((read(&self.cert_path)?, read(&self.key_path)?))
    }

    /// Loads the pair now.
    pub fn load(&self) -> Result<CertifiedKey, TlsError> {
        let (cert, key) = self.read()?;
        certified_key_from_pem(&cert, &key, &self.cert_path, &self.key_path)
    }
}

/// A resolver that serves one key pair, swappable while connections run.
#[derive(Debug)]
pub struct ReloadingResolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingResolver {
    /// Starts with `key`.
    pub fn new(key: CertifiedKey) -> Arc<Self> {
        Arc::new(ReloadingResolver {
            current: RwLock::new(Arc::new(key)),
        })
    }

    /// Serves `key` from the next handshake on; running connections keep theirs.
    pub fn replace(&self, key: CertifiedKey) {
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(key);
        }
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|k| Arc::clone(&k))
    }
}

/// The rustls versions from `--tls-min-version` (`1.2` or `1.3`).
pub fn versions(min: &str) -> Result<&'static [&'static rustls::SupportedProtocolVersion], TlsError> {
    static TLS13_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    static TLS12_AND_13: [&rustls::SupportedProtocolVersion; 2] = [&rustls::version::TLS13, &rustls::version::TLS12];
    match min {
        "1.3" => Ok(&TLS13_ONLY),
        "1.2" => Ok(&TLS12_AND_13),
        _ => Err(TlsError::Version),
    }
}

/// A server config over `resolver`, HTTP/2 and HTTP/1.1 offered by ALPN.
pub fn server_config(resolver: Arc<ReloadingResolver>, min_version: &str) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions(min_version)?)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Polls `source` every `interval` and swaps the key pair when the files' contents change
/// and still form a valid pair; a bad pair is logged and the old one kept.
pub async fn watch_certificates(source: CertificateSource, resolver: Arc<ReloadingResolver>, interval: Duration) {
    let mut last = source.read().ok();
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        let Ok(now) = source.read() else { continue };
        if last.as_ref() == Some(&now) {
            continue;
        }
        match certified_key_from_pem(&now.0, &now.1, &source.cert_path, &source.key_path) {
            Ok(key) => {
                resolver.replace(key);
                tracing::info!(cert = %source.cert_path.display(), "serving certificate reloaded");
                last = Some(now);
            }
            Err(error) => tracing::warn!(%error, "new certificate files not usable yet; keeping the current pair"),
        }
    }
}
