//! What can go wrong getting a token, with the data a person needs to act on it.

use std::sync::Arc;

/// A failure to get a token. Clone, so that one failed request can answer every caller that
/// waited on it; causes are kept behind an `Arc`.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Missing or invalid configuration.
    #[error("{0}")]
    Config(String),
    /// The token file is not there.
    #[error("token file {path} cannot be read")]
    TokenFile {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The token file is far larger than a token (not a token file, or a wrong mount).
    #[error("token file {path} is {size} bytes, more than a token ({limit})")]
    TokenFileTooLarge {
        /// The path.
        path: String,
        /// Its size.
        size: u64,
        /// The most a token file may hold.
        limit: u64,
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
    #[error("token request to {endpoint} failed")]
    Transport {
        /// Where.
        endpoint: String,
        /// Why (connection, TLS, timeout).
        #[source]
        source: Arc<reqwest::Error>,
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
