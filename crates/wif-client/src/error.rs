//! What can go wrong getting a token, with the data a person needs to act on it.

/// A failure to get a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Missing or invalid configuration.
    #[error("{0}")]
    Config(String),
    /// The token file is not there.
    #[error("token file {path} cannot be read: {reason}")]
    TokenFile {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The token file is empty (kubelet has not written it yet, or the volume is wrong).
    #[error("token file {path} is empty")]
    EmptyTokenFile {
        /// The path.
        path: String,
    },
    /// Entra ID (or the emulator) refused: its code and words.
    #[error("{}{}", description, diagnosis.as_ref().map(|d| format!(" (wif diagnosis: {d})")).unwrap_or_default())]
    Entra {
        /// HTTP status.
        status: u16,
        /// OAuth `error`.
        error: String,
        /// `error_codes` (the AADSTS numbers).
        codes: Vec<i64>,
        /// `error_description` (starts with `AADSTSnnnn:`).
        description: String,
        /// The emulator's `wif_diagnosis`, when present.
        diagnosis: Option<String>,
    },
    /// The request did not get an answer.
    #[error("token request to {endpoint} failed: {reason}")]
    Transport {
        /// Where.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// An answer that is not a token response.
    #[error("unexpected answer from {endpoint}: {reason}")]
    Protocol {
        /// Where.
        endpoint: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl ClientError {
    /// The AADSTS code, for Entra refusals.
    pub fn aadsts(&self) -> Option<i64> {
        match self {
            ClientError::Entra { codes, .. } => codes.first().copied(),
            _ => None,
        }
    }
}
