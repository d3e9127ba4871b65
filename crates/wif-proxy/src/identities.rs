//! The identities one proxy serves, and which of them a request names. They come from the
//! variables the webhook injects: the default (`AZURE_CLIENT_ID` in `AZURE_TENANT_ID`) and
//! every named identity (`AZURE_CLIENT_ID_<ALIAS>`, in `AZURE_TENANT_ID_<ALIAS>` or the
//! default tenant). A request selects one by client id or alias; any other client id that is
//! a GUID is served ad hoc, as upstream does: exchanged in the default tenant at the default
//! authority, Entra's federated credential deciding whether that application trusts the pod
//! (how many are held is [`crate::ad_hoc`]'s). A `client_id` that is neither is refused
//! locally, since no application can have it; so is a selector the proxy cannot map, never
//! answered with another identity's token (upstream ignores `object_id` and `msi_res_id` and
//! hands out the default identity's). No I/O: the environment is handed in.

use wif_client::{ClientError, Identity};
use wif_core::cloud::Cloud;
use wif_core::error_text::error_chain;
use wif_core::mutation::is_guid;
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
    /// The default authority and tenant, whose client id an ad-hoc request replaces; or why
    /// they make no identity (then ad-hoc requests are refused, and nothing else changes).
    ad_hoc_base: Result<Identity, String>,
}

/// The identity a request selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    /// A configured identity: its index in [`IdentityTable::entries`].
    Configured(usize),
    /// A client id (a GUID, lower case) that is none of them, served in the default tenant
    /// ([`IdentityTable::ad_hoc_identity`]).
    AdHoc(String),
}

