//! Where settings' environment variables come from: the process, or a map in tests (so no
//! test mutates the process environment).

use std::collections::HashMap;

/// A source of environment variables: the process environment, or a map in tests.
pub trait EnvSource {
    /// The variable's value, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<S: std::hash::BuildHasher> EnvSource for HashMap<&str, &str, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| (*v).to_owned())
    }
}

impl<S: std::hash::BuildHasher> EnvSource for HashMap<&str, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// `value` unless it is empty (an empty variable counts as unset, as upstream reads them).
pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}
