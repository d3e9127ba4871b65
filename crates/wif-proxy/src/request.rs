//! What a token request asks for, and every reason to refuse one before any token is looked
//! up: IMDS's SSRF rules (a `Metadata: true` header, no `X-Forwarded-For`), App Service's
//! secret header (compared in constant time), the query's parameters (each at most once,
//! bounded, `resource` required, one identity selector). Pure: header values and the query
//! string in, a [`TokenRequest`] or a [`Refusal`] out.

use std::borrow::Cow;

/// The longest query string read.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// The longest `resource` (an application ID URI) accepted.
pub const MAX_RESOURCE_CHARS: usize = 1024;
/// The longest identity selector value accepted (an ARM resource ID is the longest kind).
pub const MAX_SELECTOR_CHARS: usize = 1024;
/// The only App Service protocol version served (what every SDK sends).
pub const APP_SERVICE_API_VERSION: &str = "2019-08-01";

/// A request refused: its HTTP status, an OAuth-style error code and words for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// `error` (IMDS's shape).
    pub error: String,
    /// `error_description`.
    pub description: String,
    /// Entra's AADSTS numbers, when Entra refused.
    pub codes: Vec<i64>,
}

impl Refusal {
    /// A refusal with no AADSTS code.
    pub fn new(status: u16, error: &str, description: impl Into<String>) -> Self {
        Refusal {
            status,
            error: error.to_owned(),
            description: description.into(),
            codes: Vec::new(),
        }
    }

    fn bad_request(description: impl Into<String>) -> Self {
        Refusal::new(400, "invalid_request", description)
    }
}

/// Which protocol a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The instance metadata service's.
    Imds,
    /// App Service's (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
    AppService,
}

/// The request headers the checks read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// `Metadata`.
    pub metadata: Option<&'a [u8]>,
    /// Whether any `X-Forwarded-For` was sent.
    pub forwarded_for: bool,
    /// `X-IDENTITY-HEADER`.
    pub identity_header: Option<&'a [u8]>,
}

/// Which identity a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// None named: the default identity.
    Default,
    /// `client_id`: a client id or a named identity's alias.
    ClientId(String),
    /// `object_id`, `principal_id`, `msi_res_id` or `mi_res_id`, which the proxy cannot map.
    Unmapped {
        /// The parameter.
        parameter: &'static str,
        /// Its value.
        value: String,
    },
}

/// A token request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The resource, as received (echoed in the answer).
    pub resource: String,
    /// The identity asked for.
    pub selector: Selector,
}

impl TokenRequest {
    /// The v2 scope of the resource, by upstream's rule: `/.default` appended unless already
    /// there, so `https://vault.azure.net/` becomes `https://vault.azure.net//.default`, which
    /// Entra reads as the v1 resource `https://vault.azure.net/`.
    pub fn scope(&self) -> String {
        scope_of(&self.resource)
    }
}

/// See [`TokenRequest::scope`].
pub fn scope_of(resource: &str) -> String {
    if resource.ends_with("/.default") {
        resource.to_owned()
    } else {
        format!("{resource}/.default")
    }
}

/// IMDS's SSRF rules, checked first so that SDK probes (no `Metadata` header) get their 400 at
/// once: a request relayed by a proxy (`X-Forwarded-For`) is refused, and `Metadata: true` is
/// required.
pub fn check_imds_headers(headers: &Headers<'_>) -> Result<(), Refusal> {
    if headers.forwarded_for {
        return Err(Refusal::bad_request(
            "Requests carrying an X-Forwarded-For header are refused (IMDS's SSRF rule): call the endpoint directly, not through a proxy",
        ));
    }
    match headers.metadata {
        Some(value) if value.eq_ignore_ascii_case(b"true") => Ok(()),
        _ => Err(Refusal::bad_request("Required metadata header not specified")),
    }
}

