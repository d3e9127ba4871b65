//! What a request asks of a vault: its operation from method and path, the secret it names,
//! and the data action that must be allowed.

use axum::http::Method;

use crate::keyvault::SecretOperation;

/// Largest vault request body: a 25 KiB secret with its JSON around it.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a request asks of the vault.
pub(super) enum Operation<'p> {
    List,
    Get { name: &'p str, version: Option<&'p str> },
    Set { name: &'p str },
    Delete { name: &'p str },
}

impl<'p> Operation<'p> {
    /// The secret it names, if any.
    pub(super) fn secret_name(&self) -> Option<&'p str> {
        match self {
            Operation::List => None,
            Operation::Get { name, .. } | Operation::Set { name } | Operation::Delete { name } => Some(name),
        }
    }

    /// The data action RBAC (or the access policy) must allow.
    pub(super) fn kind(&self) -> SecretOperation {
        match self {
            Operation::List => SecretOperation::List,
            Operation::Get { .. } => SecretOperation::Get,
            Operation::Set { .. } => SecretOperation::Set,
            Operation::Delete { .. } => SecretOperation::Delete,
        }
    }
}

pub(super) fn operation<'p>(method: &Method, path: &'p str) -> Option<Operation<'p>> {
    let rest = path.strip_prefix("/secrets")?;
    if rest.is_empty() || rest == "/" {
        return (*method == Method::GET).then_some(Operation::List);
    }
    let rest = rest.strip_prefix('/')?;
    let (name, version) = match rest.split_once('/') {
        Some((name, version)) if !version.contains('/') => (name, Some(version).filter(|v| !v.is_empty())),
        Some(_) => return None,
        None => (rest, None),
    };
    match *method {
        Method::GET => Some(Operation::Get { name, version }),
        Method::PUT if version.is_none() => Some(Operation::Set { name }),
        Method::DELETE if version.is_none() => Some(Operation::Delete { name }),
        _ => None,
    }
}
