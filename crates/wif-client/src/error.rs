//! What can go wrong getting a token, with the data a person needs to act on it.

use std::sync::Arc;

/// A failure to get a token. Clone, so that one failed request can answer every caller that
/// waited on it; causes are kept behind an `Arc`.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Missing or invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An earlier attempt failed moments ago and is not retried yet.
    #[error("backing off after a failure")]
    Backoff,
    /// The task refreshing the token ended without an answer (it panicked, or the runtime stops).
    #[error("the token refresh stopped")]
    RefreshStopped(#[source] Arc<tokio::task::JoinError>),
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
    #[error("{}", entra_text(description, diagnosis.as_deref()))]
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

/// Configuration a token cannot be had with: what is missing or wrong, and where.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable that must be set is not.
    #[error("{name} is not set{}", hint.map(|h| format!(" ({h})")).unwrap_or_default())]
    Missing {
        /// The variable.
        name: String,
        /// What usually sets it.
        hint: Option<&'static str>,
    },
    /// Neither a named identity's tenant nor the default one is set.
    #[error("neither AZURE_TENANT_ID_{suffix} nor AZURE_TENANT_ID is set")]
    NoTenant {
        /// The alias's variable suffix.
        suffix: String,
    },
    /// A named identity without its client id.
    #[error("AZURE_CLIENT_ID_{suffix} is not set (annotate the ServiceAccount with wif.dev/client-id.{alias})")]
    NoNamedClient {
        /// The alias's variable suffix.
        suffix: String,
        /// The alias, lower case.
        alias: String,
    },
    /// An alias that cannot name variables.
    #[error("identity alias {0:?} is not usable (letters, digits, '-', '_')")]
    Alias(String),
    /// An authority host that is not an https URL.
    #[error(transparent)]
    AuthorityHost(#[from] wif_core::cloud::AuthorityHostError),
    /// A tenant that is neither a GUID nor a domain.
    #[error("tenant id {0:?} must be a GUID or a domain (letters, digits, '-' and '.')")]
    Tenant(String),
    /// A client id with characters no client id has.
    #[error("client id {0:?} is not a valid client id")]
    ClientId(String),
    /// A CA file that cannot be read.
    #[error("SSL_CERT_FILE {path} cannot be read")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// CA certificates that do not parse.
    #[error("{origin}: not a PEM certificate bundle")]
    CaBundle {
        /// Where they came from.
        origin: String,
        /// Why.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The HTTPS client could not be made.
    #[error("cannot build the HTTPS client")]
    HttpClient(#[source] Arc<reqwest::Error>),
    /// The token request's form could not be encoded.
    #[error("cannot encode the token request")]
    Form(#[source] Arc<serde_urlencoded::ser::Error>),
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

/// Entra's words, and the emulator's diagnosis when its description does not carry it already
/// (the emulator's does; an older one's did not).
fn entra_text(description: &str, diagnosis: Option<&str>) -> String {
    match diagnosis {
        Some(d) if !description.contains(d.trim_end_matches('.')) => format!("{description} (wif diagnosis: {d})"),
        _ => description.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diagnosis_is_said_once() {
        assert_eq!(
            entra_text(
                "AADSTS700213: No match. wif: the namespace differs. Trace ID: t",
                Some("the namespace differs")
            ),
            "AADSTS700213: No match. wif: the namespace differs. Trace ID: t"
        );
        assert_eq!(
            entra_text("AADSTS700213: No match. Trace ID: t", Some("the namespace differs")),
            "AADSTS700213: No match. Trace ID: t (wif diagnosis: the namespace differs)"
        );
        assert_eq!(entra_text("AADSTS90002: x", None), "AADSTS90002: x");
    }
}
