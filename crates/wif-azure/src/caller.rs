//! Who calls ARM, Graph or a vault: the bearer token every such call carries must be one this
//! emulator minted (its signature checks with the emulator's own key), unexpired, and for
//! the surface it is sent to (the audience each surface accepts, as Azure's). The caller is
//! the token's `oid` in its `tid`, with its `appid` (v1) or `azp` (v2).

use axum::http::{HeaderMap, header};
use wif_jose::{JwtError, Validation};

use wif_sts::StsState;

/// The surface a token is presented to, with the audiences it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Surface {
    /// ARM: `https://management.core.windows.net/` or `https://management.azure.com/`.
    Arm,
    /// Graph: the emulator's own URL (the cloud's `microsoftGraphResourceId`).
    Graph,
    /// A vault: exactly its challenge resource (`https://vault.<suffix>`), as Key Vault
    /// refuses even a trailing slash.
    Vault {
        /// The resource the challenge names.
        resource: String,
    },
    /// A storage account's blob service: `https://storage.azure.com` (what the SDKs and
    /// azure-cli ask for) or the account's own endpoint, with or without the trailing slash.
    Storage {
        /// The account's blob endpoint, `https://<account>.blob.<suffix>`.
        endpoint: String,
    },
}

/// The audience every storage account accepts.
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com";

/// ARM's accepted audiences, as its `InvalidAuthenticationTokenAudience` lists them.
pub const ARM_AUDIENCES: [&str; 4] = [
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

impl Surface {
    /// The audiences this surface accepts.
    pub fn audiences(&self, public_url: &str) -> Vec<String> {
        match self {
            Surface::Arm => ARM_AUDIENCES.iter().map(|a| (*a).to_owned()).collect(),
            Surface::Graph => {
                let base = public_url.trim_end_matches('/');
                vec![
                    format!("{base}/"),
                    base.to_owned(),
                    "https://graph.microsoft.com/".into(),
                    "https://graph.microsoft.com".into(),
                ]
            }
            Surface::Vault { resource } => vec![resource.clone()],
            Surface::Storage { endpoint } => {
                let endpoint = endpoint.trim_end_matches('/');
                vec![
                    STORAGE_RESOURCE.to_owned(),
                    format!("{STORAGE_RESOURCE}/"),
                    endpoint.to_owned(),
                    format!("{endpoint}/"),
                ]
            }
        }
    }
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `oid`: the principal's object id.
    pub object_id: String,
    /// `appid` or `azp`.
    pub app_id: String,
    /// `tid`.
    pub tenant_id: String,
    /// `roles`: the app roles granted on the token's resource (Graph's permissions on a
    /// Graph token), as the token names them.
    pub roles: Vec<String>,
}

/// Why a bearer token is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallerError {
    /// No `Authorization: Bearer` header.
    #[error("the request carries no bearer token")]
    Missing,
    /// Not a token of this emulator, or not a token at all.
    #[error("the token is not one this emulator issued: {0}")]
    Invalid(#[source] JwtError),
    /// Past its `exp`.
    #[error("the token has expired: {0}")]
    Expired(#[source] JwtError),
    /// For another surface.
    #[error("the token is for {found:?}, not for one of {expected:?}")]
    WrongAudience {
        /// Its `aud`.
        found: String,
        /// What the surface accepts.
        expected: Vec<String>,
    },
    /// Without `oid` or `tid`.
    #[error("the token names no principal (oid) or tenant (tid)")]
    NoPrincipal,
}

/// The bearer token of a request.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// Verifies `token` for `surface`.
pub fn verify(state: &StsState, token: &str, surface: Surface) -> Result<Caller, CallerError> {
    let validation = Validation {
        leeway_seconds: 0,
        ..Validation::default()
    };
    let verified = wif_jose::verify(token, &state.own_keys, &validation, state.clock.now_s()).map_err(|e| match e {
        JwtError::Expired { .. } | JwtError::NotYetValid { .. } => CallerError::Expired(e),
        other => CallerError::Invalid(other),
    })?;
    let expected = surface.audiences(&state.public_url());
    let audiences: Vec<String> = match verified.claims.get("aud") {
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        Some(serde_json::Value::Array(many)) => many.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    if !audiences.iter().any(|a| expected.contains(a)) {
        return Err(CallerError::WrongAudience {
            found: audiences.join(" "),
            expected,
        });
    }
    let claim = |name: &str| {
        verified
            .claims
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_ascii_lowercase)
    };
    match (claim("oid"), claim("tid")) {
        (Some(object_id), Some(tenant_id)) => Ok(Caller {
            object_id,
            app_id: claim("appid").or_else(|| claim("azp")).unwrap_or_default(),
            tenant_id,
            roles: match verified.claims.get("roles") {
                Some(serde_json::Value::Array(roles)) => {
                    roles.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect()
                }
                _ => Vec::new(),
            },
        }),
        _ => Err(CallerError::NoPrincipal),
    }
}

/// The request's caller for `surface`.
pub fn of_request(state: &StsState, headers: &HeaderMap, surface: Surface) -> Result<Caller, CallerError> {
    verify(state, bearer(headers).ok_or(CallerError::Missing)?, surface)
}
