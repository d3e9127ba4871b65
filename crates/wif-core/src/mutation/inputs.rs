//! What the pod and its ServiceAccount ask for, resolved from their annotations and the
//! webhook settings: token expiration, identity, named identities, skip-containers, proxy
//! and custom-token-endpoint opt-ins. Each rule is a small function, tested on its own
//! against upstream's scenarios.

use std::collections::{BTreeMap, BTreeSet};

use super::outcome::Denial;
use super::strconv::parse_int;
use crate::contract;
use crate::rules::{Advice, Rule};
use crate::settings::{CustomTokenEndpoint, WebhookSettings};

/// Annotations as a sorted string map.
pub type Annotations<'a> = BTreeMap<&'a str, &'a str>;

fn non_empty<'a>(annotations: &Annotations<'a>, key: &str) -> Option<&'a str> {
    annotations.get(key).copied().filter(|v| !v.is_empty())
}

/// `expirationSeconds` of the projected token: pod annotation, else ServiceAccount
/// annotation, else 3600; an empty value counts as absent; out of [3600, 86400] denies.
pub fn token_expiration(pod: &Annotations, service_account: &Annotations) -> Result<i64, Denial> {
    let raw = non_empty(pod, contract::ANNOTATION_TOKEN_EXPIRATION)
        .or_else(|| non_empty(service_account, contract::ANNOTATION_TOKEN_EXPIRATION));
    let Some(raw) = raw else {
        return Ok(contract::DEFAULT_TOKEN_EXPIRATION);
    };
    let seconds = parse_int(raw, 64).map_err(|e| Denial::bad_request(Rule::TokenExpiration, e.to_string()))?;
    if !(contract::MIN_TOKEN_EXPIRATION..=contract::MAX_TOKEN_EXPIRATION).contains(&seconds) {
        return Err(Denial::bad_request(
            Rule::TokenExpiration,
            format!(
                "token expiration {seconds} not valid. Expected value to be between {} and {}",
                contract::MIN_TOKEN_EXPIRATION,
                contract::MAX_TOKEN_EXPIRATION
            ),
        ));
    }
    Ok(seconds)
}

/// The client id (ServiceAccount annotation, empty when absent).
pub fn client_id<'a>(service_account: &Annotations<'a>) -> &'a str {
    service_account
        .get(contract::ANNOTATION_CLIENT_ID)
        .copied()
        .unwrap_or_default()
}

/// The tenant id: the ServiceAccount annotation, else the webhook's default. Unlike
/// upstream, an empty annotation counts as absent rather than dropping the variable.
pub fn tenant_id<'a>(service_account: &Annotations<'a>, settings: &'a WebhookSettings) -> &'a str {
    non_empty(service_account, contract::ANNOTATION_TENANT_ID).unwrap_or(&settings.default_tenant_id)
}

/// Container names listed in `skip-containers` (`;`-separated, trimmed).
pub fn skip_containers<'a>(pod: &Annotations<'a>) -> BTreeSet<&'a str> {
    pod.get(contract::ANNOTATION_SKIP_CONTAINERS)
        .map(|v| v.split(';').map(str::trim).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// Whether the proxy sidecar is asked for: the annotation's presence, whatever its value.
pub fn wants_proxy(pod: &Annotations) -> bool {
    pod.contains_key(contract::ANNOTATION_INJECT_PROXY_SIDECAR)
}

/// The proxy port: 8000 by default; a value Go cannot parse as int32 denies with
/// upstream's words, and unlike upstream so does one outside 1..=65535.
pub fn proxy_port(pod: &Annotations) -> Result<u16, Denial> {
    let Some(raw) = non_empty(pod, contract::ANNOTATION_PROXY_SIDECAR_PORT) else {
        return Ok(contract::DEFAULT_PROXY_PORT as u16);
    };
    let port = parse_int(raw, 32)
        .map_err(|e| Denial::bad_request(Rule::ProxyPort, format!("failed to parse proxy sidecar port: {e}")))?;
    u16::try_from(port).ok().filter(|p| *p != 0).ok_or_else(|| {
        Denial::bad_request(
            Rule::ProxyPort,
            format!("proxy sidecar port {port} not valid. Expected value to be between 1 and 65535"),
        )
    })
}

/// The custom token endpoint, when configured and the pod opted in (value `true`, any case).
pub fn custom_token_endpoint<'s>(pod: &Annotations, settings: &'s WebhookSettings) -> Option<&'s CustomTokenEndpoint> {
    settings.custom_token_endpoint.as_ref().filter(|cte| {
        pod.get(cte.opt_in_annotation.as_str())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    })
}

/// A named identity from the ServiceAccount: `wif.dev/client-id.<alias>` and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedIdentity {
    /// The alias as annotated (`reader`).
    pub alias: String,
    /// The env suffix (`READER`).
    pub env_suffix: String,
    /// Client id.
    pub client_id: String,
    /// Tenant id, when annotated (otherwise clients fall back to `AZURE_TENANT_ID`).
    pub tenant_id: Option<String>,
    /// Authority host, when annotated.
    pub authority_host: Option<String>,
}

