//! What a role grants, as Azure writes it: a role definition's permissions (actions and data
//! actions, each less its not-actions), and how an operation is matched against them (`*`
//! standing for any run of characters, case ignored).

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
