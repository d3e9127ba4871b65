//! `wif sts`: the local Entra ID token endpoint. Real SDKs get tokens from it with
//! `AZURE_AUTHORITY_HOST=https://127.0.0.1:PORT` and its CA trusted.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use prometheus_client::registry::Registry;
use wif_jose::{Algorithm, SigningKey};
use wif_server::{ServiceOptions, shutdown_signal};
use wif_sts::{Directory, StsState};

/// `wif sts` flags.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  wif sts --config directory.yaml --addr 127.0.0.1:8444 --self-signed-ca-out sts-ca.pem\n  export AZURE_AUTHORITY_HOST=https://127.0.0.1:8444 REQUESTS_CA_BUNDLE=$PWD/sts-ca.pem"
)]
pub struct StsArgs {
    /// The directory: tenants, applications, managed identities, federated credentials, issuers.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Listen address (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8444")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub tls: crate::service_args::TlsArgs,
    #[command(flatten)]
    pub limits: crate::service_args::LimitsArgs,
    /// Key that signs access tokens (PEM); a new one each start when absent.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// Minimum TLS version (1.2 or 1.3).
    #[arg(long, default_value = "1.2")]
    pub tls_min_version: String,
    /// Address of /healthz, /readyz and /metrics (plain HTTP).
    #[arg(long, default_value = "127.0.0.1:9441")]
    pub health_addr: SocketAddr,
    /// Enable the Graph-shaped management API (federatedIdentityCredentials CRUD), guarded by
    /// the bearer token in this file.
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// The emulator's URL as clients reach it (behind a port-forward or a proxy): every
    /// advertised URL and token `iss` uses it, whatever Host a request names. Default: the
    /// listen address (127.0.0.1 for an unspecified one).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Where the directory and the local Azure plane (ARM, Graph, vaults, role assignments)
    /// are kept; read at start when it exists, so a restart keeps every acknowledged change
    /// (default: changes live in memory; the config file itself is never written).
    #[arg(long, value_name = "FILE")]
    pub state_file: Option<PathBuf>,
    /// Also listen here as an HTTP CONNECT proxy for vault hosts (`V.<keyVaultDnsSuffix>`):
    /// clients set HTTPS_PROXY to it and NO_PROXY for the rest; any other host is refused.
    #[arg(long, value_name = "ADDR")]
    pub vault_proxy_addr: Option<SocketAddr>,
}

fn base_dir(path: &std::path::Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf()
}

/// Reads the admin token: the file's first line, at least 16 characters.
fn read_admin_token(path: &std::path::Path) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_owned();
    anyhow::ensure!(
        token.len() >= 16,
        "{}: the admin token must be at least 16 characters",
        path.display()
    );
    Ok(token)
}

/// Runs `wif sts` until SIGTERM.
pub fn run(args: &StsArgs) -> Result<()> {
    let config =
        wif_sts::store::load_config(&args.config, args.state_file.as_deref()).map_err(|e| anyhow::anyhow!(e))?;
    let base = base_dir(&args.config);
    let directory = Directory::from_config(config.clone(), &base).with_context(|| args.config.display().to_string())?;
    for warning in directory.near_miss_warnings() {
        tracing::warn!(config = %args.config.display(), "{warning}");
        eprintln!("warning: {}: {warning}", args.config.display());
    }
    let suffix = directory.key_vault_dns_suffix.clone();
    let mut store = wif_sts::store::Store::new(config, base, args.state_file.clone());
    if let Some(path) = &args.admin_token_file {
        store = store.with_admin_token(read_admin_token(path)?);
    }
    let signing_key = match &args.signing_key {
        Some(path) => crate::issuer::load_signing_key(&path.to_string_lossy())?,
        None => SigningKey::generate(Algorithm::RS256)?,
    };
    let vault_names = [format!("*.{suffix}"), suffix.clone()];
    let tls = args
        .tls
        .source(&vault_names.iter().map(String::as_str).collect::<Vec<_>>())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut registry = Registry::default();
        let tenants = directory.tenants.len();
        let configured = args.public_url.clone().unwrap_or_default();
        let state = StsState::with_store(directory, signing_key, configured, &mut registry, store)
            .map_err(|e| anyhow::anyhow!("{}", wif_core::error_text::error_chain(&e)))?;
        let mut options = ServiceOptions::new(args.addr, args.health_addr, tls, &args.tls_min_version);
        options.limits = args.limits.limits();
        options.tunnel = args.vault_proxy_addr.map(|addr| (addr, wif_sts::vault::tunnel_policy(&suffix)));
        let bound = wif_server::bind(options, wif_sts::router(std::sync::Arc::clone(&state)), registry).await?;
        if args.public_url.is_none() {
            let mut reached = bound.address;
            if reached.ip().is_unspecified() {
                reached.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            state.set_public_url(format!("https://{reached}"));
        }
        if args.state_file.is_none() {
            tracing::info!("no --state-file: changes made through ARM, Graph and the vaults live in memory only");
        }
        // One banner line: tests and scripts read the first line and may close the pipe.
        let vault_proxy = bound.tunnel_address.map_or_else(String::new, |proxy| {
            format!(", vault hosts *.{suffix} through the CONNECT proxy http://{proxy}")
        });
        println!(
            "Entra ID emulator listening on https://{} with {tenants} tenant(s) as {} (health on http://{}){vault_proxy}",
            bound.address,
            state.public_url(),
            bound.health_address
        );
        tracing::info!(address = %bound.address, tenants, "sts serving");
        bound.serve(shutdown_signal()).await;
        Ok(())
    })
}
