//! Service principals, role assignments as ARM makes and lists them, and what RBAC
//! evaluates for a principal.

use wif_core::mutation::is_guid;
use wif_sts::directory::derived_guid;

use super::error::{ArmError, arm_error};
use super::identities::view;
use crate::config::{AzureConfig, DEFAULT_CALLER_ROLE, RoleAssignmentConfig};
use crate::rbac::{self, Assignment, Scope, ScopeError};

/// A service principal of the directory: an application's or a managed identity's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalView {
    /// Object id.
    pub object_id: String,
    /// App (client) id.
    pub app_id: String,
    /// Display name.
    pub display_name: String,
    /// Tenant.
    pub tenant_id: String,
    /// The identity's ARM id, for managed identities.
    pub resource_id: Option<String>,
}

/// Every service principal of the directory.
pub fn principals(config: &AzureConfig) -> Vec<PrincipalView> {
    let mut all = Vec::new();
    for tenant in &config.tenants {
        for app in &tenant.applications {
            let app_id = app.app_id.to_ascii_lowercase();
            all.push(PrincipalView {
                object_id: app
                    .object_id
                    .clone()
                    .unwrap_or_else(|| derived_guid(&format!("object:{app_id}")))
                    .to_ascii_lowercase(),
                app_id,
                display_name: app.display_name.clone(),
                tenant_id: tenant.tenant_id.to_ascii_lowercase(),
                resource_id: None,
            });
        }
        for mi in &tenant.user_assigned_identities {
            let v = view(&tenant.tenant_id, mi, "");
            all.push(PrincipalView {
                object_id: v.principal_id,
                app_id: v.client_id,
                display_name: v.name,
                tenant_id: v.tenant_id,
                resource_id: Some(v.id),
            });
        }
    }
    all
}

/// What a role assignment PUT carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentInput {
    /// The scope from the URL.
    pub scope: String,
    /// The name from the URL.
    pub name: String,
    /// `properties.roleDefinitionId`.
    pub role_definition_id: String,
    /// `properties.principalId`.
    pub principal_id: String,
    /// `properties.principalType`.
    pub principal_type: Option<String>,
}

/// ARM's 400 `InvalidScope` for a scope with a `.` or `..` segment.
pub fn invalid_scope(error: &ScopeError) -> ArmError {
    arm_error(400, "InvalidScope", error.to_string())
}

/// Creates a role assignment as ARM does: the scope must be a plain resource id (no `.` or
/// `..` segment: `InvalidScope`), the role must exist, the principal must be in the
/// directory, and the same (scope, role, principal) twice is `RoleAssignmentExists`.
pub fn create_assignment(
    config: &mut AzureConfig,
    input: AssignmentInput,
    created_on: String,
    created_by: &str,
) -> Result<RoleAssignmentConfig, ArmError> {
    let scope = Scope::parse(&input.scope).map_err(|e| invalid_scope(&e))?;
    if !is_guid(&input.name) {
        return Err(arm_error(
            400,
            "InvalidRoleAssignmentId",
            format!(
                "The role assignment ID '{}' is not valid. The role assignment ID must be a GUID.",
                input.name
            ),
        ));
    }
    let Some(role) = rbac::role_by_id(&input.role_definition_id) else {
        return Err(arm_error(
            400,
            "RoleDefinitionDoesNotExist",
            format!(
                "The specified role definition with ID '{}' does not exist.",
                input.role_definition_id.rsplit('/').next().unwrap_or_default()
            ),
        ));
    };
    let principal = principals(config)
        .into_iter()
        .find(|p| p.object_id.eq_ignore_ascii_case(&input.principal_id));
    let Some(principal) = principal else {
        return Err(arm_error(
            400,
            "PrincipalNotFound",
            format!(
                "Principal {} does not exist in the directory. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
                input.principal_id.replace('-', "")
            ),
        ));
    };
    if let Some(same_name) = config
        .role_assignments
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(&input.name))
    {
        let unchanged = Scope::new(&same_name.scope) == scope
            && rbac::role_by_id(&same_name.role_definition_id).is_some_and(|r| r.id == role.id)
            && same_name.principal_id.eq_ignore_ascii_case(&principal.object_id);
        return if unchanged {
            Ok(same_name.clone())
        } else {
            Err(arm_error(
                400,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            ))
        };
    }
    if config.role_assignments.iter().any(|a| {
        Scope::new(&a.scope) == scope
            && rbac::role_by_id(&a.role_definition_id).is_some_and(|r| r.id == role.id)
            && a.principal_id.eq_ignore_ascii_case(&principal.object_id)
    }) {
        return Err(arm_error(
            409,
            "RoleAssignmentExists",
            "The role assignment already exists.",
        ));
    }
    let subscription_part = scope
        .as_str()
        .strip_prefix("/subscriptions/")
        .and_then(|rest| rest.split('/').next())
        .map(|s| format!("/subscriptions/{s}"))
        .unwrap_or_default();
    let created = RoleAssignmentConfig {
        name: input.name.to_ascii_lowercase(),
        scope: input.scope.trim_end_matches('/').to_owned(),
        role_definition_id: format!(
            "{subscription_part}/providers/Microsoft.Authorization/roleDefinitions/{}",
            role.id
        ),
        principal_id: principal.object_id,
        principal_type: input.principal_type,
        created_on: Some(created_on),
        created_by: Some(created_by.to_owned()),
    };
    config.role_assignments.push(created.clone());
    Ok(created)
}

