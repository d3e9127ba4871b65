//! What `wif up` prints: an account's variables (`--print-env` and the env file), the lines
//! that point azure-cli at the local Azure plane (`--print-az-setup`), and the banner printed
//! once every server listens (first line `wif up: ready.`, last line `Ctrl-C stops every
//! server.`: scripts wait for both). Which account the servers run for, and the servers
//! themselves, are the caller's.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
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

/// The app's variables for `account`: what the webhook injects in a cluster, the local CA
/// for each runtime, and, for an account with a client id, the proxy's App Service endpoint
/// (the proxy serves that identity). An account without one gets no `AZURE_CLIENT_ID` and
/// no endpoint: its token file, the authority and its tenant.
pub fn env_lines(state: &State, account: &Account) -> Result<Vec<(String, String)>> {
    let ca = state.ca_file().display().to_string();
    let bundle = state.ca_bundle().display().to_string();
    let tenant = account.tenant.clone().with_context(|| {
        format!(
            "ServiceAccount {} has no clientId and the config no tenant: AZURE_TENANT_ID would have no value (give it a tenantId)",
            account_name(account)
        )
    })?;
    let mut lines = vec![
        (contract::ENV_AUTHORITY_HOST.to_owned(), state.sts_url()),
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

/// `lines` as `export NAME='value'` lines.
pub fn env_text(lines: &[(String, String)]) -> String {
    lines
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", quote(v)))
        .collect()
}

/// The lines that point azure-cli at the local Azure plane and log it in as `identity`
/// with `account`'s projected token (spec/azure-control-plane.md §1, protocols.md §3.5).
pub fn az_setup_lines(state: &State, account: &Account, identity: &(String, String)) -> String {
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
    /// [`same_up`] of this run.
    pub command: String,
    /// `--service-account`, when given.
    pub service_account: Option<&'a str>,
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
        text.push_str(&format!(
            "the variables of ServiceAccount {} (written to {}; source it, or eval \"$({this} --print-env)\"):\n",
            account_name(self.account),
            self.env_file.display()
        ));
        text.push_str(&env_text(self.lines));
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
        text.push_str(&format!(
            "the local Azure plane (ARM and Graph at {}/, vaults *.{} through http://127.0.0.1:{}); for azure-cli, paste (or eval \"$({this} --print-az-setup)\"):\n",
            state.sts_url(),
            self.vault_suffix,
            state.ports.vault_proxy_port
        ));
        text.push_str(&az_setup_lines(state, self.account, self.identity));
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
