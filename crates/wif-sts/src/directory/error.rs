//! Why a directory is refused: where (`tenants[0].applications[1] (reader)`) and what, one
//! variant a rule, each keeping the error it came from.

use wif_core::fic::CredentialRuleError;

/// A directory the emulator cannot serve: the entry, and the rule it breaks.
#[derive(Debug)]
pub struct DirectoryError {
    /// Which entry (`tenants[0].applications[1] (reader)`, `issuers[2]`, `config`).
    pub location: String,
    /// What is wrong.
    pub problem: DirectoryProblem,
}

impl std::fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.problem)
    }
}

impl std::error::Error for DirectoryError {
    // The problem's words are in this error's own text; its cause, when it has one, follows.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.problem)
    }
}

/// The rule a directory entry breaks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryProblem {
    /// The text is not YAML of the directory's shape.
    #[error(transparent)]
    Yaml(#[from] Box<serde_saphyr::Error>),
    /// A tenant id that is not a GUID.
    #[error("tenantId {0:?} is not a GUID")]
    TenantIdNotGuid(String),
    /// A tenant (or its domain) listed twice.
    #[error("tenant {0} (or its domain) is listed twice")]
    TenantTwice(String),
    /// A domain that is not a DNS name.
    #[error("domain {0:?} must be a DNS name")]
    DomainNotDns(String),
    /// A client id that is not a GUID.
    #[error("client id {0:?} is not a GUID")]
    ClientIdNotGuid(String),
    /// An object id that is not a GUID.
    #[error("object id {0:?} is not a GUID")]
    ObjectIdNotGuid(String),
    /// Two principals of a tenant with one client id.
    #[error("client id {0} is used twice")]
    ClientIdTwice(String),
    /// A credential (or the set of them) against Entra's rules.
    #[error(transparent)]
    Credential(#[from] CredentialRuleError),
    /// An issuer that is not https.
    #[error("issuer {0:?} must be an https URL")]
    IssuerNotHttps(String),
    /// Both ways of reaching an issuer's keys.
    #[error("give caFile or jwksFile, not both")]
    CaAndJwks,
    /// A Microsoft Graph permission the local Graph does not know.
    #[error("graphAppRoles: {0:?} is not one of the Microsoft Graph application permissions the local Graph honours ({known})", known = crate::directory::GRAPH_APP_ROLES.join(", "))]
    UnknownGraphAppRole(String),
    /// An application owner that is not an object id.
    #[error("owners: {0:?} is not an object id (a GUID)")]
    OwnerNotGuid(String),
    /// A token lifetime Entra would not give.
    #[error("must be between 300 and 86400")]
    TokenLifetime,
}

/// A [`DirectoryError`] at `location`.
pub(super) fn refused(location: impl Into<String>, problem: impl Into<DirectoryProblem>) -> DirectoryError {
    DirectoryError {
        location: location.into(),
        problem: problem.into(),
    }
}
