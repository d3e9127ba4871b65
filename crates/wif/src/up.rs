//! `wif up`: workload identity on a developer's laptop. A cluster OIDC issuer, the Entra ID
//! emulator trusting it, and the managed-identity proxy run on loopback; a projected token is
//! written and rewritten as kubelet does; the variables an app needs are written to an env
//! file and printed, so code using `DefaultAzureCredential` runs unchanged here and in a
//! cluster. Ports, keys and the CA live in the state directory ([`crate::up_state`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use wif_core::contract;
use wif_server::{ServiceOptions, TlsSource};

use crate::up_state::{State, lock, write_atomically};

/// The default identity of a zero-configuration `wif up`.
pub const DEFAULT_TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
/// See [`DEFAULT_TENANT`].
pub const DEFAULT_CLIENT: &str = "11111111-0000-4000-8000-000000000001";

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
    /// The ServiceAccount the variables are for (NAMESPACE/NAME; default: the first of the config).
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub service_account: Option<String>,
    /// Lifetime of the projected tokens; they are rewritten at 80% of it, as kubelet does.
    #[arg(long, default_value = "1h", value_parser = crate::service_args::parse_duration, value_name = "DURATION")]
    pub token_lifetime: Duration,
}

/// One local ServiceAccount and the identities its pods use.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    namespace: String,
    name: String,
    /// The default identity: client id and tenant.
    identity: (String, String),
    /// Named identities: alias, client id, tenant.
    named: Vec<(String, String, String)>,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The zero-configuration directory: one tenant, one application, default/default trusted.
fn default_config() -> Value {
    json!({
        "tenants": [{
            "tenantId": DEFAULT_TENANT,
            "domain": "local.onmicrosoft.com",
            "applications": [{"displayName": "local-app", "appId": DEFAULT_CLIENT}],
        }],
        "serviceAccounts": [{"namespace": "default", "name": "default", "clientId": DEFAULT_CLIENT}],
    })
}

/// The tenant holding client id `client` (an application's appId or an identity's clientId).
fn owner_tenant(config: &Value, client: &str) -> Option<String> {
    config["tenants"].as_array()?.iter().find_map(|tenant| {
        let holds = ["applications", "userAssignedIdentities"].iter().any(|list| {
            tenant[*list].as_array().into_iter().flatten().any(|p| {
                text(p, "appId")
                    .or_else(|| text(p, "clientId"))
                    .is_some_and(|id| id.eq_ignore_ascii_case(client))
            })
        });
        holds.then(|| text(tenant, "tenantId")).flatten()
    })
}

/// The accounts of `config`, each identity checked against its tenants.
fn accounts(config: &Value) -> Result<Vec<Account>> {
    let list = config["serviceAccounts"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        bail!("the config names no serviceAccounts (namespace, name, clientId)");
    }
    let identity = |entry: &Value, at: &str| -> Result<(String, String)> {
        let client = text(entry, "clientId").with_context(|| format!("{at}: clientId is missing"))?;
        let owner = owner_tenant(config, &client).with_context(|| {
            format!("{at}: client id {client} is no application or managed identity of the config's tenants")
        })?;
        Ok((client, text(entry, "tenantId").unwrap_or(owner)))
    };
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            let at = format!("serviceAccounts[{i}]");
            let mut named = Vec::new();
            for (alias, id) in entry["identities"].as_object().into_iter().flatten() {
                let (client, tenant) = identity(id, &format!("{at}.identities.{alias}"))?;
                named.push((alias.to_ascii_lowercase(), client, tenant));
            }
            Ok(Account {
                namespace: text(entry, "namespace").unwrap_or_else(|| "default".into()),
                name: text(entry, "name").with_context(|| format!("{at}: name is missing"))?,
                identity: identity(entry, &at)?,
                named,
            })
        })
        .collect()
}

