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

/// Why a scope id from outside is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// A `.` or `..` segment (also percent-encoded, `%2e%2e`): a scope is a resource's id,
    /// and a relative segment would make the stored text name one scope while its
    /// normalized form (what a reader or a proxy in front resolves it to) names another.
    #[error(
        "The scope '{scope}' is invalid: its segment '{segment}' is relative. A scope is a resource id such as /subscriptions/{{subscriptionId}}/resourceGroups/{{resourceGroupName}}, with no '.' or '..' segments."
    )]
    RelativeSegment {
        /// The scope (or path) as the client wrote it.
        scope: String,
        /// The refused segment, as written.
        segment: String,
    },
}

/// The first `.` or `..` segment of a scope id or request path, as written; `%2e` (either
/// case) counts as `.`, since HTTP stacks decode it before resolving dot segments.
pub fn relative_segment(path: &str) -> Option<&str> {
    path.split('/').find(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

impl Scope {
    /// A scope from an id that came from outside (a URL, a request body): refused when it
    /// has a relative segment ([`relative_segment`]), else as [`Scope::new`] makes it.
    pub fn parse(id: &str) -> Result<Scope, ScopeError> {
        match relative_segment(id) {
            Some(segment) => Err(ScopeError::RelativeSegment {
                scope: id.to_owned(),
                segment: segment.to_owned(),
            }),
            None => Ok(Scope::new(id)),
        }
    }

    /// A scope from its id (`/subscriptions/S/resourceGroups/G/...`), taken as written: ids
    /// from outside go through [`Scope::parse`] first.
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
