//! `wif proxy`: the managed-identity sidecar (azure-workload-identity's `proxy` image, with its
//! flags), and `wif proxy init`, the iptables redirect its init container applies (upstream's
//! `proxy-init` image). Invoked as `/proxy` or `/proxy-init` (the names upstream's pod specs
//! use), the binary runs these without the subcommand words.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use wif_client::WorkloadIdentity;
use wif_core::settings::ProcessEnv;
use wif_proxy::{IdentityTable, Proxy, ProxyOptions, Redirect};

/// `wif proxy` flags.
#[derive(Debug, Clone, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Apps reach it as IMDS (169.254.169.254, redirected by `wif proxy init`, or\n\
AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:8000 for Python and JS SDKs), or by\n\
environment variables alone, as on App Service (every SDK, no iptables):\n\
  IDENTITY_ENDPOINT=http://127.0.0.1:8000/msi/token IDENTITY_HEADER=<the proxy's IDENTITY_HEADER>\n\
Identities: AZURE_CLIENT_ID (default) and AZURE_CLIENT_ID_<ALIAS>, each in AZURE_TENANT_ID\n\
(or AZURE_TENANT_ID_<ALIAS>); requests choose one with client_id=<client id or alias>;\n\
any other client id (a GUID) is exchanged in AZURE_TENANT_ID, as upstream does.",
    help_template = crate::cmd::help_with_examples!(
        "wif proxy                                  # as upstream's sidecar, on 127.0.0.1:8000",
        "IDENTITY_HEADER=$(openssl rand -hex 24) wif proxy --proxy-port 8000 --imds-passthrough 169.254.169.254:80",
    )
)]
pub struct ProxyArgs {
    #[command(subcommand)]
    pub command: Option<ProxyCommand>,
    /// Port on 127.0.0.1 (0: any free one, printed at start).
    #[arg(long, default_value_t = 8000)]
    pub proxy_port: u16,
    /// Probe a running proxy's /readyz (upstream's postStart hook) and exit.
    #[arg(long)]
    pub probe: bool,
    /// Forward other IMDS paths (instance metadata...) to this address; without it they are
    /// answered 404. In a pod: 169.254.169.254:80 (the proxy's UID is let through the redirect).
    #[arg(long, value_name = "ADDR")]
    pub imds_passthrough: Option<SocketAddr>,
    /// How long a request waits for a token exchange before it is answered 500.
    #[arg(long, default_value = "10s", value_parser = crate::cmd::service_args::parse_duration, value_name = "DURATION")]
    pub token_timeout: Duration,
    /// The App Service protocol's secret (16 characters or more): the endpoint /msi/token is
    /// served only when it is set, to requests whose X-IDENTITY-HEADER matches.
    #[arg(long, env = "IDENTITY_HEADER", hide_env_values = true, value_name = "SECRET")]
    pub identity_header: Option<String>,
    #[command(flatten)]
    pub limits: crate::cmd::service_args::LimitsArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ProxyCommand {
    /// Redirect the pod's IMDS traffic to the proxy with iptables (root, NET_ADMIN); run again,
    /// it changes nothing; --undo takes the redirect out.
    Init(InitArgs),
}

/// `wif proxy init` flags, each with upstream's variable.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif proxy init                   # as upstream's proxy-init container (PROXY_PORT, METADATA_IP...)",
        "wif proxy init --dry-run         # the iptables commands, not run",
        "wif proxy init --undo",
    )
)]
pub struct InitArgs {
    /// The proxy's port.
    #[arg(long, env = "PROXY_PORT", default_value_t = 8000)]
    pub proxy_port: u16,
    /// The metadata address redirected.
    #[arg(long, env = "METADATA_IP", default_value = "169.254.169.254")]
    pub metadata_ip: Ipv4Addr,
    /// The metadata port redirected.
    #[arg(long, env = "METADATA_PORT", default_value_t = 80)]
    pub metadata_port: u16,
    /// The proxy's user, whose own traffic to IMDS is not redirected.
    #[arg(long, env = "PROXY_UID", default_value_t = 1501)]
    pub proxy_uid: u32,
    /// Take the redirect out instead.
    #[arg(long)]
    pub undo: bool,
    /// Print the commands without running them.
    #[arg(long)]
    pub dry_run: bool,
    /// The iptables program.
    #[arg(long, default_value = "iptables", value_name = "PROGRAM")]
    pub iptables: String,
}