/// The emulator's directory: the config's tenants, every credential's issuer defaulting to the
/// local issuer, a credential added for each account's identities that has none for it, and
/// the local issuer trusted with its CA.
fn directory(config: &Value, accounts: &[Account], state: &State) -> Result<String> {
    let issuer = state.issuer_url();
    let mut tenants = config["tenants"].clone();
    for tenant in tenants.as_array_mut().into_iter().flatten() {
        for list in ["applications", "userAssignedIdentities"] {
            for parent in tenant.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
                let id = text(parent, "appId")
                    .or_else(|| text(parent, "clientId"))
                    .unwrap_or_default();
                let credentials = parent
                    .as_object_mut()
                    .context("an application or identity must be a map")?
                    .entry("federatedIdentityCredentials")
                    .or_insert_with(|| json!([]));
                let credentials = credentials
                    .as_array_mut()
                    .context("federatedIdentityCredentials must be a list")?;
                for credential in credentials.iter_mut() {
                    let map = credential.as_object_mut().context("a credential must be a map")?;
                    map.entry("issuer").or_insert_with(|| json!(issuer));
                    map.entry("audiences")
                        .or_insert_with(|| json!([contract::DEFAULT_AUDIENCE]));
                }
                for account in accounts {
                    let subject = wif_core::doctor::subject_of(&account.namespace, &account.name);
                    let uses = std::iter::once(&account.identity.0)
                        .chain(account.named.iter().map(|(_, c, _)| c))
                        .any(|c| c.eq_ignore_ascii_case(&id));
                    let trusted = credentials.iter().any(|c| c["subject"] == subject.as_str());
                    if uses && !trusted {
                        credentials.push(json!({
                            "name": format!("wif-up-{}-{}", account.namespace, account.name),
                            "issuer": issuer,
                            "subject": subject,
                            "audiences": [contract::DEFAULT_AUDIENCE],
                        }));
                    }
                }
            }
        }
    }
    let directory = json!({
        "tenants": tenants,
        "issuers": [{"issuer": issuer, "caFile": state.ca_file().display().to_string()}],
    });
    Ok(serde_json::to_string(&directory)?)
}

/// POSIX-shell quoting: single quotes, with `'` written as `'\''`.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The app's variables for `account`.
fn env_lines(state: &State, account: &Account) -> Vec<(String, String)> {
    let ca = state.ca_file().display().to_string();
    let bundle = state.ca_bundle().display().to_string();
    let mut lines = vec![
        ("AZURE_AUTHORITY_HOST".to_owned(), state.sts_url()),
        ("AZURE_TENANT_ID".into(), account.identity.1.clone()),
        ("AZURE_CLIENT_ID".into(), account.identity.0.clone()),
        (
            "AZURE_FEDERATED_TOKEN_FILE".into(),
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
        lines.push((format!("AZURE_CLIENT_ID_{suffix}"), client.clone()));
        lines.push((format!("AZURE_TENANT_ID_{suffix}"), tenant.clone()));
    }
    lines
}

fn env_text(lines: &[(String, String)]) -> String {
    lines
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", quote(v)))
        .collect()
}

fn chosen<'a>(accounts: &'a [Account], wanted: Option<&str>) -> Result<&'a Account> {
    match wanted {
        None => accounts.first().context("no service account"),
        Some(wanted) => accounts
            .iter()
            .find(|a| format!("{}/{}", a.namespace, a.name) == wanted)
            .with_context(|| {
                let known: Vec<String> = accounts.iter().map(|a| format!("{}/{}", a.namespace, a.name)).collect();
                format!(
                    "--service-account {wanted} is not in the config (it has {})",
                    known.join(", ")
                )
            }),
    }
}

