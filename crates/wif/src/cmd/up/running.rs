//! The instance a running `wif up` serves, recorded in its state directory (`running.json`,
//! 0600, rewritten at each start): the config it read, by content, and its
//! `--service-account`. The printing commands (`--print-env`, `--print-az-setup`) describe
//! that instance while one runs, so a second shell needs no flag but `--state-dir`, and a
//! `--config` that is not the one it serves is refused, naming the first place they differ.
//! Whether an instance runs is the lock's ([`super::state::held`]); what is printed is
//! [`super::output`]'s.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wif_issuer::files::write_atomically;

/// The record's file name in the state directory.
const FILE: &str = "running.json";

/// A config: the file it was read from (none: the default config) and its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The file, absolute, as `--config` named it.
    pub config: Option<PathBuf>,
    /// The config as read.
    pub document: Value,
}

impl Source {
    /// How messages name it.
    pub fn label(&self) -> String {
        match &self.config {
            Some(path) => path.display().to_string(),
            None => "the default config (no --config)".into(),
        }
    }
}

/// What a running `wif up` serves, as it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Running {
    /// Its config.
    #[serde(flatten)]
    pub source: Source,
    /// Its `--service-account`, when given.
    pub service_account: Option<String>,
    /// Whether it answers as Azure's public hosts (`--production-names`).
    #[serde(default)]
    pub production_names: bool,
}

impl Running {
    /// Writes the record (mode 0600; a reader never sees half of it).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        Ok(write_atomically(&dir.join(FILE), text.as_bytes())?)
    }

    /// The record in `dir`, none when no `wif up` wrote one.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let running = serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))?;
        Ok(Some(running))
    }
}

/// What the printing commands describe: a config and the account they print for when
/// `--service-account` is not given (none: the first with a client id).
#[derive(Debug, Clone, PartialEq)]
pub struct Printed {
    /// The config.
    pub source: Source,
    /// The account, when named.
    pub service_account: Option<String>,
}

/// The running instance's config and account when one runs (refusing a `given` config that
/// is not its config), else `given`, else the default config; `service_account` (the flag)
/// wins over the running one's.
pub fn for_printing(
    state_dir: &Path,
    running: Option<Running>,
    given: Option<Source>,
    default: Value,
    service_account: Option<&str>,
) -> Result<Printed> {
    let flag = service_account.map(str::to_owned);
    let Some(running) = running else {
        let source = given.unwrap_or(Source {
            config: None,
            document: default,
        });
        return Ok(Printed {
            source,
            service_account: flag,
        });
    };
    if let Some(given) = given
        && let Some((at, side)) = first_difference(&running.source.document, &given.document, String::new())
    {
        let named = given.label();
        let where_ = match side {
            Side::Both => format!("{at} differs"),
            Side::Running => format!("{at} is in the running config only"),
            Side::Given => format!("{at} is in {named} only"),
        };
        bail!(
            "--config {named} is not the config of the wif up running on {} ({}, recorded in {}): {where_}; leave out --config to print for the running wif up, or stop it and start it with --config {named}",
            state_dir.display(),
            running.source.label(),
            state_dir.join(FILE).display(),
        );
    }
    Ok(Printed {
        service_account: flag.or(running.service_account),
        source: running.source,
    })
}

/// Which side of a comparison holds a place the other lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Both hold it, with different values.
    Both,
    /// Only the running instance's config.
    Running,
    /// Only the given one.
    Given,
}

