//! Command-line choices shared by every wif server command: where the serving certificate
//! comes from. (TLS minimum and admin address defaults differ per server, so they stay there.)

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use wif_server::TlsSource;

/// `--cert-dir` or `--self-signed-ca-out`, one of them required.
#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// Directory with tls.crt and tls.key, reloaded when they change.
    #[arg(long, value_name = "DIR", conflicts_with = "self_signed_ca_out")]
    pub cert_dir: Option<PathBuf>,
    /// Make a throwaway CA and serving certificate instead, and write the CA here for clients.
    #[arg(long, value_name = "FILE")]
    pub self_signed_ca_out: Option<PathBuf>,
}

impl TlsArgs {
    /// The source; a self-signed certificate also names `extra_names` besides loopback.
    pub fn source(&self, extra_names: &[&str]) -> Result<TlsSource> {
        Ok(match (&self.cert_dir, &self.self_signed_ca_out) {
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
}
