//! Why an issuer's keys could not be had, one variant a cause, each keeping the error it
//! came from (behind an `Arc`, so one failed fetch can answer every request that waited).

use std::path::PathBuf;
use std::sync::Arc;

/// Why an issuer's keys could not be had; its causes are kept for the diagnosis.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// A CA or JWKS file named by the directory.
    #[error("cannot read {what} {}", path.display())]
    ReadFile {
        /// `CA file` or `JWKS file`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A CA file without a usable certificate.
    #[error("CA file {} holds no usable certificate", path.display())]
    BadCa {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The HTTPS client could not be made.
    #[error("cannot prepare the HTTPS client")]
    Client(#[source] Arc<reqwest::Error>),
    /// The request failed (connection, TLS, timeout).
    #[error("GET {url} failed")]
    Get {
        /// What was fetched.
        url: String,
        /// The error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// A status other than 2xx.
    #[error("GET {url} answered {status}")]
    Status {
        /// What was fetched.
        url: String,
        /// The status.
        status: u16,
    },
    /// Over the size cap.
    #[error("{url} is larger than {limit} bytes")]
    TooLarge {
        /// What was fetched.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// The discovery document is not JSON.
    #[error("{url} is not JSON")]
    NotJson {
        /// What was fetched.
        url: String,
        /// The error.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// The discovery document names another issuer.
    #[error("{url} names issuer {advertised:?}, not {issuer:?} (they must be equal, trailing slash included)")]
    IssuerMismatch {
        /// The discovery document.
        url: String,
        /// What it names.
        advertised: String,
        /// What the token names.
        issuer: String,
    },
    /// No `jwks_uri` in the discovery document.
    #[error("{url} has no jwks_uri")]
    NoJwksUri {
        /// The discovery document.
        url: String,
    },
    /// A `jwks_uri` that is not https.
    #[error("jwks_uri {uri} is not https")]
    JwksNotHttps {
        /// The advertised URI.
        uri: String,
    },
    /// The JWKS does not parse.
    #[error("the JWKS at {origin} is not valid")]
    BadJwks {
        /// Where it came from (its URL or file).
        origin: String,
        /// The error.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// A recent failure, not retried yet.
    #[error("the last fetch failed {ago_seconds} s ago and is retried in {retry_in_seconds} s")]
    Backoff {
        /// Seconds since that failure.
        ago_seconds: u64,
        /// Seconds until the next try.
        retry_in_seconds: u64,
        /// That failure.
        #[source]
        last: Box<FetchError>,
    },
    /// The fetch task ended without an answer (it panicked or the runtime is stopping).
    #[error("the key fetch stopped without an answer")]
    Stopped,
}

impl FetchError {
    /// The URL (or file) the failure is about, when it is about one.
    pub fn location(&self) -> Option<String> {
        match self {
            FetchError::ReadFile { path, .. } | FetchError::BadCa { path, .. } => Some(path.display().to_string()),
            FetchError::Get { url, .. }
            | FetchError::Status { url, .. }
            | FetchError::TooLarge { url, .. }
            | FetchError::NotJson { url, .. }
            | FetchError::IssuerMismatch { url, .. }
            | FetchError::NoJwksUri { url } => Some(url.clone()),
            FetchError::JwksNotHttps { uri } => Some(uri.clone()),
            FetchError::BadJwks { origin, .. } => Some(origin.clone()),
            FetchError::Backoff { last, .. } => last.location(),
            FetchError::Client(_) | FetchError::Stopped => None,
        }
    }
}