/// The first place (`serviceAccounts[0].name`; keys in order) where `running` and `given`
/// differ, and which side holds it.
fn first_difference(running: &Value, given: &Value, at: String) -> Option<(String, Side)> {
    let child = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    let pair = |path: String, a: Option<&Value>, b: Option<&Value>| match (a, b) {
        (Some(a), Some(b)) => first_difference(a, b, path),
        (Some(_), None) => Some((path, Side::Running)),
        (None, Some(_)) => Some((path, Side::Given)),
        (None, None) => None,
    };
    match (running, given) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| pair(child(k), a.get(k), b.get(k)))
        }
        (Value::Array(a), Value::Array(b)) => {
            (0..a.len().max(b.len())).find_map(|i| pair(format!("{at}[{i}]"), a.get(i), b.get(i)))
        }
        (a, b) if a == b => None,
        _ if at.is_empty() => Some(("the whole config".into(), Side::Both)),
        _ => Some((at, Side::Both)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source(config: Option<&str>, document: Value) -> Source {
        Source {
            config: config.map(PathBuf::from),
            document,
        }
    }

    #[test]
    fn the_first_difference_is_named_with_its_side() {
        let running = json!({"tenants": [{"tenantId": "a"}], "serviceAccounts": [{"name": "api"}]});
        assert_eq!(first_difference(&running, &running, String::new()), None);
        let renamed = json!({"tenants": [{"tenantId": "a"}], "serviceAccounts": [{"name": "web"}]});
        assert_eq!(
            first_difference(&running, &renamed, String::new()),
            Some(("serviceAccounts[0].name".into(), Side::Both))
        );
        let more = json!({"tenants": [{"tenantId": "a"}, {"tenantId": "b"}], "serviceAccounts": [{"name": "api"}]});
        assert_eq!(
            first_difference(&running, &more, String::new()),
            Some(("tenants[1]".into(), Side::Given))
        );
        let fewer = json!({"serviceAccounts": [{"name": "api"}]});
        assert_eq!(
            first_difference(&running, &fewer, String::new()),
            Some(("tenants".into(), Side::Running))
        );
        assert_eq!(
            first_difference(&running, &json!([]), String::new()),
            Some(("the whole config".into(), Side::Both))
        );
    }

    #[test]
    fn printing_follows_the_running_instance() {
        let dir = Path::new("/s");
        let ran = json!({"serviceAccounts": [{"name": "api"}]});
        let running = || {
            Some(Running {
                source: source(Some("/w/wif.yaml"), ran.clone()),
                service_account: Some("default/api".into()),
                production_names: false,
            })
        };
        // Nothing runs: the given config, else the default one.
        let printed = for_printing(dir, None, None, json!({"d": 1}), None).unwrap();
        assert_eq!(printed.source, source(None, json!({"d": 1})));
        let given = source(Some("/w/other.yaml"), json!({"o": 1}));
        let printed = for_printing(dir, None, Some(given.clone()), json!({}), Some("a/b")).unwrap();
        assert_eq!(
            printed,
            Printed {
                source: given,
                service_account: Some("a/b".into())
            }
        );

        // One runs: its config and account; the flag wins for the account; the same content
        // under another name is the same config.
        let printed = for_printing(dir, running(), None, json!({}), None).unwrap();
        assert_eq!(printed.source, source(Some("/w/wif.yaml"), ran.clone()));
        assert_eq!(printed.service_account.as_deref(), Some("default/api"));
        let printed = for_printing(dir, running(), None, json!({}), Some("x/y")).unwrap();
        assert_eq!(printed.service_account.as_deref(), Some("x/y"));
        let copy = source(Some("/elsewhere/copy.yaml"), ran.clone());
        let printed = for_printing(dir, running(), Some(copy), json!({}), None).unwrap();
        assert_eq!(printed.source.config, Some(PathBuf::from("/w/wif.yaml")));

        // Another config: refused, naming the difference.
        let other = source(Some("/w/other.yaml"), json!({"serviceAccounts": [{"name": "web"}]}));
        assert_eq!(
            for_printing(dir, running(), Some(other), json!({}), None)
                .unwrap_err()
                .to_string(),
            "--config /w/other.yaml is not the config of the wif up running on /s (/w/wif.yaml, recorded in /s/running.json): serviceAccounts[0].name differs; leave out --config to print for the running wif up, or stop it and start it with --config /w/other.yaml"
        );
    }
}
