//! What `wif up` prints: an account's variables (`--print-env` and the env file), the lines
//! that point azure-cli at the local Azure plane (`--print-az-setup`), and the banner printed
//! once every server listens (first line `wif up: ready.`, last line `Ctrl-C stops every
//! server.`: scripts wait for both). Which account the servers run for, and the servers
//! themselves, are the caller's.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use wif_core::contract;

use super::config::Account;
use super::state::State;

/// POSIX-shell quoting: single quotes, with `'` written as `'\''`.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `value` as one shell word: as it is when nothing in it is special to a shell, else quoted.
fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    if plain { value.to_owned() } else { quote(value) }
}

/// `namespace/name` of `account`.
pub fn account_name(account: &Account) -> String {
    format!("{}/{}", account.namespace, account.name)
}

/// The account asked for with `--service-account`, else the first with a client id.
pub fn wanted<'a>(accounts: &'a [Account], wanted: Option<&str>) -> Result<&'a Account> {
    match wanted {
        None => accounts
            .iter()
            .find(|a| a.identity.is_some())
            .context("no serviceAccounts entry has a clientId: give one an identity of the config"),
        Some(wanted) => accounts.iter().find(|a| account_name(a) == wanted).with_context(|| {
            let known: Vec<String> = accounts.iter().map(account_name).collect();
            format!(
                "--service-account {wanted} is not in the config (it has {})",
                known.join(", ")
            )
        }),
    }
}

/// The identity `wif up`'s proxy and azure-cli's login use for `account`: its client id and
/// tenant; an account without a client id gets a token file and its variables only.
pub fn served_identity(account: &Account) -> Result<(String, String)> {
    account.identity.clone().with_context(|| {
        let name = account_name(account);
        format!(
            "ServiceAccount {name} has no clientId in the config: wif up serves no identity for it, only its token file (`wif up --print-env --service-account {name}` prints its variables)"
        )
    })
}

/// Which names the local plane is reached by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Its own: the emulator at `https://127.0.0.1:PORT`, vaults under the config's suffix
    /// (the default).
    Local,
    /// Azure's public hosts, through the `CONNECT` front (`--production-names`): apps run with
    /// their production settings.
    Azure,
}

/// The comment that heads the variables of [`Naming::Azure`]: a shell with them talks to
/// this machine whatever a URL says.
pub const AZURE_NAMES_WARNING: &str = "these variables send login.microsoftonline.com, management.azure.com, graph.microsoft.com, *.vault.azure.net and *.blob.core.windows.net to this machine's wif up, never to Azure";

/// `NO_PROXY` with the front: loopback stays direct (the IMDS proxy, the issuer).
const NO_PROXY: &str = "127.0.0.1,localhost";

/// The app's variables for `account`: what the webhook injects in a cluster, the local CA
/// for each runtime, and, for an account with a client id, the proxy's App Service endpoint
/// (the proxy serves that identity). An account without one gets no `AZURE_CLIENT_ID` and
/// no endpoint: its token file, the authority and its tenant. With [`Naming::Azure`] the
/// authority is Entra's own (as the webhook injects it in Azure's cloud), `HTTPS_PROXY` is the
/// front, and azure-cli and the JVM get their settings too.
pub fn env_lines(state: &State, account: &Account, naming: Naming) -> Result<Vec<(String, String)>> {
    let ca = state.ca_file().display().to_string();
    // Answering as Azure, the CA alone is trusted: a client that ignores HTTPS_PROXY fails
    // closed (no TLS with the real hosts) instead of reaching Azure with the assertion.
    let bundle = match naming {
        Naming::Local => state.ca_bundle().display().to_string(),
        Naming::Azure => ca.clone(),
    };
    let tenant = account.tenant.clone().with_context(|| {
        format!(
            "ServiceAccount {} has no clientId and the config no tenant: AZURE_TENANT_ID would have no value (give it a tenantId)",
            account_name(account)
        )
    })?;
    let authority = match naming {
        Naming::Local => state.sts_url(),
        Naming::Azure => wif_core::cloud::Cloud::Public.authority_host().to_owned(),
    };
    let mut lines = vec![
        (contract::ENV_AUTHORITY_HOST.to_owned(), authority),
        (contract::ENV_TENANT_ID.into(), tenant),
    ];
    if let Some((client, _)) = &account.identity {
        lines.push((contract::ENV_CLIENT_ID.into(), client.clone()));
    }
    lines.extend([
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
    ]);
    if naming == Naming::Azure {
        let store = state.java_trust_store().display().to_string();
        if store.chars().any(char::is_whitespace) {
            bail!(
                "--production-names: the JVM's trust store {store} has white space in its path, which JAVA_TOOL_OPTIONS cannot carry: use a --state-dir without spaces"
            );
        }
        lines.extend([
            ("HTTPS_PROXY".into(), state.front_url()),
            ("NO_PROXY".into(), NO_PROXY.into()),
            ("JAVA_TOOL_OPTIONS".into(), java_options(state)),
            // Node's own roots are compiled in: OpenSSL's store (SSL_CERT_FILE, the CA) instead.
            ("NODE_OPTIONS".into(), "--use-openssl-ca".into()),
            ("AZURE_CONFIG_DIR".into(), azure_cli_dir(state, naming)),
            // azure-cli's telemetry would only knock on the front's refusal.
            ("AZURE_CORE_COLLECT_TELEMETRY".into(), "false".into()),
        ]);
    }
    if account.identity.is_some() {
        lines.push((
            "IDENTITY_ENDPOINT".into(),
            format!("http://127.0.0.1:{}/msi/token", state.ports.proxy_port),
        ));
        lines.push(("IDENTITY_HEADER".into(), state.ports.identity_header.clone()));
    }
    for (alias, client, tenant) in &account.named {
        let suffix = wif_core::mutation::alias_env_suffix(alias).unwrap_or_else(|| alias.to_ascii_uppercase());
        lines.push((format!("{}_{suffix}", contract::ENV_CLIENT_ID), client.clone()));
        lines.push((format!("{}_{suffix}", contract::ENV_TENANT_ID), tenant.clone()));
    }
    Ok(lines)
}

