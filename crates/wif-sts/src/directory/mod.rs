//! The emulated directory, checked with Entra's rules and ready for lookups: tenants (GUID
//! and optional domain), their applications and user-assigned managed identities with their
//! federated identity credentials, and the trust settings for fetching each issuer's keys (a
//! CA file, or a static JWKS). Its file is `config`'s, its refusals `error`'s.

use std::path::Path;

use wif_core::fic::{FederatedCredential, check_credentials};
use wif_core::mutation::is_guid;

mod config;
mod error;

pub use config::{
    ApplicationConfig, DirectoryConfig, GRAPH_APP_ROLES, IssuerConfig, ManagedIdentityConfig, TenantConfig,
};
use error::refused;
pub use error::{DirectoryError, DirectoryProblem};

/// Whether a principal is an app registration or a managed identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An app registration.
    Application,
    /// A user-assigned managed identity, with its ARM resource id.
    ManagedIdentity {
        /// `xms_mirid`.
        resource_id: String,
    },
}

/// An application or managed identity, ready for lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Display name or resource name.
    pub name: String,
    /// Client id.
    pub client_id: String,
    /// Object id.
    pub object_id: String,
    /// Which kind.
    pub kind: PrincipalKind,
    /// Its credentials.
    pub credentials: Vec<FederatedCredential>,
    /// The Microsoft Graph application permissions granted to it, in Entra's spelling: its
    /// Graph tokens carry them as `roles`.
    pub graph_app_roles: Vec<String>,
}

/// A checked tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// GUID (lower case).
    pub id: String,
    /// Domain, lower case.
    pub domain: Option<String>,
    /// Applications and managed identities.
    pub principals: Vec<Principal>,
}

impl Tenant {
    /// The principal with this client id (GUIDs compare ignoring case).
    pub fn principal(&self, client_id: &str) -> Option<&Principal> {
        self.principals
            .iter()
            .find(|p| p.client_id.eq_ignore_ascii_case(client_id))
    }
}

/// The checked directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Tenants.
    pub tenants: Vec<Tenant>,
    /// Issuer trust settings, paths resolved.
    pub issuers: Vec<IssuerConfig>,
    /// Application token lifetime.
    pub token_lifetime_seconds: i64,
}

/// Default lifetime of application tokens (Entra's `expires_in` is typically 3599).
pub const DEFAULT_TOKEN_LIFETIME: i64 = 3599;

