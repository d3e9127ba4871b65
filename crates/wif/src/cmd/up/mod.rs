//! `wif up`: workload identity on a developer's laptop. A cluster OIDC issuer, the Entra ID
//! emulator trusting it, and the managed-identity proxy run on loopback; a projected token is
//! written and rewritten as kubelet does; the variables an app needs are written to an env
//! file and printed, so code using `DefaultAzureCredential` runs unchanged here and in a
//! cluster. Ports, keys and the CA live in the state directory ([`state`]), with the config a
//! running instance serves, which the printing flags of another shell follow ([`running`]);
//! what it prints (variables, azure-cli's lines, the ready banner listing every token file)
//! is [`output`]'s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use prometheus_client::registry::Registry;
use wif_azure::AzurePlane;
use wif_issuer::{TokenFile, TokenWriter};
use wif_server::{ServiceOptions, TlsSource};
use wif_sts::Emulator;

use config::{Account, accounts, default_config, directory};
use output::{Naming, Ready, az_setup_lines, env_lines, env_text, served_identity, token_only_note, wanted};
use running::{Running, Source};
use state::{State, lock};

mod config;
mod console;
pub(crate) mod management;
mod output;
mod running;
mod state;

/// `wif up` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif up                          # one tenant, one app, default/default trusted",
        "wif up --config wif.yaml --env-file .env.wif",
        "eval \"$(wif up --print-env)\"    # in another shell: the running wif up's variables",
        "eval \"$(wif up --print-env --service-account default/sa)\"   # an account without clientId: its token file",
        "wif up --production-names       # answer as login.microsoftonline.com, *.vault.azure.net, ...",
    )
)]
pub struct UpArgs {
    /// Tenants, applications, identities and credentials (the emulator's directory shape; a
    /// credential's issuer defaults to the local issuer) and `serviceAccounts:` (namespace,
    /// name, clientId, tenantId, identities: {ALIAS: {clientId, tenantId}}). The printing
    /// flags need it only when no `wif up` runs on the state directory: one that runs
    /// recorded its config there (a different one is refused).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where ports, keys and the CA are kept (default: $XDG_DATA_HOME/wif/up or ~/.local/share/wif/up).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Where the variables are written (default: STATE_DIR/env).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Print the variables for `eval "$(wif up --print-env)"` and exit (the servers are not
    /// started); for the `wif up` running on the state directory, when one runs (its config
    /// and --service-account).
    #[arg(long)]
    pub print_env: bool,
    /// Print the lines that point azure-cli at the local Azure plane (custom cloud, proxy for
    /// vault hosts, federated login) and exit (the servers are not started).
    #[arg(long, conflicts_with = "print_env")]
    pub print_az_setup: bool,
    /// The ServiceAccount the variables are for (NAMESPACE/NAME; default: the first with a
    /// clientId). One without a clientId is for --print-env only: its token file, tenant and
    /// CA, no AZURE_CLIENT_ID.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub service_account: Option<String>,
    /// Lifetime of the projected tokens; they are rewritten at 80% of it, as kubelet does.
    #[arg(long, default_value = "1h", value_parser = crate::cmd::service_args::parse_duration, value_name = "DURATION")]
    pub token_lifetime: Duration,
    /// Answer as Azure's public hosts: login.microsoftonline.com, management.azure.com,
    /// graph.microsoft.com, *.vault.azure.net and *.blob.core.windows.net, for the processes
    /// given the printed variables (HTTPS_PROXY to wif up's CONNECT proxy, its CA, the JVM's
    /// trust store), so apps and azure-cli run with their production settings. Nothing is
    /// forwarded to Azure; any other host is refused. The printing flags follow the running
    /// wif up's choice.
    #[arg(long)]
    pub production_names: bool,
    /// Print a new one-time login link to the web console of the wif up running on the
    /// state directory, and exit (each link works once, for 10 minutes).
    #[arg(long, conflicts_with_all = ["print_env", "print_az_setup"])]
    pub console_link: bool,
}

/// Runs `wif up`.
pub fn run(args: &UpArgs) -> Result<()> {
    let dir = match &args.state_dir {
        Some(dir) => dir.clone(),
        None => state::default_dir()?,
    };
    state::prepare_dir(&dir)?;
    if args.console_link {
        return console::print_link(&dir);
    }
    let given = args.config.as_deref().map(read_config).transpose()?;
    if args.print_env || args.print_az_setup {
        return print(args, &dir, given);
    }
    let source = given.unwrap_or(Source {
        config: None,
        document: default_config(),
    });
    let document = &source.document;
    let accounts = accounts(document).with_context(|| source.label())?;
    let account = wanted(&accounts, args.service_account.as_deref())?.clone();
    let identity = served_identity(&account)?;
    let _lock = lock(&dir)?;
    // What this instance serves, for the printing commands of other shells.
    let running = Running {
        source: source.clone(),
        service_account: args.service_account.clone(),
        production_names: args.production_names,
    };
    running.write(&dir)?;
    let state = State::load_or_create(
        &dir,
        &config::vault_suffix(document),
        &config::storage_suffix(document),
        args.production_names,
    )?;
    let directory = directory(document, &accounts, &state)?;
    let runtime = wif_server::runtime::build(wif_server::runtime::SERVER)?;
    runtime.block_on(serve(args, state, accounts, (account, identity), directory))
}