/// The JVM's trust store (the CA alone) and proxy: `JAVA_TOOL_OPTIONS`, which every JVM
/// reads at start. The Azure SDK for Java reads `HTTPS_PROXY` itself; the properties cover
/// the JDK's own clients (MSAL4J's default one among them).
fn java_options(state: &State) -> String {
    format!(
        "-Djavax.net.ssl.trustStore={} -Djavax.net.ssl.trustStoreType=JKS -Djavax.net.ssl.trustStorePassword={} -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort={} -Dhttp.nonProxyHosts=localhost|127.0.0.1",
        state.java_trust_store().display(),
        super::state::JAVA_TRUST_STORE_PASSWORD,
        state.ports.vault_proxy_port
    )
}

/// azure-cli's config directory for `naming`: apart from the user's own, and one per naming,
/// so a shell of each keeps its cloud and its cached tokens.
fn azure_cli_dir(state: &State, naming: Naming) -> String {
    let name = match naming {
        Naming::Local => "azure-cli",
        Naming::Azure => "azure-cli-azure-names",
    };
    state.dir.join(name).display().to_string()
}

/// What `--print-env` says on stderr for an account without a client id (stdout stays
/// `export` lines only, for `eval`).
pub fn token_only_note(account: &Account) -> Option<String> {
    account.identity.is_none().then(|| {
        format!(
            "wif up: ServiceAccount {} has no clientId in the config: no AZURE_CLIENT_ID (set it to the identity whose credential trusts it) and no IDENTITY_ENDPOINT",
            account_name(account)
        )
    })
}

/// `lines` as `export NAME='value'` lines, headed by [`AZURE_NAMES_WARNING`] for
/// [`Naming::Azure`].
pub fn env_text(lines: &[(String, String)], naming: Naming) -> String {
    let head = match naming {
        Naming::Local => String::new(),
        Naming::Azure => format!("# wif up --production-names: {AZURE_NAMES_WARNING}\n"),
    };
    head + &lines
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", quote(v)))
        .collect::<String>()
}

