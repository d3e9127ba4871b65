//! Graph's errors as the management API answers them: `{"error": {"code", "message",
//! "innerError": {"date"}}}` with the status, from a refusal of the store's commit or of the
//! caller's permissions.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::permission::Denied;
use crate::store::{CommitError, InvalidConfig};

/// A Graph error: `{"error": {"code", "message", "innerError"}}`.
#[derive(Debug)]
pub struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl GraphError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// Graph's `error.code`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Graph's `error.message`: Entra's words for a refused credential.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let date = wif_core::clock::error_timestamp(wif_core::clock::unix_now());
        let body = json!({ "error": { "code": self.code, "message": self.message, "innerError": { "date": date } } });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

pub(super) fn graph_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> GraphError {
    GraphError {
        status,
        code,
        message: message.into(),
    }
}

impl From<CommitError> for GraphError {
    fn from(error: CommitError) -> Self {
        match error {
            CommitError::Invalid(InvalidConfig::Directory(e)) => {
                graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", e.problem.to_string())
            }
            CommitError::Invalid(InvalidConfig::Azure(e)) => {
                graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", e.problem.to_string())
            }
            full @ CommitError::TooLarge { .. } => graph_error(
                StatusCode::INSUFFICIENT_STORAGE,
                crate::arm::STATE_FULL,
                full.to_string(),
            ),
            other => graph_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Service_InternalServerError",
                wif_core::error_text::error_chain(&other),
            ),
        }
    }
}

impl From<Denied> for GraphError {
    fn from(denied: Denied) -> Self {
        graph_error(StatusCode::FORBIDDEN, "Authorization_RequestDenied", denied.to_string())
    }
}

pub(super) fn json(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
