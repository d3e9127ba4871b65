//! Azure RBAC as the local Azure plane will decide it (issue 17's first piece): the built-in
//! role definitions the seeds' tutorials assign, by their real names and GUIDs; scopes; role
//! assignments; and the evaluation Azure applies: an assignment of the principal at the
//! resource's scope or any scope above it, whose role's actions (or data actions) match the
//! operation with `*` wildcards, less its not-actions, all compared case-insensitively
//! (spec/azure-control-plane.md §5 and §7.4). Pure: no I/O, no clock.

mod definition;
mod roles;

pub use definition::{Permission, Plane, RoleDefinition, operation_matches};
pub use roles::{BUILT_IN_ROLES, role_by_id, role_by_name};

/// An ARM scope, kept lower-case without a trailing slash, `/` for the root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    /// A scope from its id (`/subscriptions/S/resourceGroups/G/...`).
    pub fn new(id: &str) -> Scope {
        let trimmed = id.trim().trim_end_matches('/').to_ascii_lowercase();
        if trimmed.is_empty() {
            Scope("/".into())
        } else if trimmed.starts_with('/') {
            Scope(trimmed)
        } else {
            Scope(format!("/{trimmed}"))
        }
    }

    /// The normalized id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this scope is `resource` or one of the scopes above it: a whole-segment
    /// prefix, so `.../resourceGroups/app` does not cover `.../resourceGroups/app2`.
    pub fn covers(&self, resource: &Scope) -> bool {
        self.0 == "/"
            || resource.0 == self.0
            || resource
                .0
                .strip_prefix(self.0.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// A role assignment: a principal holds a role at a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The assignment's name (a GUID).
    pub name: String,
    /// Where it applies (and below).
    pub scope: Scope,
    /// The role definition's GUID.
    pub role_id: String,
    /// The principal's object id (a managed identity's `principalId`).
    pub principal_id: String,
}

/// The outcome of an access check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Allowed by this assignment of this role.
    Allowed {
        /// The assignment that grants it.
        assignment: &'a Assignment,
        /// Its role.
        role: &'static RoleDefinition,
    },
    /// No assignment grants it (Azure's `DeniedWithNoValidRBAC`).
    Denied,
}

/// Whether `principal_id` may perform `operation` on `resource`, given every assignment.
pub fn evaluate<'a>(
    assignments: &'a [Assignment],
    principal_id: &str,
    resource: &Scope,
    plane: Plane,
    operation: &str,
) -> Decision<'a> {
    assignments
        .iter()
        .filter(|a| a.principal_id.eq_ignore_ascii_case(principal_id) && a.scope.covers(resource))
        .find_map(|assignment| {
            let role = role_by_id(&assignment.role_id)?;
            role.permission
                .allows(plane, operation)
                .then_some(Decision::Allowed { assignment, role })
        })
        .unwrap_or(Decision::Denied)
}

#[cfg(test)]
mod tests;
