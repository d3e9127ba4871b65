//! ARM's refusals as the operations make them: the status, `error.code` and `error.message`
//! ARM sends (spec/azure-control-plane.md §2–§6).

/// A refusal in ARM's words: the status, `error.code` and `error.message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ArmError {
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: &'static str,
    /// `error.message`.
    pub message: String,
}

/// An [`ArmError`].
pub fn arm_error(status: u16, code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError {
        status,
        code,
        message: message.into(),
    }
}

pub(crate) fn invalid_name(kind: &str, name: &str) -> ArmError {
    arm_error(
        400,
        "InvalidResourceName",
        format!("The {kind} name '{name}' is invalid. Check the naming rules for this resource type."),
    )
}