/// A stable GUID derived from `seed`, for object ids the config leaves out.
pub fn derived_guid(seed: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, seed.as_bytes());
    let hex: String = digest.as_ref().iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl Directory {
    /// Parses and checks a YAML config; relative file paths are resolved against `base_dir`.
    ///
    /// ```
    /// let yaml = "tenants:\n  - tenantId: aaaaaaaa-0000-4000-8000-00000000000a\n    applications:\n      - {displayName: app, appId: not-a-guid}\n";
    /// let refused = wif_sts::Directory::from_yaml(yaml, ".".as_ref()).unwrap_err();
    /// assert_eq!(refused.to_string(), "tenants[0].applications[0] (app): client id \"not-a-guid\" is not a GUID");
    /// ```
    pub fn from_yaml(text: &str, base_dir: &Path) -> Result<Self, DirectoryError> {
        let config: DirectoryConfig = serde_saphyr::from_str(text).map_err(|e| refused("config", Box::new(e)))?;
        Self::from_config(config, base_dir)
    }

    /// Checks a parsed config.
    pub fn from_config(config: DirectoryConfig, base_dir: &Path) -> Result<Self, DirectoryError> {
        let mut tenants: Vec<Tenant> = Vec::new();
        for (ti, t) in config.tenants.into_iter().enumerate() {
            let at = format!("tenants[{ti}]");
            if !is_guid(&t.tenant_id) {
                return Err(refused(&at, DirectoryProblem::TenantIdNotGuid(t.tenant_id)));
            }
            let id = t.tenant_id.to_ascii_lowercase();
            let domain = t.domain.map(|d| d.to_ascii_lowercase());
            if tenants
                .iter()
                .any(|o| o.id == id || (domain.is_some() && o.domain == domain))
            {
                return Err(refused(&at, DirectoryProblem::TenantTwice(id)));
            }
            if let Some(d) = &domain
                && (is_guid(d) || !d.contains('.'))
            {
                return Err(refused(&at, DirectoryProblem::DomainNotDns(d.clone())));
            }
            let mut principals = Vec::new();
            for (ai, app) in t.applications.into_iter().enumerate() {
                let at = format!("{at}.applications[{ai}] ({})", app.display_name);
                if let Some(owner) = app.owners.iter().find(|o| !is_guid(o)) {
                    return Err(refused(&at, DirectoryProblem::OwnerNotGuid(owner.clone())));
                }
                principals.push(checked_principal(
                    &at,
                    Named {
                        name: app.display_name,
                        client_id: app.app_id,
                        object_id: app.object_id,
                        graph_app_roles: app.graph_app_roles,
                    },
                    PrincipalKind::Application,
                    app.federated_identity_credentials,
                )?);
            }
            for (mi, identity) in t.user_assigned_identities.into_iter().enumerate() {
                let at = format!("{at}.userAssignedIdentities[{mi}] ({})", identity.name);
                let resource_id = identity.resource_id.unwrap_or_else(|| {
                    format!(
                        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/wif/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
                        identity.name
                    )
                });
                principals.push(checked_principal(
                    &at,
                    Named {
                        name: identity.name,
                        client_id: identity.client_id,
                        object_id: identity.principal_id,
                        graph_app_roles: identity.graph_app_roles,
                    },
                    PrincipalKind::ManagedIdentity { resource_id },
                    identity.federated_identity_credentials,
                )?);
            }
            for (i, p) in principals.iter().enumerate() {
                if principals[..i].iter().any(|o| o.client_id == p.client_id) {
                    return Err(refused(&at, DirectoryProblem::ClientIdTwice(p.client_id.clone())));
                }
            }
            tenants.push(Tenant { id, domain, principals });
        }
        let mut issuers = Vec::new();
        for (ii, mut issuer) in config.issuers.into_iter().enumerate() {
            let at = format!("issuers[{ii}]");
            if !issuer.issuer.starts_with("https://") {
                return Err(refused(&at, DirectoryProblem::IssuerNotHttps(issuer.issuer)));
            }
            if issuer.ca_file.is_some() && issuer.jwks_file.is_some() {
                return Err(refused(&at, DirectoryProblem::CaAndJwks));
            }
            issuer.ca_file = issuer.ca_file.map(|p| base_dir.join(p));
            issuer.jwks_file = issuer.jwks_file.map(|p| base_dir.join(p));
            issuers.push(issuer);
        }
        let token_lifetime_seconds = config.token_lifetime_seconds.unwrap_or(DEFAULT_TOKEN_LIFETIME);
        if !(300..=86_400).contains(&token_lifetime_seconds) {
            return Err(refused("tokenLifetimeSeconds", DirectoryProblem::TokenLifetime));
        }
        Ok(Directory {
            tenants,
            issuers,
            token_lifetime_seconds,
        })
    }

    /// The config against itself, with the near-miss rules tokens are judged by: each
    /// credential whose issuer is an `issuers` entry but for a trailing slash (or case, or
    /// scheme), so that every token of that issuer will be refused. A warning, not an error:
    /// it is also the very mistake the emulator is used to reproduce.
    pub fn near_miss_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for tenant in &self.tenants {
            for principal in &tenant.principals {
                for fic in &principal.credentials {
                    if self.issuers.iter().any(|i| i.issuer == fic.issuer) {
                        continue;
                    }
                    let near = self.issuers.iter().find_map(|i| {
                        wif_core::fic::issuer_difference(&fic.issuer, &i.issuer).map(|how| (&i.issuer, how))
                    });
                    if let Some((listed, how)) = near {
                        warnings.push(format!(
                            "tenant {}, {} ({}), credential '{}': its issuer {:?} is not the issuers entry {listed:?}, so every token from that issuer will be refused (AADSTS700211): {}; make them equal unless that is what you mean to reproduce",
                            tenant.id,
                            principal.name,
                            principal.client_id,
                            fic.name,
                            fic.issuer,
                            how.replace("the token's issuer", "the issuers entry").replace("the token's", "the issuers entry's")
                        ));
                    }
                }
            }
        }
        warnings
    }

    /// The tenant named by a URL segment: its GUID (any case) or its domain.
    pub fn tenant(&self, segment: &str) -> Option<&Tenant> {
        let segment = segment.to_ascii_lowercase();
        self.tenants
            .iter()
            .find(|t| t.id == segment || t.domain.as_deref() == Some(segment.as_str()))
    }
}

/// What an application and an identity have alike, as the config gives it.
struct Named {
    name: String,
    client_id: String,
    object_id: Option<String>,
    graph_app_roles: Vec<String>,
}

fn checked_principal(
    at: &str,
    Named {
        name,
        client_id,
        object_id,
        graph_app_roles,
    }: Named,
    kind: PrincipalKind,
    credentials: Vec<FederatedCredential>,
) -> Result<Principal, DirectoryError> {
    if !is_guid(&client_id) {
        return Err(refused(at, DirectoryProblem::ClientIdNotGuid(client_id)));
    }
    // Each credential's own rules first, so the error names it; then the rules of the set.
    for (i, fic) in credentials.iter().enumerate() {
        wif_core::fic::check_credential(fic)
            .map_err(|e| refused(format!("{at}.federatedIdentityCredentials[{i}] ('{}')", fic.name), e))?;
    }
    check_credentials(&credentials).map_err(|e| refused(at, e))?;
    let client_id = client_id.to_ascii_lowercase();
    let object_id = match object_id {
        Some(id) if is_guid(&id) => id.to_ascii_lowercase(),
        Some(id) => return Err(refused(at, DirectoryProblem::ObjectIdNotGuid(id))),
        None => derived_guid(&format!("object:{client_id}")),
    };
    // Entra's spelling, whatever case the config used: tokens carry the permission's own name.
    let graph_app_roles = graph_app_roles
        .into_iter()
        .map(|role| {
            GRAPH_APP_ROLES
                .iter()
                .find(|known| known.eq_ignore_ascii_case(&role))
                .map(|known| (*known).to_owned())
                .ok_or_else(|| refused(at, DirectoryProblem::UnknownGraphAppRole(role)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Principal {
        name,
        client_id,
        object_id,
        kind,
        credentials,
        graph_app_roles,
    })
}

/// Whether a URL tenant segment is a GUID or a DNS name (Entra's 900023 rule).
pub fn is_tenant_identifier(segment: &str) -> bool {
    is_guid(segment)
        || (segment.contains('.')
            && segment
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')))
}

#[cfg(test)]
mod tests;
