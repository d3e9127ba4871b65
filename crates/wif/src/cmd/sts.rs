//! `wif sts`: the local Entra ID token endpoint. Real SDKs get tokens from it with
//! `AZURE_AUTHORITY_HOST=https://127.0.0.1:PORT` and its CA trusted.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use wif_azure::AzurePlane;
use wif_issuer::key_files::signing_key_from_file;
use wif_server::{ServiceOptions, shutdown_signal};
use wif_sts::Emulator;

/// `wif sts` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif sts --config directory.yaml --addr 127.0.0.1:8444 --self-signed-ca-out sts-ca.pem",
        "export AZURE_AUTHORITY_HOST=https://127.0.0.1:8444 REQUESTS_CA_BUNDLE=$PWD/sts-ca.pem",
    )
)]
pub struct StsArgs {
    /// The directory: tenants, applications, managed identities, federated credentials, issuers.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Listen address (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8444")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub tls: crate::cmd::service_args::TlsArgs,
    #[command(flatten)]
    pub limits: crate::cmd::service_args::LimitsArgs,
    /// Key that signs access tokens (PEM); a new one each start when absent.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// Minimum TLS version (1.2 or 1.3).
    #[arg(long, default_value = "1.2")]
    pub tls_min_version: String,
    /// Address of /healthz, /readyz and /metrics (plain HTTP).
    #[arg(long, default_value = "127.0.0.1:9441")]
    pub health_addr: SocketAddr,
    /// A bearer token (this file's first line) that reaches the whole Graph-shaped management
    /// API (federatedIdentityCredentials of every application and identity, every tenant);
    /// without it, only Graph tokens with the Graph permissions Entra requires reach it.
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// The emulator's URL as clients reach it (behind a port-forward or a proxy): every
    /// advertised URL and token `iss` uses it, whatever Host a request names. Default: the
    /// listen address (127.0.0.1 for an unspecified one).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Answer as Azure's public hosts: the CONNECT proxy (--vault-proxy-addr) also takes
    /// login.microsoftonline.com, management.azure.com and graph.microsoft.com, vaults are
    /// V.vault.azure.net and blob services A.blob.core.windows.net, and tokens and challenges
    /// name https://login.microsoftonline.com, so clients run with their production settings.
    #[arg(long, conflicts_with = "public_url")]
    pub production_names: bool,
    /// Where the directory and the local Azure plane (ARM, Graph, vaults, role assignments)
    /// are kept; read at start when it exists, so a restart keeps every acknowledged change
    /// (default: changes live in memory; the config file itself is never written).
    #[arg(long, value_name = "FILE")]
    pub state_file: Option<PathBuf>,
    /// Also listen here as an HTTP CONNECT proxy for vault hosts (`V.<keyVaultDnsSuffix>`) and
    /// blob hosts (`A.blob.<storageEndpointSuffix>`): clients set HTTPS_PROXY to it and NO_PROXY
    /// for the rest; any other host is refused.
    #[arg(long, value_name = "ADDR")]
    pub vault_proxy_addr: Option<SocketAddr>,
    /// Serve the web console under /_console/ (--addr must be a loopback address) and print a
    /// one-time login link on a second line of standard output.
    #[arg(long)]
    pub console: bool,
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
    let config = wif_azure::load_config(&args.config, args.state_file.as_deref())?;
    let base = base_dir(&args.config);
    let (directory, mut plane) =
        AzurePlane::new(config, base, args.state_file.clone()).with_context(|| args.config.display().to_string())?;
    for warning in directory.near_miss_warnings() {
        tracing::warn!(config = %args.config.display(), "{warning}");
        eprintln!("warning: {}: {warning}", args.config.display());
    }
    if let Some(path) = &args.admin_token_file {
        plane = plane.with_admin_token(read_admin_token(path)?);
    }
    if args.production_names {
        plane = plane.production_names();
    }
    let console = if args.console {
        anyhow::ensure!(
            args.addr.ip().is_loopback(),
            "--console: the console is for this machine only, and --addr {} is not a loopback address",
            args.addr
        );
        // The CONNECT front serves the same routes: it must not bring the console off loopback.
        if let Some(proxy) = args.vault_proxy_addr {
            anyhow::ensure!(
                proxy.ip().is_loopback(),
                "--console: the console is for this machine only, and --vault-proxy-addr {proxy} (which serves the same routes) is not a loopback address"
            );
        }
        let console = wif_console::Console::new(wif_console::Console::random_secret()?);
        plane = plane.beside(console.beside());
        Some(console.keys())
    } else {
        None
    };
    let suffix = plane.vault_dns_suffix().to_owned();
    let storage = plane.storage_suffix().to_owned();
    let tenants = directory.tenants.len();
    let mut emulator = Emulator::new(directory).plane(plane);
    if let Some(path) = &args.signing_key {
        emulator = emulator.signing_key(signing_key_from_file(path)?);
    }
    if args.production_names {
        emulator = emulator.public_url(wif_core::cloud::public::LOGIN_URL);
    } else if let Some(url) = &args.public_url {
        emulator = emulator.public_url(url);
    }
    let names = emulator.certificate_names();
    let tls = args.tls.source(&names.iter().map(String::as_str).collect::<Vec<_>>())?;
    let runtime = wif_server::runtime::build(wif_server::runtime::SERVER)?;
    runtime.block_on(async move {
        let mut options = ServiceOptions::new(args.addr, args.health_addr, tls, &args.tls_min_version);
        options.limits = args.limits.limits();
        let bound = emulator.bind(options, args.vault_proxy_addr).await?;
        if args.state_file.is_none() {
            tracing::info!("no --state-file: changes made through ARM, Graph and the vaults live in memory only");
        }
        let service = bound.service;
        // One banner line: tests and scripts read the first line and may close the pipe.
        let azure_hosts = if args.production_names {
            format!("{} (answered here, never by Azure), ", wif_core::cloud::public::HOSTS.join(", "))
        } else {
            String::new()
        };
        let vault_proxy = service.tunnel_address.map_or_else(String::new, |proxy| {
            format!(", {azure_hosts}vault hosts *.{suffix} and blob hosts *.blob.{storage} through the CONNECT proxy http://{proxy}")
        });
        // Before the line that says it listens: a SIGTERM sent by its reader stops it cleanly.
        let stop = shutdown_signal();
        println!(
            "Entra ID emulator listening on https://{} with {tenants} tenant(s) as {} (health on http://{}){vault_proxy}",
            service.address,
            bound.state.public_url(),
            service.health_address
        );
        if let Some(keys) = console {
            let token = keys.mint(wif_console::Console::random_nonce()?, wif_core::clock::unix_now());
            // A reader that took the first line only may have closed the pipe: that is no error.
            let mut out = std::io::stdout();
            let _ = writeln!(
                out,
                "console (works once, for 10 minutes): https://{}/_console/login?token={token}",
                service.address
            );
            let _ = out.flush();
        }
        tracing::info!(address = %service.address, tenants, "sts serving");
        service.serve(stop).await;
        Ok(())
    })
}