/// Runs `wif up`.
pub fn run(args: &UpArgs) -> Result<()> {
    let dir = match &args.state_dir {
        Some(dir) => dir.clone(),
        None => crate::up_state::default_dir()?,
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let config = match &args.config {
        Some(path) => {
            let text = crate::yaml::read_source(&path.to_string_lossy())?;
            let mut documents = crate::yaml::parse_stream(&text, &path.display().to_string())?;
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
    let account = chosen(&accounts, args.service_account.as_deref())?.clone();
    if args.print_env {
        let state = State::load_or_create(&dir)?;
        print!("{}", env_text(&env_lines(&state, &account)));
        return Ok(());
    }
    let _lock = lock(&dir)?;
    let state = State::load_or_create(&dir)?;
    let directory = directory(&config, &accounts, &state)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(serve(args, state, accounts, account, directory))
}

fn port_taken(what: &str, port: u16, state: &State) -> impl Fn(anyhow::Error) -> anyhow::Error {
    let message = format!(
        "{what}'s port 127.0.0.1:{port} (kept in {}) cannot be bound: another program may hold it; stop that program, or remove {} to pick new ports",
        state.dir.join("state.json").display(),
        state.dir.join("state.json").display()
    );
    move |e| e.context(message.clone())
}

/// Writes each account's token now and again at 80% of its lifetime.
async fn rotate_tokens(
    key: Arc<wif_jose::SigningKey>,
    issuer: String,
    files: Vec<(String, String, PathBuf)>,
    lifetime: Duration,
) {
    loop {
        for (namespace, name, file) in &files {
            let written = wif_jose::kubernetes::ProjectedToken::for_service_account(
                &issuer,
                namespace,
                name,
                wif_core::clock::unix_now(),
            )
            .map(|mut t| {
                t.expiration_seconds = i64::try_from(lifetime.as_secs()).unwrap_or(3600);
                t
            })
            .map_err(anyhow::Error::from)
            .and_then(|t| t.sign(&key).map_err(anyhow::Error::from))
            .and_then(|token| write_atomically(file, token.as_bytes()));
            match written {
                Ok(()) => tracing::info!(file = %file.display(), "projected token written"),
                Err(error) => {
                    tracing::warn!(file = %file.display(), error = %format!("{error:#}"), "cannot write the projected token; retrying")
                }
            }
        }
        tokio::time::sleep(lifetime.mul_f64(0.8)).await;
    }
}

async fn serve(args: &UpArgs, state: State, accounts: Vec<Account>, account: Account, directory: String) -> Result<()> {
    let tls = || TlsSource::CertDir(state.dir.join("tls"));
    let loopback = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stops = Vec::new();
    let mut tasks = Vec::new();

    // The cluster's issuer.
    let issuer_url = state.issuer_url();
    let documents =
        crate::issuer_serve::IssuerDocuments::new(&issuer_url, None, std::slice::from_ref(state.key.public_key()))?;
    let options = ServiceOptions::new(loopback(state.ports.issuer_port), loopback(0), tls(), "1.2");
    let issuer = wif_server::bind(options, documents.router(), Registry::default())
        .await
        .map_err(anyhow::Error::from)
        .map_err(port_taken("the issuer", state.ports.issuer_port, &state))?;

    // The projected tokens, before anything asks for them.
    let key = Arc::new(wif_jose::SigningKey::from_pem(state.key.to_pkcs8_pem()?.as_bytes())?);
    let files: Vec<(String, String, PathBuf)> = accounts
        .iter()
        .map(|a| {
            (
                a.namespace.clone(),
                a.name.clone(),
                state.token_file(&a.namespace, &a.name),
            )
        })
        .collect();
    let lifetime = args.token_lifetime.max(Duration::from_secs(10));
    {
        let (key, issuer_url, files) = (Arc::clone(&key), issuer_url.clone(), files.clone());
        tasks.push(wif_server::supervise("token rotation", move || {
            rotate_tokens(Arc::clone(&key), issuer_url.clone(), files.clone(), lifetime)
        }));
    }

    // The emulator.
    let mut registry = Registry::default();
    let parsed = wif_sts::Directory::from_yaml(&directory, &state.dir).context("the directory made from the config")?;
    let sts_state = wif_sts::StsState::new(
        parsed,
        wif_jose::SigningKey::generate(wif_jose::Algorithm::RS256)?,
        state.sts_url(),
        &mut registry,
    )
    .map_err(|e| anyhow::anyhow!("{}", wif_core::error_text::error_chain(&e)))?;
    let options = ServiceOptions::new(loopback(state.ports.sts_port), loopback(0), tls(), "1.2");
    let sts = wif_server::bind(options, wif_sts::router(sts_state), registry)
        .await
        .map_err(anyhow::Error::from)
        .map_err(port_taken("the emulator", state.ports.sts_port, &state))?;

    // The proxy, with the pod's environment.
    let lines = env_lines(&state, &account);
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
    crate::files::write_private(&env_file, env_text(&lines).as_bytes(), true)?;
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

    #[test]
    fn accounts_are_checked_against_the_tenants() {
        let default = accounts(&default_config()).unwrap();
        assert_eq!(
            default[0].identity,
            (DEFAULT_CLIENT.to_owned(), DEFAULT_TENANT.to_owned())
        );
        let stray = json!({"tenants": [], "serviceAccounts": [{"name": "a", "clientId": "x"}]});
        assert_eq!(
            format!("{:#}", accounts(&stray).unwrap_err()),
            "serviceAccounts[0]: client id x is no application or managed identity of the config's tenants"
        );
        let named = json!({
            "tenants": [{"tenantId": "t1", "applications": [{"appId": "c1"}]},
                        {"tenantId": "t2", "userAssignedIdentities": [{"name": "w", "clientId": "c2"}]}],
            "serviceAccounts": [{"namespace": "ns", "name": "app", "clientId": "c1", "identities": {"Writer": {"clientId": "c2"}}}]
        });
        let parsed = accounts(&named).unwrap();
        assert_eq!(
            parsed[0].named,
            [("writer".to_owned(), "c2".to_owned(), "t2".to_owned())]
        );
        assert!(accounts(&json!({"tenants": []})).is_err());
    }
}