/// App Service's rule: `X-IDENTITY-HEADER` must equal the proxy's `IDENTITY_HEADER`, compared
/// in constant time. `secret` is `None` when the proxy was given none (the endpoint is off).
pub fn check_app_service_secret(headers: &Headers<'_>, secret: Option<&[u8]>) -> Result<(), Refusal> {
    let Some(secret) = secret else {
        return Err(Refusal::new(
            404,
            "not_found",
            "the App Service endpoint is off: start the proxy with IDENTITY_HEADER set (the value the app is given too)",
        ));
    };
    if headers.forwarded_for {
        return Err(Refusal::bad_request(
            "Requests carrying an X-Forwarded-For header are refused: call the endpoint directly, not through a proxy",
        ));
    }
    let given = headers.identity_header.unwrap_or_default();
    if aws_lc_rs::constant_time::verify_slices_are_equal(given, secret).is_err() {
        return Err(Refusal::new(
            401,
            "unauthorized",
            "X-IDENTITY-HEADER is missing or is not the proxy's IDENTITY_HEADER",
        ));
    }
    Ok(())
}

const SELECTORS: [&str; 5] = ["client_id", "object_id", "principal_id", "msi_res_id", "mi_res_id"];

/// Reads the query of a token request.
pub fn parse_query(protocol: Protocol, query: Option<&str>) -> Result<TokenRequest, Refusal> {
    let query = query.unwrap_or_default();
    if query.len() > MAX_QUERY_BYTES {
        return Err(Refusal::bad_request(format!(
            "the query string is {} bytes, more than {MAX_QUERY_BYTES}",
            query.len()
        )));
    }
    // Borrowed where nothing is escaped (the common case); bad escapes are kept as they are
    // and bad UTF-8 replaced, as every form decoder does.
    let pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = url::form_urlencoded::parse(query.as_bytes()).collect();
    let mut seen = std::collections::HashSet::with_capacity(pairs.len());
    for (name, _) in &pairs {
        if !seen.insert(name.as_ref()) {
            return Err(Refusal::bad_request(format!(
                "the query parameter '{}' is given more than once",
                printable(name)
            )));
        }
    }
    let value = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_ref());
    if protocol == Protocol::AppService && value("api-version") != Some(APP_SERVICE_API_VERSION) {
        return Err(Refusal::bad_request(format!(
            "api-version must be {APP_SERVICE_API_VERSION} (App Service's managed-identity protocol)"
        )));
    }
    let resource = match value("resource") {
        None | Some("") => return Err(Refusal::bad_request("Required query variable 'resource' is missing")),
        Some(resource) => resource,
    };
    if resource.chars().count() > MAX_RESOURCE_CHARS || resource.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Refusal::new(
            400,
            "invalid_resource",
            format!(
                "the resource must be an application ID URI of at most {MAX_RESOURCE_CHARS} characters without spaces or control characters"
            ),
        ));
    }
    let given: Vec<(&'static str, &str)> = SELECTORS
        .iter()
        .filter_map(|name| value(name).filter(|v| !v.is_empty()).map(|v| (*name, v)))
        .collect();
    let selector = match given.as_slice() {
        [] => Selector::Default,
        [(name, value)] => {
            if value.chars().count() > MAX_SELECTOR_CHARS || value.chars().any(char::is_control) {
                return Err(Refusal::bad_request(format!(
                    "{name} must be at most {MAX_SELECTOR_CHARS} characters without control characters"
                )));
            }
            if *name == "client_id" {
                Selector::ClientId((*value).to_owned())
            } else {
                Selector::Unmapped {
                    parameter: name,
                    value: (*value).to_owned(),
                }
            }
        }
        several => {
            let names: Vec<&str> = several.iter().map(|(n, _)| *n).collect();
            return Err(Refusal::bad_request(format!(
                "give one identity selector, not several ({})",
                names.join(", ")
            )));
        }
    };
    Ok(TokenRequest {
        resource: resource.to_owned(),
        selector,
    })
}

/// A name from the query, cut short and stripped of control characters, for an error text.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests;
