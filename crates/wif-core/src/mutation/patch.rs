//! The patch operations the planner writes, each aimed at one field the webhook owns, and what
//! the containers and the volume should end up with ([`Desired`]).

use std::collections::{BTreeMap, BTreeSet};

use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use jsonptr::PointerBuf;
use serde_json::{Map, Value};

use crate::settings::TokenLayout;

/// A JSON pointer from its tokens, written into one string sized for it: jsonptr's
/// `from_tokens` grows its string token by token (a heavy pod's plan regrew it 68 times).
pub(super) fn pointer(tokens: &[&str]) -> PointerBuf {
    let mut text = String::with_capacity(tokens.iter().map(|t| t.len() + 3).sum());
    for token in tokens {
        text.push('/');
        if token.contains(['~', '/']) {
            // RFC 6901: `~` is written `~0` and `/` is written `~1`.
            for c in token.chars() {
                match c {
                    '~' => text.push_str("~0"),
                    '/' => text.push_str("~1"),
                    c => text.push(c),
                }
            }
        } else {
            text.push_str(token);
        }
    }
    // Always valid (every `~` written is escaped); should it not be, jsonptr writes it.
    PointerBuf::parse(text).unwrap_or_else(|_| PointerBuf::from_tokens(tokens.iter().copied()))
}

/// An `add` operation.
pub(super) fn add(path: PointerBuf, value: Value) -> PatchOperation {
    PatchOperation::Add(AddOperation { path, value })
}

/// A `replace` operation.
pub(super) fn replace(path: PointerBuf, value: Value) -> PatchOperation {
    PatchOperation::Replace(ReplaceOperation { path, value })
}

/// A `remove` operation.
pub(super) fn remove(path: PointerBuf) -> PatchOperation {
    PatchOperation::Remove(RemoveOperation { path })
}

/// A JSON object from its entries, in this order, built directly: `json!` would serialize each
/// value again into a new `Value` (a deep copy of one that is already there).
pub(super) fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut map = Map::with_capacity(N);
    for (key, value) in entries {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

/// Everything the containers and the volume should end up with. The JSON of the env entries
/// and the mount is built once, not once per container.
pub(super) struct Desired<'a> {
    pub(super) env: Vec<(String, String)>,
    pub(super) env_entries: Vec<Value>,
    pub(super) mount: Value,
    pub(super) recorded_env: BTreeMap<String, String>,
    pub(super) volume_name: String,
    pub(super) volume_sources: Value,
    pub(super) layout: TokenLayout,
    pub(super) skip: BTreeSet<&'a str>,
}

/// Whether `map` holds no key but `allowed`.
pub(super) fn only_keys(map: &Map<String, Value>, allowed: &[&str]) -> bool {
    map.keys().all(|k| allowed.contains(&k.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_written_as_jsonptr_writes_them() {
        for tokens in [
            &[][..],
            &["spec", "containers", "0", "env", "-"][..],
            &["metadata", "annotations", "azure.workload.identity/injected-env"][..],
            &["a~b", "~/~1", "", "é/ü"][..],
        ] {
            assert_eq!(
                pointer(tokens),
                PointerBuf::from_tokens(tokens.iter().copied()),
                "{tokens:?}"
            );
        }
    }
}