/// Runs `wif proxy` (or `--probe`, or `init`).
pub fn run(args: &ProxyArgs) -> Result<()> {
    if let Some(ProxyCommand::Init(init)) = &args.command {
        return run_init(init);
    }
    let runtime = wif_server::runtime::build(wif_server::runtime::SERVER)?;
    if args.probe {
        return runtime
            .block_on(wif_proxy::probe::probe(
                args.proxy_port,
                wif_proxy::probe::ATTEMPTS,
                wif_proxy::probe::INTERVAL,
            ))
            .map_err(Into::into);
    }
    let table = IdentityTable::from_env(
        &ProcessEnv,
        std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()),
    )
    .map_err(|e| anyhow::anyhow!(wif_core::error_text::error_chain(&e)))?;
    let options = ProxyOptions {
        port: args.proxy_port,
        identity_header: args.identity_header.clone(),
        passthrough: args.imds_passthrough,
        token_timeout: args.token_timeout,
        limits: args.limits.limits(),
    };
    runtime.block_on(async move {
        let workload = WorkloadIdentity::from_env(&ProcessEnv, None).map_err(|e| anyhow::anyhow!(e))?;
        let proxy = Proxy::bind(options, workload, table).await?;
        let served: Vec<String> = proxy
            .identities()
            .entries()
            .iter()
            .map(|e| match &e.alias {
                None => format!("{} in {}", e.identity.client_id, e.identity.tenant_id),
                Some(alias) => format!("{alias}: {} in {}", e.identity.client_id, e.identity.tenant_id),
            })
            .collect();
        // Before the line that says it listens: a SIGTERM sent by its reader stops it cleanly.
        let stop = wif_server::shutdown_signal();
        println!(
            "IMDS proxy listening on http://{} for {} identit{} ({}); App Service endpoint http://{}/msi/token {}",
            proxy.address,
            served.len(),
            if served.len() == 1 { "y" } else { "ies" },
            served.join(", "),
            proxy.address,
            if args.identity_header.is_some() {
                "on"
            } else {
                "off (no IDENTITY_HEADER)"
            },
        );
        tracing::info!(address = %proxy.address, identities = served.len(), "proxy serving");
        proxy.serve(stop).await;
        Ok(())
    })
}

fn iptables(program: &str, args: &[&str]) -> Result<String> {
    let output = Command::new(program)
        .args(["-w", "5", "-t", "nat"])
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program} (is iptables installed, and is this root with NET_ADMIN?)"))?;
    if !output.status.success() {
        bail!(
            "{program} -t nat {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn run_init(args: &InitArgs) -> Result<()> {
    let redirect = Redirect {
        proxy_port: args.proxy_port,
        metadata_ip: args.metadata_ip,
        metadata_port: args.metadata_port,
        proxy_uid: args.proxy_uid,
    };
    let listing = iptables(&args.iptables, &["-S"])?;
    let plan = if args.undo {
        Redirect::plan_undo(&listing)
    } else {
        redirect.plan_apply(&listing)
    };
    for command in &plan {
        println!("iptables -t nat {}", command.join(" "));
        if !args.dry_run {
            let words: Vec<&str> = command.iter().map(String::as_str).collect();
            iptables(&args.iptables, &words)?;
        }
    }
    let what = if args.undo { "removed" } else { "in place" };
    match (plan.len(), args.dry_run) {
        (0, _) => println!("the redirect is already {what}: nothing changed"),
        (n, true) => println!("{n} change(s) planned, none made (--dry-run)"),
        (n, false) => println!("{n} change(s) made: the redirect is {what}"),
    }
    if !args.dry_run {
        print!("{}", iptables(&args.iptables, &["--list"])?);
    }
    Ok(())
}
