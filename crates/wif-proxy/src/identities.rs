//! The identities one proxy serves, and which of them a request names. They come from the
//! variables the webhook injects: the default (`AZURE_CLIENT_ID` in `AZURE_TENANT_ID`) and
//! every named identity (`AZURE_CLIENT_ID_<ALIAS>`, in `AZURE_TENANT_ID_<ALIAS>` or the
//! default tenant). A request selects one by client id or alias; a selector the proxy cannot
//! map is refused, never answered with another identity's token (upstream ignores
//! `object_id` and `msi_res_id` and hands out the default identity's). No I/O: the
//! environment is handed in.

use wif_client::{ClientError, Identity};
use wif_core::settings::EnvSource;

use crate::request::{Refusal, Selector};

/// Why the proxy cannot start with this environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Upstream's start-up error, word for word.
    #[error("AZURE_TENANT_ID not set")]
    TenantNotSet,
    /// An identity's variables do not make an identity.
    #[error("the {which} identity")]
    Identity {
        /// `default` or `named "alias"`.
        which: String,
        /// Why.
        #[source]
        source: Box<ClientError>,
    },
}

/// One identity served, with its alias when it is a named one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The alias (lower case), `None` for the default identity.
    pub alias: Option<String>,
    /// Authority, tenant and client id.
    pub identity: Identity,
}

/// Every identity served: the default one first, when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityTable {
    entries: Vec<Entry>,
    has_default: bool,
}

impl IdentityTable {
    /// From an environment whose variable names are `names` (the named identities are found
    /// by name).
    pub fn from_env(env: &impl EnvSource, names: impl IntoIterator<Item = String>) -> Result<Self, ConfigError> {
        let set = |name: &str| env.var(name).filter(|v| !v.trim().is_empty());
        if set("AZURE_TENANT_ID").is_none() {
            return Err(ConfigError::TenantNotSet);
        }
        let mut entries = Vec::new();
        let has_default = set("AZURE_CLIENT_ID").is_some();
        if has_default {
            let identity = wif_client::identity::from_env(env).map_err(|source| ConfigError::Identity {
                which: "default".into(),
                source: Box::new(source),
            })?;
            entries.push(Entry { alias: None, identity });
        }
        let aliases = wif_client::identity::named_identities(names.into_iter().map(|n| (n, String::new())));
        for alias in aliases {
            let identity =
                wif_client::identity::named_from_env(env, &alias).map_err(|source| ConfigError::Identity {
                    which: format!("named {alias:?}"),
                    source: Box::new(source),
                })?;
            entries.push(Entry {
                alias: Some(alias),
                identity,
            });
        }
        Ok(IdentityTable { entries, has_default })
    }

    /// The identities, the default first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The index in [`IdentityTable::entries`] of the identity `selector` names.
    pub fn select(&self, selector: &Selector) -> Result<usize, Refusal> {
        match selector {
            Selector::Default if self.has_default => Ok(0),
            Selector::Default => Err(Refusal::new(
                400,
                "invalid_request",
                "The client_id parameter or AZURE_CLIENT_ID environment variable must be set",
            )),
            Selector::ClientId(wanted) => self
                .entries
                .iter()
                .position(|e| e.identity.client_id.eq_ignore_ascii_case(wanted))
                .or_else(|| {
                    self.entries.iter().position(|e| {
                        e.alias
                            .as_deref()
                            .is_some_and(|alias| alias.eq_ignore_ascii_case(&wanted.replace('_', "-")))
                    })
                })
                .ok_or_else(|| {
                    not_found(format!(
                        "client_id {:?} is none of this proxy's identities ({})",
                        shorten(wanted),
                        self.served()
                    ))
                }),
            Selector::Unmapped { parameter, value } => Err(not_found(format!(
                "the wif proxy selects identities by client_id, and {parameter}={:?} cannot be mapped to one; ask with client_id ({})",
                shorten(value),
                self.served()
            ))),
        }
    }

    /// The identities served, for an error text.
    fn served(&self) -> String {
        if self.entries.is_empty() {
            return "it serves none: set AZURE_CLIENT_ID or AZURE_CLIENT_ID_<ALIAS>".into();
        }
        let each: Vec<String> = self
            .entries
            .iter()
            .map(|e| match &e.alias {
                None => format!("{} (default)", e.identity.client_id),
                Some(alias) => format!("{} (alias {alias})", e.identity.client_id),
            })
            .collect();
        format!("it serves {}", each.join(", "))
    }
}

