//! User-assigned identities (in their tenant, placed by their ARM id) and their federated
//! credentials, with Entra's rules on each set.

use std::collections::BTreeMap;

use wif_core::fic::FederatedCredential;
use wif_sts::directory::{ManagedIdentityConfig, derived_guid};

use super::error::{ArmError, arm_error, invalid_name};
use super::groups::*;
use crate::config::{AzureConfig, valid_resource_name};
use crate::rbac::Scope;

/// A user-assigned identity with where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityView {
    /// Its ARM id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Location.
    pub location: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Client id.
    pub client_id: String,
    /// Principal (object) id.
    pub principal_id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Its credentials.
    pub credentials: Vec<FederatedCredential>,
}

pub(super) fn view(tenant_id: &str, mi: &ManagedIdentityConfig, fallback_location: &str) -> IdentityView {
    let client_id = mi.client_id.to_ascii_lowercase();
    IdentityView {
        id: mi.resource_id.clone().unwrap_or_default(),
        name: mi.name.clone(),
        location: mi.location.clone().unwrap_or_else(|| fallback_location.to_owned()),
        tags: mi.tags.clone(),
        principal_id: mi
            .principal_id
            .clone()
            .unwrap_or_else(|| derived_guid(&format!("object:{client_id}")))
            .to_ascii_lowercase(),
        client_id,
        tenant_id: tenant_id.to_ascii_lowercase(),
        credentials: mi.federated_identity_credentials.clone(),
    }
}

fn identity_not_found(name: &str, group: &str) -> ArmError {
    arm_error(
        404,
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

fn identity_mut<'c>(config: &'c mut AzureConfig, id: &str) -> Option<&'c mut ManagedIdentityConfig> {
    let wanted = Scope::new(id);
    config
        .tenants
        .iter_mut()
        .flat_map(|t| t.user_assigned_identities.iter_mut())
        .find(|mi| mi.resource_id.as_deref().is_some_and(|r| Scope::new(r) == wanted))
}

/// The identity `name` in group `group`.
pub fn identity(config: &AzureConfig, sub: &str, group_name: &str, name: &str) -> Result<IdentityView, ArmError> {
    let rg = group(config, sub, group_name)?;
    let wanted = Scope::new(&identity_id(sub, &rg.name, name));
    config
        .tenants
        .iter()
        .find_map(|t| {
            t.user_assigned_identities
                .iter()
                .find(|mi| mi.resource_id.as_deref().is_some_and(|r| Scope::new(r) == wanted))
                .map(|mi| view(&t.tenant_id, mi, &rg.location))
        })
        .ok_or_else(|| identity_not_found(name, group_name))
}

/// The identities of a group, or of the whole subscription when `group_name` is `None`.
pub fn identities(config: &AzureConfig, sub: &str, group_name: Option<&str>) -> Result<Vec<IdentityView>, ArmError> {
    let scope = match group_name {
        Some(g) => Scope::new(&group_id(sub, &group(config, sub, g)?.name)),
        None => Scope::new(&format!(
            "/subscriptions/{}",
            subscription(config, sub)?.subscription_id
        )),
    };
    Ok(config
        .tenants
        .iter()
        .flat_map(|t| t.user_assigned_identities.iter().map(move |mi| (t, mi)))
        .filter(|(_, mi)| mi.resource_id.as_deref().is_some_and(|r| scope.covers(&Scope::new(r))))
        .map(|(t, mi)| view(&t.tenant_id, mi, ""))
        .collect())
}