/// The assignments that apply at `scope` (there or above: ARM's `atScope()`), or every one at
/// or below it when `at_scope` is false.
pub fn assignments_at<'c>(config: &'c AzureConfig, scope: &str, at_scope: bool) -> Vec<&'c RoleAssignmentConfig> {
    let scope = Scope::new(scope);
    config
        .role_assignments
        .iter()
        .filter(|a| {
            let own = Scope::new(&a.scope);
            own.covers(&scope) || (!at_scope && scope.covers(&own))
        })
        .collect()
}

/// Deletes the assignment `name` at `scope`.
pub fn delete_assignment(config: &mut AzureConfig, scope: &str, name: &str) -> Option<RoleAssignmentConfig> {
    let scope = Scope::new(scope);
    let index = config
        .role_assignments
        .iter()
        .position(|a| a.name.eq_ignore_ascii_case(name) && Scope::new(&a.scope) == scope)?;
    Some(config.role_assignments.remove(index))
}

/// What RBAC evaluates for a principal: its assignments, plus, for an application's service
/// principal (the one azure-cli logs in as), the caller role each subscription of its tenant
/// grants at the subscription (Owner unless configured). A managed identity has only its
/// assignments, as in Azure: the tutorials' point is what they grant.
pub fn effective_assignments(config: &AzureConfig, principal_id: &str, tenant_id: &str) -> Vec<Assignment> {
    let mut all: Vec<Assignment> = config
        .role_assignments
        .iter()
        .filter(|a| a.principal_id.eq_ignore_ascii_case(principal_id))
        .map(RoleAssignmentConfig::assignment)
        .collect();
    let application = principals(config)
        .iter()
        .any(|p| p.resource_id.is_none() && p.object_id.eq_ignore_ascii_case(principal_id));
    if !application {
        return all;
    }
    for s in config
        .subscriptions
        .iter()
        .filter(|s| s.tenant_id.eq_ignore_ascii_case(tenant_id))
    {
        let role = s.caller_role.as_deref().unwrap_or(DEFAULT_CALLER_ROLE);
        if let Some(role) = rbac::role_by_name(role) {
            all.push(Assignment {
                name: format!("caller-role:{}", s.subscription_id),
                scope: Scope::new(&format!("/subscriptions/{}", s.subscription_id)),
                role_id: role.id.to_owned(),
                principal_id: principal_id.to_owned(),
            });
        }
    }
    all
}

#[cfg(test)]
mod relative_scope_tests {
    use super::*;

    #[test]
    fn a_scope_with_a_relative_segment_is_invalid_scope_and_nothing_is_stored() {
        let mut config = AzureConfig::default();
        let input = AssignmentInput {
            scope: "/subscriptions/S/resourceGroups/rg/%2e%2e/..".into(),
            name: "a0000000-0000-4000-8000-000000000001".into(),
            role_definition_id: "4633458b-17de-408a-b874-0445c86b69e6".into(),
            principal_id: "0b1e0000-0000-4000-8000-000000000001".into(),
            principal_type: None,
        };
        let refused = create_assignment(&mut config, input, "t".into(), "me").unwrap_err();
        assert_eq!((refused.status, refused.code), (400, "InvalidScope"));
        assert!(
            refused.message.contains("segment '%2e%2e' is relative"),
            "{}",
            refused.message
        );
        assert!(config.role_assignments.is_empty());
    }
}
