//! `wif up`: workload identity on a developer's laptop. A cluster OIDC issuer, the Entra ID
//! emulator trusting it, and the managed-identity proxy run on loopback; a projected token is
//! written and rewritten as kubelet does; the variables an app needs are written to an env
//! file and printed, so code using `DefaultAzureCredential` runs unchanged here and in a
//! cluster. Ports, keys and the CA live in the state directory ([`state`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use prometheus_client::registry::Registry;
use wif_azure::AzurePlane;
use wif_core::contract;
use wif_issuer::{TokenFile, TokenWriter};
use wif_server::{ServiceOptions, TlsSource};
use wif_sts::Emulator;

use config::{Account, accounts, default_config, directory};
use state::{State, lock};

mod config;
mod state;

/// `wif up` flags.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  wif up                                  # one tenant, one app, default/default trusted\n  \
eval \"$(wif up --print-env)\"            # in another shell: the app's variables\n  \
wif up --config wif.yaml --env-file .env.wif"
)]
pub struct UpArgs {
    /// Tenants, applications, identities and credentials (the emulator's directory shape; a
    /// credential's issuer defaults to the local issuer) and `serviceAccounts:` (namespace,
    /// name, clientId, tenantId, identities: {ALIAS: {clientId, tenantId}}).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where ports, keys and the CA are kept (default: $XDG_DATA_HOME/wif/up or ~/.local/share/wif/up).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Where the variables are written (default: STATE_DIR/env).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Print the variables for `eval "$(wif up --print-env)"` and exit (the servers are not started).
    #[arg(long)]
    pub print_env: bool,
    /// Print the lines that point azure-cli at the local Azure plane (custom cloud, proxy for
    /// vault hosts, federated login) and exit (the servers are not started).
    #[arg(long, conflicts_with = "print_env")]
    pub print_az_setup: bool,
    /// The ServiceAccount the variables are for (NAMESPACE/NAME; default: the first of the config).
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub service_account: Option<String>,
    /// Lifetime of the projected tokens; they are rewritten at 80% of it, as kubelet does.
    #[arg(long, default_value = "1h", value_parser = crate::cmd::service_args::parse_duration, value_name = "DURATION")]
    pub token_lifetime: Duration,
}

/// POSIX-shell quoting: single quotes, with `'` written as `'\''`.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The app's variables for `account`, whose identity is `(client id, tenant)`.
fn env_lines(state: &State, account: &Account, identity: &(String, String)) -> Vec<(String, String)> {
    let ca = state.ca_file().display().to_string();
    let bundle = state.ca_bundle().display().to_string();
    let mut lines = vec![
        (contract::ENV_AUTHORITY_HOST.to_owned(), state.sts_url()),
        (contract::ENV_TENANT_ID.into(), identity.1.clone()),
        (contract::ENV_CLIENT_ID.into(), identity.0.clone()),
        (
            contract::ENV_FEDERATED_TOKEN_FILE.into(),
            state
                .token_file(&account.namespace, &account.name)
                .display()
                .to_string(),
        ),
        ("REQUESTS_CA_BUNDLE".into(), bundle.clone()),
        ("SSL_CERT_FILE".into(), bundle),
        ("NODE_EXTRA_CA_CERTS".into(), ca),
        (
            "IDENTITY_ENDPOINT".into(),
            format!("http://127.0.0.1:{}/msi/token", state.ports.proxy_port),
        ),
        ("IDENTITY_HEADER".into(), state.ports.identity_header.clone()),
    ];
    for (alias, client, tenant) in &account.named {
        let suffix = wif_core::mutation::alias_env_suffix(alias).unwrap_or_else(|| alias.to_ascii_uppercase());
        lines.push((format!("{}_{suffix}", contract::ENV_CLIENT_ID), client.clone()));
        lines.push((format!("{}_{suffix}", contract::ENV_TENANT_ID), tenant.clone()));
    }
    lines
}

fn env_text(lines: &[(String, String)]) -> String {
    lines
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", quote(v)))
        .collect()
}

/// The account the variables are for, and its identity: the one asked for, else the first
/// with a client id.
fn chosen<'a>(accounts: &'a [Account], wanted: Option<&str>) -> Result<(&'a Account, (String, String))> {
    let account = match wanted {
        None => accounts
            .iter()
            .find(|a| a.identity.is_some())
            .context("no serviceAccounts entry has a clientId: give one an identity of the config")?,
        Some(wanted) => accounts
            .iter()
            .find(|a| format!("{}/{}", a.namespace, a.name) == wanted)
            .with_context(|| {
                let known: Vec<String> = accounts.iter().map(|a| format!("{}/{}", a.namespace, a.name)).collect();
                format!(
                    "--service-account {wanted} is not in the config (it has {})",
                    known.join(", ")
                )
            })?,
    };
    let identity = account.identity.clone().with_context(|| {
        format!(
            "ServiceAccount {}/{} has no clientId in the config: it gets a token file only",
            account.namespace, account.name
        )
    })?;
    Ok((account, identity))
}

