//! What each stage of the exchange hands the next: the endpoint called, the request as prepared
//! before the issuer's keys are needed ([`Prepared`]), and the outcome ([`Grant`]).

use wif_jose::UnverifiedToken;

use crate::directory::{Principal, Tenant};
use crate::errors::EntraError;

/// Which token endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/{tenant}/oauth2/token` with `resource=`; string numbers in the response.
    V1,
    /// `/{tenant}/oauth2/v2.0/token` with `scope=`.
    V2,
}

/// Everything checked before the issuer's keys are needed.
#[derive(Debug)]
pub struct Prepared<'d> {
    /// The tenant.
    pub tenant: &'d Tenant,
    /// The principal whose credentials are tried.
    pub principal: &'d Principal,
    /// The decoded, not yet verified, assertion: only [`super::verify`] and [`super::finish`] read it.
    pub(super) assertion: UnverifiedToken,
    /// The assertion's issuer.
    pub issuer: String,
    /// Whose keys must verify the assertion: [`Prepared::issuer`] when a credential trusts it,
    /// else the closest issuer a credential names.
    pub key_issuer: String,
    /// `scope` (v2) or `resource` (v1), as sent.
    pub requested: String,
    /// Which endpoint.
    pub endpoint: Endpoint,
}

impl Prepared<'_> {
    /// Whether a credential names the assertion's issuer exactly. When not, every failure
    /// before [`super::finish`] is answered with [`Prepared::untrusted_issuer`].
    pub fn issuer_is_trusted(&self) -> bool {
        self.key_issuer == self.issuer
    }

    /// Entra's 700211 and nothing more: what a caller whose assertion is not proven to come
    /// from a trusted issuer gets. `detail` goes to the emulator's log.
    pub fn untrusted_issuer(&self, detail: impl Into<String>) -> EntraError {
        EntraError::no_matching_issuer(&self.issuer)
            .with_diagnosis(
                "no federated identity credential of this principal names the token's issuer, and the token is not signed by an issuer one does name",
            )
            .with_log_detail(format!(
                "{} {}: closest trusted issuer '{}': {}",
                principal_label(self.principal),
                self.principal.client_id,
                self.key_issuer,
                detail.into()
            ))
    }
}

/// The outcome: who gets a token, for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Tenant GUID.
    pub tenant_id: String,
    /// The principal.
    pub principal: Principal,
    /// The resource (scope without `/.default`).
    pub resource: String,
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// The credential that matched.
    pub credential: String,
}

/// What a principal is called in diagnoses.
pub(super) fn principal_label(principal: &Principal) -> &'static str {
    match principal.kind {
        crate::directory::PrincipalKind::Application => "application",
        crate::directory::PrincipalKind::ManagedIdentity { .. } => "managed identity",
    }
}