fn not_found(detail: String) -> Refusal {
    // "Identity not found" is real IMDS's text for a selector that names no assigned identity.
    Refusal::new(400, "invalid_request", format!("Identity not found: {detail}"))
}

fn shorten(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const TENANT_A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
    const TENANT_B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
    const READER: &str = "11111111-0000-4000-8000-000000000001";
    const WRITER: &str = "22222222-0000-4000-8000-000000000002";

    fn table(pairs: &[(&'static str, &'static str)]) -> Result<IdentityTable, ConfigError> {
        let env: HashMap<&str, &str> = pairs.iter().copied().collect();
        IdentityTable::from_env(&env, pairs.iter().map(|(k, _)| (*k).to_owned()))
    }

    fn pod() -> IdentityTable {
        table(&[
            ("AZURE_TENANT_ID", TENANT_A),
            ("AZURE_CLIENT_ID", READER),
            ("AZURE_CLIENT_ID_WRITER", WRITER),
            ("AZURE_TENANT_ID_WRITER", TENANT_B),
            ("AZURE_AUTHORITY_HOST", "https://127.0.0.1:8444"),
        ])
        .unwrap()
    }

    #[test]
    fn the_tenant_is_required_as_upstream_says() {
        let refused = table(&[("AZURE_CLIENT_ID", READER)]).unwrap_err();
        assert!(matches!(refused, ConfigError::TenantNotSet));
        assert_eq!(refused.to_string(), "AZURE_TENANT_ID not set");
        assert!(matches!(
            table(&[("AZURE_TENANT_ID", " ")]).unwrap_err(),
            ConfigError::TenantNotSet
        ));
        let bad = table(&[("AZURE_TENANT_ID", TENANT_A), ("AZURE_CLIENT_ID", "not a client")]).unwrap_err();
        assert!(
            matches!(bad, ConfigError::Identity { ref which, .. } if which == "default"),
            "{bad}"
        );
    }

    #[test]
    fn requests_select_by_client_id_or_alias_each_in_its_own_tenant() {
        let pod = pod();
        let default = pod.select(&Selector::Default).unwrap();
        assert_eq!(pod.entries()[default].identity.client_id, READER);
        let by_id = pod.select(&Selector::ClientId(WRITER.to_uppercase())).unwrap();
        assert_eq!(pod.entries()[by_id].identity.tenant_id, TENANT_B);
        assert_eq!(pod.entries()[by_id].alias.as_deref(), Some("writer"));
        assert_eq!(pod.select(&Selector::ClientId("Writer".into())), Ok(by_id));
        assert_eq!(pod.entries()[by_id].identity.authority_host, "https://127.0.0.1:8444/");
        assert_eq!(pod.select(&Selector::ClientId(READER.into())), Ok(default));
    }

    #[test]
    fn selectors_that_name_no_identity_are_refused() {
        let pod = pod();
        let unknown = pod
            .select(&Selector::ClientId("99999999-0000-4000-8000-000000000009".into()))
            .unwrap_err();
        assert_eq!(unknown.status, 400);
        assert_eq!(
            unknown.description,
            format!(
                "Identity not found: client_id \"99999999-0000-4000-8000-000000000009\" is none of this proxy's identities (it serves {READER} (default), {WRITER} (alias writer))"
            )
        );
        for parameter in ["object_id", "principal_id", "msi_res_id", "mi_res_id"] {
            let refused = pod
                .select(&Selector::Unmapped {
                    parameter,
                    value: "x".into(),
                })
                .unwrap_err();
            assert_eq!(refused.status, 400);
            assert!(
                refused.description.starts_with(&format!(
                    "Identity not found: the wif proxy selects identities by client_id, and {parameter}=\"x\""
                )),
                "{}",
                refused.description
            );
        }
        let no_default = table(&[("AZURE_TENANT_ID", TENANT_A)]).unwrap();
        assert_eq!(
            no_default.select(&Selector::Default).unwrap_err().description,
            "The client_id parameter or AZURE_CLIENT_ID environment variable must be set"
        );
        assert!(
            no_default
                .select(&Selector::ClientId(READER.into()))
                .unwrap_err()
                .description
                .ends_with("(it serves none: set AZURE_CLIENT_ID or AZURE_CLIENT_ID_<ALIAS>)")
        );
    }
}