/// The lines that point azure-cli at the local Azure plane and log it in as `identity`
/// with `account`'s projected token (spec/azure-control-plane.md §1, protocols.md §3.5).
fn az_setup_lines(state: &State, account: &Account, identity: &(String, String)) -> String {
    let dir = state.dir.join("azure-cli").display().to_string();
    let token = state
        .token_file(&account.namespace, &account.name)
        .display()
        .to_string();
    let proxy = format!("http://127.0.0.1:{}", state.ports.vault_proxy_port);
    format!(
        "export AZURE_CONFIG_DIR={} REQUESTS_CA_BUNDLE={}\n\
export HTTPS_PROXY={} NO_PROXY=127.0.0.1,localhost\n\
az cloud show -n WifLocal --output none 2>/dev/null || az cloud register -n WifLocal --endpoint-resource-manager {}/\n\
az cloud set -n WifLocal\n\
az config set core.instance_discovery=false\n\
az login --service-principal -u {} -t {} --federated-token \"$(cat {})\"\n",
        quote(&dir),
        quote(&state.ca_bundle().display().to_string()),
        quote(&proxy),
        state.sts_url(),
        identity.0,
        identity.1,
        quote(&token),
    )
}

/// Runs `wif up`.
pub fn run(args: &UpArgs) -> Result<()> {
    let dir = match &args.state_dir {
        Some(dir) => dir.clone(),
        None => state::default_dir()?,
    };
    state::prepare_dir(&dir)?;
    let config = match &args.config {
        Some(path) => {
            let text = crate::input::read_source(&path.to_string_lossy())?;
            let mut documents = crate::input::parse_stream(&text, &path.display().to_string())?;
            if documents.len() != 1 {
                bail!("{}: expected one YAML document", path.display());
            }
            documents.remove(0)
        }
        None => default_config(),
    };
    let accounts = accounts(&config).with_context(|| match &args.config {
        Some(path) => path.display().to_string(),
        None => "the default config".into(),
    })?;
    let (account, identity) = chosen(&accounts, args.service_account.as_deref())?;
    let account = account.clone();
    let suffix = config::vault_suffix(&config);
    if args.print_env || args.print_az_setup {
        let state = State::load_or_create(&dir, &suffix)?;
        if args.print_env {
            print!("{}", env_text(&env_lines(&state, &account, &identity)));
        } else {
            print!("{}", az_setup_lines(&state, &account, &identity));
        }
        return Ok(());
    }
    let _lock = lock(&dir)?;
    let state = State::load_or_create(&dir, &suffix)?;
    let directory = directory(&config, &accounts, &state)?;
    let runtime = wif_server::runtime::build(wif_server::runtime::SERVER)?;
    runtime.block_on(serve(args, state, accounts, (account, identity), directory))
}

fn port_taken(what: &str, port: u16, state: &State) -> impl Fn(anyhow::Error) -> anyhow::Error {
    let message = format!(
        "{what}'s port 127.0.0.1:{port} (kept in {}) cannot be bound: another program may hold it; stop that program, or remove {} to pick new ports",
        state.dir.join("state.json").display(),
        state.dir.join("state.json").display()
    );
    move |e| e.context(message.clone())
}

