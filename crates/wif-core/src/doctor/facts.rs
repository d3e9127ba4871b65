//! What the doctor is told from outside, as the CLI gathers it: the federated credentials of
//! each application or identity, a projected token's claims, and what the issuer served.

use crate::fic::FederatedCredential;

/// The credentials of one application or user-assigned managed identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// Its client id.
    pub client_id: String,
    /// What it is, for messages (`application reader in tenant ...`, or the file).
    pub owner: String,
    /// Its federated identity credentials.
    pub credentials: Vec<FederatedCredential>,
}

/// The claims of a projected token the doctor checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenFacts {
    /// Where it was read from.
    pub source: String,
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `aud`.
    pub audiences: Vec<String>,
    /// `exp`.
    pub expires_at: Option<i64>,
    /// The header's `kid`.
    pub kid: Option<String>,
}

/// What the issuer served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerFacts {
    /// The discovery document or the JWKS could not be had.
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The issuer's TLS certificate is signed by no CA that was trusted: a private CA (a
    /// local issuer's), not given with `--ca-file`.
    Untrusted {
        /// The URL.
        url: String,
        /// The CA file trusted besides the system's, when one was given.
        ca_file: Option<String>,
    },
    /// Both were fetched.
    Fetched {
        /// The discovery document's `issuer`.
        discovery_issuer: String,
        /// Its `jwks_uri`.
        jwks_uri: String,
        /// The `kid`s of the JWKS.
        kids: Vec<String>,
    },
}