/// The env-variable suffix of an alias, or `None` when the alias is not a DNS label
/// (lower-case letters, digits, `-`, `_`; alphanumeric at both ends).
pub fn alias_env_suffix(alias: &str) -> Option<String> {
    let ok = !alias.is_empty()
        && alias.len() <= 40
        && alias.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && alias.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && alias
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    ok.then(|| alias.to_ascii_uppercase().replace('-', "_"))
}

/// Named identities declared on the ServiceAccount, by alias; problems become warnings.
pub fn named_identities(service_account: &Annotations, sa_ref: &str, warnings: &mut Vec<Advice>) -> Vec<NamedIdentity> {
    let per_alias = |prefix: &str| -> BTreeMap<String, String> {
        service_account
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|alias| (alias.to_owned(), (*v).to_owned())))
            .collect()
    };
    let clients = per_alias(contract::WIF_ANNOTATION_CLIENT_ID_PREFIX);
    let tenants = per_alias(contract::WIF_ANNOTATION_TENANT_ID_PREFIX);
    let hosts = per_alias(contract::WIF_ANNOTATION_AUTHORITY_HOST_PREFIX);

    let mut identities: Vec<NamedIdentity> = Vec::new();
    for (alias, client_id) in &clients {
        let Some(env_suffix) = alias_env_suffix(alias) else {
            warnings.push(Advice::new(Rule::NamedIdentityInvalid, format!(
                "ServiceAccount {sa_ref}: identity alias {alias:?} is not usable (lower-case letters, digits, '-' or '_', alphanumeric at both ends); its variables are not injected"
            )));
            continue;
        };
        if client_id.is_empty() {
            warnings.push(Advice::new(
                Rule::NamedIdentityInvalid,
                format!(
                    "ServiceAccount {sa_ref}: identity {alias:?} has an empty client id; its variables are not injected"
                ),
            ));
            continue;
        }
        if let Some(other) = identities.iter().find(|i| i.env_suffix == env_suffix) {
            warnings.push(Advice::new(Rule::NamedIdentityInvalid, format!(
                "ServiceAccount {sa_ref}: identity aliases {:?} and {alias:?} both map to AZURE_CLIENT_ID_{env_suffix}; only {:?} is injected",
                other.alias, other.alias
            )));
            continue;
        }
        let host = hosts.get(alias).filter(|h| !h.is_empty()).cloned();
        let authority_host = match host.map(|h| crate::cloud::normalize_authority_host(&h)) {
            None => None,
            Some(Ok(h)) => Some(h),
            Some(Err(e)) => {
                warnings.push(Advice::new(Rule::NamedIdentityInvalid, format!("ServiceAccount {sa_ref}: identity {alias:?}: {e}; AZURE_AUTHORITY_HOST_{env_suffix} is not injected")));
                None
            }
        };
        identities.push(NamedIdentity {
            alias: alias.clone(),
            env_suffix,
            client_id: client_id.clone(),
            tenant_id: tenants.get(alias).filter(|t| !t.is_empty()).cloned(),
            authority_host,
        });
    }
    for alias in tenants.keys().chain(hosts.keys()) {
        if !clients.contains_key(alias) {
            warnings.push(Advice::new(Rule::NamedIdentityInvalid, format!(
                "ServiceAccount {sa_ref}: identity {alias:?} has a tenant or authority host but no {}{alias} annotation; it is ignored",
                contract::WIF_ANNOTATION_CLIENT_ID_PREFIX
            )));
        }
    }
    identities
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann<'a>(pairs: &[(&'a str, &'a str)]) -> Annotations<'a> {
        pairs.iter().copied().collect()
    }
    const EXP: &str = contract::ANNOTATION_TOKEN_EXPIRATION;

    // Upstream scenarios 1-6.
    #[test]
    fn token_expiration_rules() {
        let none = ann(&[]);
        assert!(
            token_expiration(&ann(&[(EXP, "3600s")]), &none)
                .unwrap_err()
                .message
                .contains(r#"parsing "3600s": invalid syntax"#)
        );
        assert_eq!(
            token_expiration(&none, &ann(&[(EXP, "3600s")])).unwrap_err().message,
            r#"strconv.ParseInt: parsing "3600s": invalid syntax"#
        );
        let low = token_expiration(&ann(&[(EXP, "3599")]), &none).unwrap_err();
        assert_eq!(
            low.message,
            "token expiration 3599 not valid. Expected value to be between 3600 and 86400"
        );
        assert_eq!(low.code, 400);
        assert_eq!(
            token_expiration(&ann(&[(EXP, "86401")]), &none).unwrap_err().message,
            "token expiration 86401 not valid. Expected value to be between 3600 and 86400"
        );
        assert_eq!(token_expiration(&none, &ann(&[(EXP, "4800")])), Ok(4800));
        assert_eq!(
            token_expiration(&ann(&[(EXP, "4000")]), &ann(&[(EXP, "4800")])),
            Ok(4000)
        );
        assert_eq!(token_expiration(&none, &none), Ok(3600));
        assert_eq!(token_expiration(&ann(&[(EXP, "")]), &ann(&[(EXP, "7200")])), Ok(7200));
        assert_eq!(token_expiration(&ann(&[(EXP, "86400")]), &none), Ok(86400));
        assert_eq!(
            token_expiration(&none, &ann(&[(EXP, "100")])).unwrap_err().message,
            "token expiration 100 not valid. Expected value to be between 3600 and 86400"
        );
    }

    // Upstream scenarios 7-10, plus `tenant-id: ""` (missing from upstream).
    #[test]
    fn client_and_tenant() {
        let settings = WebhookSettings::new("tenant-id");
        assert_eq!(client_id(&ann(&[])), "");
        assert_eq!(
            client_id(&ann(&[(contract::ANNOTATION_CLIENT_ID, "client-id")])),
            "client-id"
        );
        let empty_default = WebhookSettings::new("");
        assert_eq!(
            tenant_id(&ann(&[(contract::ANNOTATION_TENANT_ID, "tenant-id")]), &empty_default),
            "tenant-id"
        );
        assert_eq!(tenant_id(&ann(&[]), &settings), "tenant-id");
        assert_eq!(
            tenant_id(&ann(&[(contract::ANNOTATION_TENANT_ID, "")]), &settings),
            "tenant-id"
        );
    }

    // Upstream scenarios 11-14.
    #[test]
    fn skip_container_lists() {
        const SKIP: &str = contract::ANNOTATION_SKIP_CONTAINERS;
        assert!(skip_containers(&ann(&[])).is_empty());
        assert_eq!(
            skip_containers(&ann(&[(SKIP, "container1")])),
            BTreeSet::from(["container1"])
        );
        assert_eq!(
            skip_containers(&ann(&[(SKIP, "container1;container2")])),
            BTreeSet::from(["container1", "container2"])
        );
        assert_eq!(
            skip_containers(&ann(&[(SKIP, "container1; container2;")])),
            BTreeSet::from(["container1", "container2"])
        );
    }

    // Upstream scenarios 46-51, plus the port range (missing from upstream).
    #[test]
    fn proxy_annotations() {
        const INJECT: &str = contract::ANNOTATION_INJECT_PROXY_SIDECAR;
        const PORT: &str = contract::ANNOTATION_PROXY_SIDECAR_PORT;
        assert!(!wants_proxy(&ann(&[])));
        assert!(wants_proxy(&ann(&[(INJECT, "true")])));
        assert!(wants_proxy(&ann(&[(INJECT, "false")])));
        assert_eq!(proxy_port(&ann(&[])), Ok(8000));
        assert_eq!(proxy_port(&ann(&[("foo", "bar")])), Ok(8000));
        assert_eq!(proxy_port(&ann(&[(PORT, "8080")])), Ok(8080));
        assert_eq!(
            proxy_port(&ann(&[(PORT, "invalid")])).unwrap_err().message,
            r#"failed to parse proxy sidecar port: strconv.ParseInt: parsing "invalid": invalid syntax"#
        );
        for bad in ["0", "-1", "65536", "2147483647"] {
            assert!(
                proxy_port(&ann(&[(PORT, bad)]))
                    .unwrap_err()
                    .message
                    .contains("between 1 and 65535"),
                "{bad}"
            );
        }
        assert!(
            proxy_port(&ann(&[(PORT, "2147483648")]))
                .unwrap_err()
                .message
                .contains("value out of range")
        );
    }

    #[test]
    fn named_identities_from_annotations() {
        let sa = ann(&[
            ("wif.dev/client-id.reader", "c1"),
            ("wif.dev/tenant-id.reader", "t1"),
            ("wif.dev/client-id.blob-writer", "c2"),
            ("wif.dev/authority-host.blob-writer", "https://127.0.0.1:8443"),
            ("wif.dev/client-id.Bad", "c3"),
            ("wif.dev/client-id.blob_writer", "c4"),
            ("wif.dev/tenant-id.orphan", "t9"),
        ]);
        let mut warnings = Vec::new();
        let ids = named_identities(&sa, "ns/sa", &mut warnings);
        let suffixes: Vec<_> = ids.iter().map(|i| i.env_suffix.as_str()).collect();
        assert_eq!(suffixes, ["BLOB_WRITER", "READER"]);
        assert_eq!(ids[0].authority_host.as_deref(), Some("https://127.0.0.1:8443/"));
        assert_eq!(ids[1].tenant_id.as_deref(), Some("t1"));
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(warnings.iter().any(|w| w.contains("\"Bad\"")));
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("both map to AZURE_CLIENT_ID_BLOB_WRITER"))
        );
        assert!(warnings.iter().any(|w| w.contains("\"orphan\"")));
    }
}
