//! Command-line choices shared by every wif server command.

use std::path::PathBuf;

use anyhow::{Result, bail};
use wif_server::TlsSource;

/// The TLS source from `--cert-dir` or `--self-signed-ca-out` (one is required).
pub fn tls_source(
    cert_dir: &Option<PathBuf>,
    self_signed_ca_out: &Option<PathBuf>,
    extra_names: &[&str],
) -> Result<TlsSource> {
    Ok(match (cert_dir, self_signed_ca_out) {
        (Some(dir), _) => TlsSource::CertDir(dir.clone()),
        (None, Some(ca_out)) => TlsSource::SelfSigned {
            ca_out: ca_out.clone(),
            extra_names: extra_names
                .iter()
                .map(|n| n.trim_start_matches('[').trim_end_matches(']').to_owned())
                .filter(|n| !n.is_empty())
                .collect(),
        },
        (None, None) => bail!("pass --cert-dir DIR (tls.crt, tls.key) or --self-signed-ca-out FILE"),
    })
}
