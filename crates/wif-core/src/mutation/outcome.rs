//! What planning ends in: the patch operations and warnings for an admitted pod, or the
//! denial (upstream's code and words) for a refused one.

use json_patch::PatchOperation;

use crate::rules::{Advice, Rule};

/// The outcome of planning: patch operations (possibly none) and warnings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MutationPlan {
    /// JSON-Patch operations, to be applied in order.
    pub operations: Vec<PatchOperation>,
    /// Warnings (AdmissionResponse `warnings`), each with its rule.
    pub warnings: Vec<Advice>,
}

impl MutationPlan {
    /// The operations as a `json_patch::Patch`.
    pub fn patch(&self) -> json_patch::Patch {
        json_patch::Patch(self.operations.clone())
    }
}

/// The webhook refuses the pod: `allowed: false` with this code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denial {
    /// What the doctor calls it.
    pub rule: Rule,
    /// HTTP-style status code (400 for everything upstream denies).
    pub code: u16,
    /// The message `kubectl` shows after "denied the request: ".
    pub message: String,
}

impl Denial {
    /// A 400 denial about `rule`.
    pub fn bad_request(rule: Rule, message: impl Into<String>) -> Self {
        Denial {
            rule,
            code: 400,
            message: message.into(),
        }
    }
}