/// The lines that point azure-cli at the local Azure plane and log it in as `identity`
/// with `account`'s projected token (spec/azure-control-plane.md §1, protocols.md §3.5).
/// With [`Naming::Azure`], azure-cli keeps its own `AzureCloud`: no cloud to register, no
/// discovery switch, only the proxy, the CA and a config directory of its own.
pub fn az_setup_lines(state: &State, account: &Account, identity: &(String, String), naming: Naming) -> String {
    let dir = azure_cli_dir(state, naming);
    let token = state
        .token_file(&account.namespace, &account.name)
        .display()
        .to_string();
    let proxy = state.front_url();
    if naming == Naming::Azure {
        return format!(
            "export AZURE_CONFIG_DIR={} REQUESTS_CA_BUNDLE={} AZURE_CORE_COLLECT_TELEMETRY=false\n\
export HTTPS_PROXY={} NO_PROXY={NO_PROXY}\n\
az login --service-principal -u {} -t {} --federated-token \"$(cat {})\"\n",
            quote(&dir),
            quote(&state.ca_file().display().to_string()),
            quote(&proxy),
            identity.0,
            identity.1,
            quote(&token),
        );
    }
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

/// `wif up` with the flags that pick this run's state and config, for the commands the
/// banner suggests.
pub fn same_up(state_dir: Option<&Path>, config: Option<&Path>) -> String {
    let mut command = "wif up".to_owned();
    for (flag, value) in [("--state-dir", state_dir), ("--config", config)] {
        if let Some(value) = value {
            command.push_str(&format!(" {flag} {}", shell_word(&value.display().to_string())));
        }
    }
    command
}

/// The banner `wif up` prints once every server listens.
pub struct Ready<'a> {
    /// The state directory.
    pub state: &'a State,
    /// Every ServiceAccount of the config: each one's token file is listed.
    pub accounts: &'a [Account],
    /// The account the servers run for, its identity and variables.
    pub account: &'a Account,
    /// See `account`.
    pub identity: &'a (String, String),
    /// See `account`.
    pub lines: &'a [(String, String)],
    /// Where the variables were written.
    pub env_file: PathBuf,
    /// The vault hosts' DNS suffix.
    pub vault_suffix: &'a str,
    /// The blob hosts' suffix.
    pub storage_suffix: &'a str,
    /// [`same_up`] of this run.
    pub command: String,
    /// `--service-account`, when given.
    pub service_account: Option<&'a str>,
    /// The names the plane answers by.
    pub naming: Naming,
    /// A one-time login link to the web console.
    pub console_link: String,
}

impl Ready<'_> {
    /// The banner's lines.
    pub fn text(&self) -> String {
        let state = self.state;
        let this = match self.service_account {
            Some(name) => format!("{} --service-account {}", self.command, shell_word(name)),
            None => self.command.clone(),
        };
        let mut text = format!(
            "wif up: ready. issuer {}, Entra ID emulator {}, IMDS proxy http://127.0.0.1:{}; state in {}\n",
            state.issuer_url(),
            state.sts_url(),
            state.ports.proxy_port,
            state.dir.display()
        );
        if self.naming == Naming::Azure {
            // The second line, before anything a reader might skim past.
            text.push_str(&format!(
                "ANSWERING AS AZURE (--production-names): {AZURE_NAMES_WARNING}; nothing is forwarded off this machine\n"
            ));
        }
        text.push_str(&format!(
            "the variables of ServiceAccount {} (written to {}; source it, or eval \"$({this} --print-env)\"):\n",
            account_name(self.account),
            self.env_file.display()
        ));
        text.push_str(&env_text(self.lines, self.naming));
        text.push_str(&format!(
            "the projected token files, rewritten at 80% of their lifetime (eval \"$({} --print-env --service-account NAMESPACE/NAME)\" for one's variables):\n",
            self.command
        ));
        for account in self.accounts {
            let file = state.token_file(&account.namespace, &account.name);
            let only = if account.identity.is_none() {
                " (no clientId: a token file only)"
            } else {
                ""
            };
            text.push_str(&format!("  {}: {}{only}\n", account_name(account), file.display()));
        }
        let plane = match self.naming {
            Naming::Local => format!(
                "ARM and Graph at {}/, vaults *.{} and blob services *.blob.{} through {}",
                state.sts_url(),
                self.vault_suffix,
                self.storage_suffix,
                state.front_url()
            ),
            Naming::Azure => format!(
                "as Azure's own hosts through {}: {}, vaults *.{} and blob services *.blob.{}, azure-cli with its AzureCloud",
                state.front_url(),
                wif_core::cloud::public::HOSTS.join(", "),
                self.vault_suffix,
                self.storage_suffix
            ),
        };
        text.push_str(&format!(
            "the local Azure plane ({plane}); for azure-cli, paste (or eval \"$({this} --print-az-setup)\"):\n"
        ));
        text.push_str(&az_setup_lines(state, self.account, self.identity, self.naming));
        text.push_str(&format!(
            "the web console (works once, for 10 minutes; `{} --console-link` for another): {}\n",
            self.command, self.console_link
        ));
        text.push_str("Ctrl-C stops every server.\n");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_any_value() {
        assert_eq!(quote("plain"), "'plain'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(shell_word("/tmp/state-1"), "/tmp/state-1");
        assert_eq!(shell_word("my dir"), "'my dir'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn the_rerun_command_names_this_runs_state_and_config() {
        assert_eq!(same_up(None, None), "wif up");
        assert_eq!(
            same_up(Some(Path::new("/s d")), Some(Path::new("up.yaml"))),
            "wif up --state-dir '/s d' --config up.yaml"
        );
    }
}