/// Creates or updates a user-assigned identity; its client and principal ids are made once
/// (`new_ids`) and kept across PUTs, as Azure keeps them. Returns it and whether it was created.
pub fn put_identity(
    config: &mut AzureConfig,
    sub: &str,
    group_name: &str,
    name: &str,
    location: Option<&str>,
    tags: Option<BTreeMap<String, String>>,
    new_ids: (String, String),
) -> Result<(IdentityView, bool), ArmError> {
    if !valid_resource_name(name) {
        return Err(invalid_name("user assigned identity", name));
    }
    let rg = group(config, sub, group_name)?.clone();
    let tenant_id = subscription(config, sub)?.tenant_id.clone();
    let id = identity_id(sub, &rg.name, name);
    let location = location.map_or_else(|| rg.location.clone(), normalized_location);
    if let Some(existing) = identity_mut(config, &id) {
        existing.location = Some(location);
        if let Some(tags) = tags {
            existing.tags = tags;
        }
        let updated = existing.clone();
        return Ok((view(&tenant_id, &updated, &rg.location), false));
    }
    let tenant = config
        .tenants
        .iter_mut()
        .find(|t| t.tenant_id.eq_ignore_ascii_case(&tenant_id))
        .ok_or_else(|| {
            arm_error(
                500,
                "InternalServerError",
                format!("the subscription's tenant {tenant_id} is not in the directory"),
            )
        })?;
    let (client_id, principal_id) = new_ids;
    let created = ManagedIdentityConfig {
        name: name.to_owned(),
        client_id,
        principal_id: Some(principal_id),
        resource_id: Some(id),
        location: Some(location),
        tags: tags.unwrap_or_default(),
        federated_identity_credentials: Vec::new(),
        graph_app_roles: Vec::new(),
    };
    tenant.user_assigned_identities.push(created.clone());
    Ok((view(&tenant_id, &created, &rg.location), true))
}

/// Deletes an identity: it stops getting tokens at once.
pub fn delete_identity(config: &mut AzureConfig, sub: &str, group_name: &str, name: &str) -> Result<bool, ArmError> {
    let id = Scope::new(&identity_id(sub, &group(config, sub, group_name)?.name, name));
    let mut found = false;
    for tenant in &mut config.tenants {
        let before = tenant.user_assigned_identities.len();
        tenant
            .user_assigned_identities
            .retain(|mi| mi.resource_id.as_deref().is_none_or(|r| Scope::new(r) != id));
        found |= tenant.user_assigned_identities.len() != before;
    }
    Ok(found)
}

/// What a federated credential PUT carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialInput {
    /// `properties.issuer`.
    pub issuer: Option<String>,
    /// `properties.subject`.
    pub subject: Option<String>,
    /// `properties.audiences`.
    pub audiences: Option<Vec<String>>,
}

/// Creates or replaces a credential of an identity, with Entra's rules on the whole set.
/// Returns it and whether it was created.
pub fn put_credential(
    config: &mut AzureConfig,
    sub: &str,
    group_name: &str,
    identity_name: &str,
    name: &str,
    input: CredentialInput,
) -> Result<(FederatedCredential, bool), ArmError> {
    let mi = identity(config, sub, group_name, identity_name)?;
    let (Some(issuer), Some(subject), Some(audiences)) = (input.issuer, input.subject, input.audiences) else {
        return Err(arm_error(
            400,
            "BadRequest",
            "The request format was unexpected. Federated Identity Credential must specify 'issuer', 'subject' and 'audience'.",
        ));
    };
    let fic = FederatedCredential {
        name: name.to_owned(),
        issuer,
        subject,
        audiences,
        description: None,
    };
    let mut credentials = mi.credentials;
    let created = match credentials.iter_mut().find(|c| c.name.eq_ignore_ascii_case(name)) {
        Some(existing) => {
            *existing = fic.clone();
            false
        }
        None => {
            credentials.push(fic.clone());
            true
        }
    };
    wif_core::fic::check_credentials(&credentials).map_err(|e| arm_error(400, "BadRequest", e.to_string()))?;
    if let Some(stored) = identity_mut(config, &mi.id) {
        stored.federated_identity_credentials = credentials;
    }
    Ok((fic, created))
}

/// Deletes a credential; whether it existed.
pub fn delete_credential(
    config: &mut AzureConfig,
    sub: &str,
    group_name: &str,
    identity_name: &str,
    name: &str,
) -> Result<bool, ArmError> {
    let mi = identity(config, sub, group_name, identity_name)?;
    let Some(stored) = identity_mut(config, &mi.id) else {
        return Ok(false);
    };
    let before = stored.federated_identity_credentials.len();
    stored
        .federated_identity_credentials
        .retain(|c| !c.name.eq_ignore_ascii_case(name));
    Ok(stored.federated_identity_credentials.len() != before)
}