/// The config file `path` (one YAML document), named absolutely for the running record.
fn read_config(path: &Path) -> Result<Source> {
    let text = crate::input::read_source(&path.to_string_lossy())?;
    let mut documents = crate::input::parse_stream(&text, &path.display().to_string())?;
    if documents.len() != 1 {
        bail!("{}: expected one YAML document", path.display());
    }
    Ok(Source {
        config: Some(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())),
        document: documents.remove(0),
    })
}

/// `--print-env` and `--print-az-setup`: for the `wif up` running on `dir` when one does
/// (its config and account), else for `given` or the default config. The servers are not
/// started.
fn print(args: &UpArgs, dir: &Path, given: Option<Source>) -> Result<()> {
    let running = if state::held(dir)? {
        let recorded = Running::read(dir)?.with_context(|| {
            format!(
                "a wif up runs on {} but recorded no config there (one older than this wif?): stop it and start it again",
                dir.display()
            )
        })?;
        Some(recorded)
    } else {
        None
    };
    let naming = match &running {
        Some(running) if args.production_names && !running.production_names => bail!(
            "--production-names: the wif up running on {} answers by its own names (it started without --production-names); leave the flag out to print for it, or stop it and start it with --production-names",
            dir.display()
        ),
        Some(running) => naming_of(running.production_names),
        None => naming_of(args.production_names),
    };
    let printed = running::for_printing(dir, running, given, default_config(), args.service_account.as_deref())?;
    let document = &printed.source.document;
    let accounts = accounts(document).with_context(|| printed.source.label())?;
    let account = wanted(&accounts, printed.service_account.as_deref())?;
    let state = State::load_or_create(
        dir,
        &config::vault_suffix(document),
        &config::storage_suffix(document),
        naming == Naming::Azure,
    )?;
    if args.print_env {
        // An account without a client id gets its token file's variables all the same.
        let lines = env_lines(&state, account, naming)?;
        if let Some(note) = token_only_note(account) {
            eprintln!("{note}");
        }
        if naming == Naming::Azure {
            eprintln!("wif up: {}", output::AZURE_NAMES_WARNING);
        }
        print!("{}", env_text(&lines, naming));
    } else {
        let identity = served_identity(account)?;
        print!("{}", az_setup_lines(&state, account, &identity, naming));
    }
    Ok(())
}

/// The naming `--production-names` picks.
fn naming_of(production_names: bool) -> Naming {
    if production_names { Naming::Azure } else { Naming::Local }
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
    let (parsed, mut plane) = AzurePlane::new(config, state.dir.clone(), Some(state_file))
        .with_context(|| format!("the directory (from {read_from})"))?;
    let naming = naming_of(args.production_names);
    // Tokens, discovery and challenges name the authority the apps were given.
    let authority = match naming {
        Naming::Local => state.sts_url(),
        Naming::Azure => {
            plane = plane.production_names();
            wif_core::cloud::public::LOGIN_URL.to_owned()
        }
    };
    // The console answers on the emulator's own loopback address, whatever names it answers by.
    let console = console::start(&state.dir, &state.sts_url())?;
    let console_keys = console.keys();
    plane = plane.beside(console.beside());
    // Graph's management API for this user's other commands (`wif migrate pod-identity --apply`).
    let admin = management::start(&state.dir, &state.sts_url(), &state.issuer_url(), &state.ca_file())?;
    plane = plane.with_admin_token(admin);
    let (suffix, storage_suffix) = (plane.vault_dns_suffix().to_owned(), plane.storage_suffix().to_owned());
    let emulator = Emulator::new(parsed)
        .signing_key(state.sts_key()?)
        .public_url(authority)
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

    // The proxy, with the pod's environment; it reaches the emulator directly, by its port.
    let direct = env_lines(&state, &account, Naming::Local)?;
    let env: HashMap<&str, String> = direct.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
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
    let lines = env_lines(&state, &account, naming)?;
    wif_issuer::files::write_private(&env_file, env_text(&lines, naming).as_bytes(), true)?;
    let ready = Ready {
        state: &state,
        accounts: &accounts,
        account: &account,
        identity: &identity,
        lines: &lines,
        env_file,
        vault_suffix: &suffix,
        storage_suffix: &storage_suffix,
        naming,
        command: output::same_up(args.state_dir.as_deref(), args.config.as_deref()),
        service_account: args.service_account.as_deref(),
        console_link: console::link(&console_keys, &state.sts_url())?,
    };
    // Before the banner: a SIGTERM sent by whoever read it stops every server cleanly.
    let stop = wif_server::shutdown_signal();
    print!("{}", ready.text());
    stop.await;
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