/// Any GUID: the ad-hoc identity's client id replaces it.
const PLACEHOLDER_CLIENT_ID: &str = "00000000-0000-0000-0000-000000000000";

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
        let authority = set("AZURE_AUTHORITY_HOST").unwrap_or_else(|| Cloud::Public.authority_host().to_owned());
        let tenant = set("AZURE_TENANT_ID").unwrap_or_default();
        let ad_hoc_base =
            Identity::new(authority.trim(), tenant.trim(), PLACEHOLDER_CLIENT_ID).map_err(|error| error_chain(&error));
        Ok(IdentityTable {
            entries,
            has_default,
            ad_hoc_base,
        })
    }

    /// The identities, the default first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The identity `selector` names: a configured one by client id (any case), then by alias;
    /// else, for a GUID, that client id ad hoc.
    pub fn select(&self, selector: &Selector) -> Result<Selected, Refusal> {
        match selector {
            Selector::Default if self.has_default => Ok(Selected::Configured(0)),
            Selector::Default => Err(Refusal::new(
                400,
                "invalid_request",
                "The client_id parameter or AZURE_CLIENT_ID environment variable must be set",
            )),
            Selector::ClientId(wanted) => {
                let configured = self
                    .entries
                    .iter()
                    .position(|e| e.identity.client_id.eq_ignore_ascii_case(wanted))
                    .or_else(|| {
                        self.entries.iter().position(|e| {
                            e.alias
                                .as_deref()
                                .is_some_and(|alias| alias.eq_ignore_ascii_case(&wanted.replace('_', "-")))
                        })
                    });
                match configured {
                    Some(index) => Ok(Selected::Configured(index)),
                    None if is_guid(wanted) => Ok(Selected::AdHoc(wanted.to_ascii_lowercase())),
                    // Entra would refuse it (AADSTS700016 or 900023-like): said here, at once.
                    None => Err(not_found(format!(
                        "client_id {:?} is neither one of this proxy's identities ({}) nor a GUID, so no application has it",
                        shorten(wanted),
                        self.served()
                    ))),
                }
            }
            Selector::Unmapped { parameter, value } => Err(not_found(format!(
                "the wif proxy selects identities by client_id, and {parameter}={:?} cannot be mapped to one; ask with client_id ({})",
                shorten(value),
                self.served()
            ))),
        }
    }

    /// The identity an ad-hoc `client_id` is served as: the default authority and tenant
    /// (`AZURE_AUTHORITY_HOST`, `AZURE_TENANT_ID`), as upstream's proxy does. Refused with
    /// 500 (upstream's status when it cannot build the credential) when those make no
    /// identity, which only a proxy without `AZURE_CLIENT_ID` can start with; a `client_id`
    /// that is not a GUID is refused as [`IdentityTable::select`] refuses it.
    pub fn ad_hoc_identity(&self, client_id: &str) -> Result<Identity, Refusal> {
        if !is_guid(client_id) {
            return Err(not_found(format!(
                "client_id {:?} is not a GUID, so no application has it",
                shorten(client_id)
            )));
        }
        match &self.ad_hoc_base {
            Ok(base) => Ok(Identity {
                client_id: client_id.to_ascii_lowercase(),
                ..base.clone()
            }),
            Err(why) => Err(Refusal::new(
                500,
                "unknown",
                format!(
                    "client_id {:?} is none of this proxy's identities, and it cannot serve it in the default tenant: {why}",
                    shorten(client_id)
                ),
            )),
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
        let Ok(Selected::Configured(default)) = pod.select(&Selector::Default) else {
            panic!("the default identity")
        };
        assert_eq!(pod.entries()[default].identity.client_id, READER);
        let Ok(Selected::Configured(by_id)) = pod.select(&Selector::ClientId(WRITER.to_uppercase())) else {
            panic!("the writer by client id")
        };
        assert_eq!(pod.entries()[by_id].identity.tenant_id, TENANT_B);
        assert_eq!(pod.entries()[by_id].alias.as_deref(), Some("writer"));
        assert_eq!(
            pod.select(&Selector::ClientId("Writer".into())),
            Ok(Selected::Configured(by_id))
        );
        assert_eq!(pod.entries()[by_id].identity.authority_host, "https://127.0.0.1:8444/");
        assert_eq!(
            pod.select(&Selector::ClientId(READER.into())),
            Ok(Selected::Configured(default))
        );
    }

    #[test]
    fn any_other_guid_is_served_ad_hoc_in_the_default_tenant_and_authority() {
        let pod = pod();
        let other = "99999999-AAAA-4000-8000-00000000000F";
        assert_eq!(
            pod.select(&Selector::ClientId(other.into())),
            Ok(Selected::AdHoc(other.to_ascii_lowercase())),
            "lower case, so that one id in two cases is one cache entry"
        );
        assert_eq!(
            pod.ad_hoc_identity("99999999-aaaa-4000-8000-00000000000f"),
            Ok(Identity {
                authority_host: "https://127.0.0.1:8444/".into(),
                tenant_id: TENANT_A.into(),
                client_id: "99999999-aaaa-4000-8000-00000000000f".into(),
            }),
            "the default identity's tenant, not the writer's named tenant"
        );
        assert_eq!(
            pod.ad_hoc_identity("x&client_id=y").unwrap_err().description,
            "Identity not found: client_id \"x&client_id=y\" is not a GUID, so no application has it"
        );
        // Without AZURE_CLIENT_ID: still served, in AZURE_TENANT_ID at the public cloud.
        let no_default = table(&[("AZURE_TENANT_ID", TENANT_A)]).unwrap();
        assert_eq!(
            no_default.select(&Selector::ClientId(READER.into())),
            Ok(Selected::AdHoc(READER.into()))
        );
        let identity = no_default.ad_hoc_identity(READER).unwrap();
        assert_eq!(
            identity.token_endpoint(),
            format!("https://login.microsoftonline.com/{TENANT_A}/oauth2/v2.0/token")
        );
        // A default tenant that makes no identity refuses ad-hoc ids, and only them.
        let bad = table(&[
            ("AZURE_TENANT_ID", "t/../x"),
            ("AZURE_CLIENT_ID_WRITER", WRITER),
            ("AZURE_TENANT_ID_WRITER", TENANT_B),
        ])
        .unwrap();
        assert_eq!(
            bad.select(&Selector::ClientId("writer".into())),
            Ok(Selected::Configured(0))
        );
        let refused = bad.ad_hoc_identity(READER).unwrap_err();
        assert_eq!((refused.status, refused.error.as_str()), (500, "unknown"));
        assert_eq!(
            refused.description,
            format!(
                "client_id \"{READER}\" is none of this proxy's identities, and it cannot serve it in the default tenant: tenant id \"t/../x\" must be a GUID or a domain (letters, digits, '-' and '.')"
            )
        );
    }

    #[test]
    fn selectors_that_name_no_identity_are_refused() {
        let pod = pod();
        for not_a_guid in [
            "reader-app",
            "99999999-0000-4000-8000-00000000000",
            "{99999999-0000-4000-8000-000000000009}",
        ] {
            let unknown = pod.select(&Selector::ClientId(not_a_guid.into())).unwrap_err();
            assert_eq!((unknown.status, unknown.error.as_str()), (400, "invalid_request"));
            assert_eq!(
                unknown.description,
                format!(
                    "Identity not found: client_id {not_a_guid:?} is neither one of this proxy's identities (it serves {READER} (default), {WRITER} (alias writer)) nor a GUID, so no application has it"
                )
            );
        }
        for parameter in ["object_id", "principal_id", "msi_res_id", "mi_res_id"] {
            for value in ["x", READER] {
                let refused = pod
                    .select(&Selector::Unmapped {
                        parameter,
                        value: value.into(),
                    })
                    .unwrap_err();
                assert_eq!((refused.status, refused.error.as_str()), (400, "invalid_request"));
                assert!(
                    refused.description.starts_with(&format!(
                        "Identity not found: the wif proxy selects identities by client_id, and {parameter}={value:?}"
                    )),
                    "{}",
                    refused.description
                );
            }
        }
        let no_default = table(&[("AZURE_TENANT_ID", TENANT_A)]).unwrap();
        let refused = no_default.select(&Selector::Default).unwrap_err();
        assert_eq!(refused.status, 400);
        assert_eq!(
            refused.description,
            "The client_id parameter or AZURE_CLIENT_ID environment variable must be set"
        );
        assert!(
            no_default
                .select(&Selector::ClientId("reader".into()))
                .unwrap_err()
                .description
                .ends_with("(it serves none: set AZURE_CLIENT_ID or AZURE_CLIENT_ID_<ALIAS>) nor a GUID, so no application has it")
        );
    }
}
