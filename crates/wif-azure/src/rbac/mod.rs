//! Azure RBAC as the local Azure plane will decide it (issue 17's first piece): the built-in
//! role definitions the seeds' tutorials assign, by their real names and GUIDs; scopes; role
//! assignments; and the evaluation Azure applies: an assignment of the principal at the
//! resource's scope or any scope above it, whose role's actions (or data actions) match the
//! operation with `*` wildcards, less its not-actions, all compared case-insensitively
//! (spec/azure-control-plane.md §5 and §7.4). Pure: no I/O, no clock.

mod roles;

pub use roles::BUILT_IN_ROLES;

/// What a role grants (one `permissions` entry of a role definition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// Control-plane operations granted (`*/read`, `Microsoft.KeyVault/vaults/*`).
    pub actions: &'static [&'static str],
    /// Control-plane operations taken back out.
    pub not_actions: &'static [&'static str],
    /// Data-plane operations granted (`Microsoft.KeyVault/vaults/secrets/getSecret/action`).
    pub data_actions: &'static [&'static str],
    /// Data-plane operations taken back out.
    pub not_data_actions: &'static [&'static str],
}

/// A built-in role definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleDefinition {
    /// The definition's GUID (its `name` in ARM).
    pub id: &'static str,
    /// `roleName`, as `az role assignment create --role` takes it.
    pub role_name: &'static str,
    /// Azure's description.
    pub description: &'static str,
    /// What it grants.
    pub permission: Permission,
}

/// The role named `role_name` (case-insensitive, as ARM's `$filter=roleName eq '...'`).
pub fn role_by_name(role_name: &str) -> Option<&'static RoleDefinition> {
    BUILT_IN_ROLES
        .iter()
        .find(|r| r.role_name.eq_ignore_ascii_case(role_name.trim()))
}

/// The role a `roleDefinitionId` names: a GUID, or a full id ending in
/// `/providers/Microsoft.Authorization/roleDefinitions/<GUID>` at any scope.
pub fn role_by_id(id: &str) -> Option<&'static RoleDefinition> {
    let guid = id.trim().rsplit('/').next().unwrap_or_default();
    BUILT_IN_ROLES.iter().find(|r| r.id.eq_ignore_ascii_case(guid))
}

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

/// Which list of a permission an operation is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    /// ARM operations: `actions` / `notActions`.
    Control,
    /// Key Vault, Storage data: `dataActions` / `notDataActions`.
    Data,
}

/// Does `pattern` (Azure's, `*` standing for any run of characters, `/` included) match
/// `operation`, ignoring case?
pub fn operation_matches(pattern: &str, operation: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let operation = operation.to_ascii_lowercase();
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = operation.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        // No `*` at all: the whole operation must be the pattern.
        return rest.is_empty();
    };
    for piece in middle {
        match rest.split_once(piece) {
            Some((_, after)) => rest = after,
            None => return false,
        }
    }
    rest.ends_with(last)
}

impl Permission {
    /// Whether this permission allows `operation` on `plane`.
    pub fn allows(&self, plane: Plane, operation: &str) -> bool {
        let (granted, taken) = match plane {
            Plane::Control => (self.actions, self.not_actions),
            Plane::Data => (self.data_actions, self.not_data_actions),
        };
        granted.iter().any(|p| operation_matches(p, operation))
            && !taken.iter().any(|p| operation_matches(p, operation))
    }
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
