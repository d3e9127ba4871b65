//! `wif`: workload identity federation for Kubernetes. One binary, a thin clap shell over
//! the library crates: each command lives in [`cmd`]; [`input`] reads files and streams for
//! them, [`kube_client`] connects to a cluster.

mod cmd;
mod input;
mod kube_client;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cmd::{demo, doctor, issuer, jwks, migrate, proxy, render, sts, token, up, webhook};
use tracing_subscriber::EnvFilter;

// The servers parse JSON on every request from several threads; glibc's allocator spent a
// quarter of the webhook's time in malloc and free (scripts/bench-webhook under perf).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Workload identity federation for Kubernetes: a drop-in for azure-workload-identity.
#[derive(Debug, Parser)]
#[command(name = "wif", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Log level (error, warn, info, debug, trace) or a tracing filter directive.
    #[arg(
        long,
        global = true,
        env = "WIF_LOG",
        default_value = "warn",
        help_heading = "Global options"
    )]
    log_level: String,
    /// Log format on stderr (default: json for the webhook, as upstream; text otherwise).
    #[arg(long, global = true, value_parser = ["text", "json"], help_heading = "Global options")]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole federation flow on loopback and show each step.
    Demo(demo::DemoArgs),
    /// Find what makes workload identity federation fail: manifests, credentials, a token.
    Doctor(Box<doctor::DoctorArgs>),
    /// Apply the webhook's mutation to manifests offline (GitOps, Helm post-renderer).
    Render(Box<render::RenderArgs>),
    /// Build the JWKS of service-account keys (same output as `azwi jwks`).
    Jwks(jwks::JwksArgs),
    /// Move workloads to workload identity: from aad-pod-identity (`wif migrate pod-identity`).
    #[command(subcommand)]
    Migrate(migrate::MigrateCommand),
    /// OIDC issuer tooling for self-managed clusters: keys, discovery, tokens, serving.
    #[command(subcommand)]
    Issuer(issuer::IssuerCommand),
    /// A local Entra ID token endpoint that real Azure SDKs get tokens from.
    Sts(Box<sts::StsArgs>),
    /// The managed-identity sidecar: IMDS and App Service token endpoints on 127.0.0.1
    /// (azure-workload-identity's proxy); `init` sets up the iptables redirect to it.
    Proxy(Box<proxy::ProxyArgs>),
    /// Exchange the projected token for access tokens; inspect a projected token.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Workload identity on this machine: issuer, Entra ID emulator and IMDS proxy on
    /// loopback, a projected token kept fresh, and the variables an app needs.
    Up(Box<up::UpArgs>),
    /// The mutating admission webhook server (azure-workload-identity compatible).
    Webhook(Box<webhook::WebhookArgs>),
}

/// The log filter of `--log-level`: upstream's levels ("" is warning, `all` is trace), the
/// usual ones, or a tracing directive (`wif_sts=debug,info`). Anything else is refused: a
/// mistyped level would otherwise read as a target name and silence every log.
fn log_filter(level: &str) -> Result<EnvFilter, String> {
    let level = match level.trim().to_ascii_lowercase().as_str() {
        "" | "warning" => "warn".to_owned(),
        "all" => "trace".to_owned(),
        other => other.to_owned(),
    };
    let is_level = matches!(level.as_str(), "off" | "error" | "warn" | "info" | "debug" | "trace");
    let is_directive = level.contains(['=', ',', ':']);
    if !is_level && !is_directive {
        return Err(format!(
            "--log-level {level:?} is neither a level (error, warn, info, debug, trace, off; upstream's \"\" and all) nor a filter such as wif_sts=debug,info"
        ));
    }
    // The platform verifier logs every refused certificate, and kube's client every failed
    // request, at ERROR before the caller sees the error and says what to do; below trace,
    // the caller's words are enough.
    let level = if is_level && level != "trace" {
        format!("{level},rustls_platform_verifier=off,kube_client::client::builder=off")
    } else {
        level
    };
    EnvFilter::try_new(&level).map_err(|e| format!("--log-level {level:?}: {e}"))
}

fn init_logging(filter: EnvFilter, format: &str) {
    // Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The command line, with the subcommand words added when the binary is invoked by the name
/// upstream's images give it: `/proxy ARGS` is `wif proxy ARGS`, `/proxy-init` is
/// `wif proxy init` (the pod specs the webhook injects run these).
fn command_line() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let words: &[&str] = match invoked_as.as_str() {
        "proxy" => &["proxy"],
        "proxy-init" => &["proxy", "init"],
        _ => &[],
    };
    for (i, word) in words.iter().enumerate() {
        args.insert(1 + i, word.into());
    }
    args
}

/// `wif ... | head` closes the pipe early: Rust's `print!` then panics with "failed printing to
/// stdout: Broken pipe". A reader that stopped reading is not an error of ours, so that one
/// panic ends the process quietly with the status a shell gives SIGPIPE (128 + 13), as C
/// tools do; every other panic keeps the default report.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse_from(command_line());
    // The demo prints every refusal it provokes; its servers' warnings would say it twice.
    let level = if matches!(cli.command, Command::Demo(_)) && cli.log_level == "warn" {
        "error"
    } else {
        &cli.log_level
    };
    let format = cli.log_format.clone().unwrap_or_else(|| {
        if matches!(cli.command, Command::Webhook(_)) {
            "json".into()
        } else {
            "text".into()
        }
    });
    match log_filter(level) {
        Ok(filter) => init_logging(filter, &format),
        Err(message) => {
            eprintln!("wif: {message}");
            return ExitCode::from(2);
        }
    }
    let result = match &cli.command {
        Command::Doctor(args) => return doctor::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Render(args) => render::run(args),
        Command::Jwks(args) => jwks::run(args),
        Command::Migrate(command) => migrate::run(command),
        Command::Issuer(command) => issuer::run(command),
        Command::Sts(args) => sts::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::Token(command) => token::run(command),
        Command::Up(args) => up::run(args),
        Command::Webhook(args) => webhook::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wif: {}", wif_core::error_text::for_people(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}
