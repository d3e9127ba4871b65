//! How to reach one issuer: the `issuers:` entries of the emulator's directory (Graph's
//! camelCase shape), read by the key cache ([`crate::keys`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How to fetch one issuer's discovery document and JWKS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssuerConfig {
    /// The issuer URL, as in tokens.
    pub issuer: String,
    /// CA bundle (PEM) trusted for this issuer's HTTPS, besides nothing else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// A static JWKS instead of fetching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_file: Option<PathBuf>,
}