async fn serve(
    args: &UpArgs,
    state: State,
    accounts: Vec<Account>,
    (account, identity): (Account, (String, String)),
    directory: String,
) -> Result<()> {
    let tls = || TlsSource::CertDir(state.dir.join("tls"));
    let loopback = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stops = Vec::new();
    let mut tasks = Vec::new();

    // The cluster's issuer.
    let issuer_url = state.issuer_url();
    let documents = wif_issuer::IssuerDocuments::new(&issuer_url, None, std::slice::from_ref(state.key.public_key()))?;
    let options = ServiceOptions::new(loopback(state.ports.issuer_port), loopback(0), tls(), "1.2");
    let issuer = wif_server::bind(options, documents.router(), Registry::default())
        .await
        .map_err(anyhow::Error::from)
        .map_err(port_taken("the issuer", state.ports.issuer_port, &state))?;

    // The projected tokens, before anything asks for them.
    let files: Vec<TokenFile> = accounts
        .iter()
        .map(|a| TokenFile {
            namespace: a.namespace.clone(),
            name: a.name.clone(),
            path: state.token_file(&a.namespace, &a.name),
        })
        .collect();
    let writer = TokenWriter::new(Arc::clone(&state.key), &issuer_url, files, args.token_lifetime);
    tasks.push(wif_server::supervise("token rotation", move || writer.clone().run()));

    // The emulator and the local Azure plane, from their state file once there is one.
    let state_file = state.azure_state_file();
    let config: wif_azure::AzureConfig = if state_file.exists() {
        // On stderr: the first line on stdout stays the "ready" banner scripts wait for.
        eprintln!(
            "wif up: the local Azure plane's state is read from {} (remove it to start again from the config)",
            state_file.display()
        );
        wif_azure::store::load_state(&state_file)?
    } else {
        serde_json::from_str(&directory).context("the directory made from the config")?
    };
    let read_from = if state_file.exists() {
        state_file.display().to_string()
    } else {
        "the config".into()
    };
    let (parsed, plane) = AzurePlane::new(config, state.dir.clone(), Some(state_file))
        .with_context(|| format!("the directory (from {read_from})"))?;
    let suffix = plane.vault_dns_suffix().to_owned();
    let emulator = Emulator::new(parsed)
        .signing_key(state.sts_key()?)
        .public_url(state.sts_url())
        .plane(plane);
    let options = ServiceOptions::new(loopback(state.ports.sts_port), loopback(0), tls(), "1.2");
    let sts = emulator
        .bind(options, Some(loopback(state.ports.vault_proxy_port)))
        .await
        .map_err(|e| match e {
            // Each listener by its own port: a taken vault proxy port is not the emulator's.
            proxy @ wif_sts::EmulatorError::VaultProxy { .. } => {
                port_taken("the vault CONNECT proxy", state.ports.vault_proxy_port, &state)(proxy.into())
            }
            other => port_taken("the emulator", state.ports.sts_port, &state)(other.into()),
        })?
        .service;

    // The proxy, with the pod's environment.
    let lines = env_lines(&state, &account, &identity);
    let env: HashMap<&str, String> = lines.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let table = wif_proxy::IdentityTable::from_env(&env, env.keys().map(|k| (*k).to_owned()))?;
    let workload = wif_client::WorkloadIdentity::from_env(&env, Some(std::fs::read(state.ca_file())?.as_slice()))?;
    let proxy = wif_proxy::Proxy::bind(
        wif_proxy::ProxyOptions {
            port: state.ports.proxy_port,
            identity_header: Some(state.ports.identity_header.clone()),
            ..wif_proxy::ProxyOptions::default()
        },
        workload,
        table,
    )
    .await
    .map_err(anyhow::Error::from)
    .map_err(port_taken("the proxy", state.ports.proxy_port, &state))?;

    for serve in [
        Box::pin(issuer.serve(stopped(&mut stops))) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
        Box::pin(sts.serve(stopped(&mut stops))),
        Box::pin(proxy.serve(stopped(&mut stops))),
    ] {
        tasks.push(tokio::spawn(serve));
    }

    let env_file = args.env_file.clone().unwrap_or_else(|| state.dir.join("env"));
    wif_issuer::files::write_private(&env_file, env_text(&lines).as_bytes(), true)?;
    println!(
        "wif up: ready. issuer {issuer_url}, Entra ID emulator {}, IMDS proxy http://127.0.0.1:{}; state in {}",
        state.sts_url(),
        state.ports.proxy_port,
        state.dir.display()
    );
    println!(
        "the variables of ServiceAccount {}/{} (written to {}; source it, or eval \"$(wif up --print-env)\"):",
        account.namespace,
        account.name,
        env_file.display()
    );
    print!("{}", env_text(&lines));
    println!(
        "the local Azure plane (ARM and Graph at {}/, vaults *.{suffix} through http://127.0.0.1:{}); for azure-cli, paste (or eval \"$(wif up --print-az-setup)\"):",
        state.sts_url(),
        state.ports.vault_proxy_port
    );
    print!("{}", az_setup_lines(&state, &account, &identity));
    println!("Ctrl-C stops every server.");
    wif_server::shutdown_signal().await;
    for stop in stops {
        let _ = stop.send(());
    }
    for task in tasks {
        task.abort();
        let _ = task.await;
    }
    println!("wif up: stopped");
    Ok(())
}

/// A future that resolves when its sender (pushed to `stops`) fires or is dropped.
fn stopped(
    stops: &mut Vec<tokio::sync::oneshot::Sender<()>>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    stops.push(stop);
    async move {
        let _ = stopped.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_any_value() {
        assert_eq!(quote("plain"), "'plain'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
