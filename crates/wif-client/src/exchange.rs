//! The token request itself: the client-credentials form with the assertion, POSTed to the
//! identity's v2 endpoint over HTTPS, and Entra's answer decoded (numbers or numeric strings,
//! as Entra and older endpoints send them; errors with their AADSTS codes).

use std::time::Duration;

use serde::Deserialize;
use wif_core::settings::EnvSource;

use crate::error::{ClientError, ConfigError};
use crate::identity::Identity;

/// Largest response body read.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Per-request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take (an address that drops packets fails in this, not in the
/// whole request timeout).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A token as the endpoint returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshToken {
    /// The access token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// When the endpoint wants it refreshed, in seconds from now.
    pub refresh_in: Option<i64>,
}

/// HTTPS client for token endpoints.
#[derive(Debug, Clone)]
pub struct TokenClient {
    http: reqwest::Client,
}

fn certificates(pem: &[u8], origin: &str) -> Result<Vec<reqwest::Certificate>, ClientError> {
    reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
        ConfigError::CaBundle {
            origin: origin.to_owned(),
            source: std::sync::Arc::new(e),
        }
        .into()
    })
}

impl TokenClient {
    /// Trusts the system roots, plus the PEM bundle named by `SSL_CERT_FILE` and `extra_ca_pem`.
    pub fn new(env: &impl EnvSource, extra_ca_pem: Option<&[u8]>) -> Result<Self, ClientError> {
        let mut extra = Vec::new();
        if let Some(path) = env.var("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
            let pem = std::fs::read(&path).map_err(|e| ConfigError::CaFile {
                path: path.clone(),
                source: std::sync::Arc::new(e),
            })?;
            extra.extend(certificates(&pem, &path)?);
        }
        if let Some(pem) = extra_ca_pem {
            extra.extend(certificates(pem, "the CA given in code")?);
        }
        let http = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .tls_certs_merge(extra)
            .user_agent(concat!("wif-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::HttpClient(std::sync::Arc::new(e)))?;
        Ok(TokenClient { http })
    }

    /// Exchanges `assertion` for a token for `scope`.
    pub async fn exchange(&self, identity: &Identity, scope: &str, assertion: &str) -> Result<FreshToken, ClientError> {
        let endpoint = identity.token_endpoint();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", identity.client_id.as_str()),
            ("scope", scope),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ];
        let body = serde_urlencoded::to_string(form).map_err(|e| ConfigError::Form(std::sync::Arc::new(e)))?;
        let transport = |source: reqwest::Error| ClientError::Transport {
            endpoint: endpoint.clone(),
            source: std::sync::Arc::new(source),
        };
        let mut response = self
            .http
            .post(&endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(ClientError::Protocol {
                    endpoint,
                    reason: "response larger than 1 MiB".into(),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        decode(&endpoint, status, &bytes)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Text(String),
}

impl Number {
    fn value(&self) -> Option<i64> {
        match self {
            Number::Int(n) => Some(*n),
            Number::Text(s) => s.trim().parse().ok(),
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    access_token: Option<String>,
    expires_in: Option<Number>,
    refresh_in: Option<Number>,
    error: Option<String>,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<i64>,
    wif_diagnosis: Option<String>,
}

/// Decodes a token endpoint's answer.
pub fn decode(endpoint: &str, status: u16, body: &[u8]) -> Result<FreshToken, ClientError> {
    let protocol = |reason: String| ClientError::Protocol {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| protocol(format!("HTTP {status}, not a JSON token response: {e}")))?;
    if let Some(error) = answer.error {
        return Err(ClientError::Entra {
            status,
            error,
            codes: answer.error_codes,
            description: answer.error_description.unwrap_or_default(),
            diagnosis: answer.wif_diagnosis,
        });
    }
    if !(200..300).contains(&status) {
        return Err(protocol(format!("HTTP {status} without an error body")));
    }
    let access_token = answer
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| protocol("no access_token".into()))?;
    let expires_in = answer
        .expires_in
        .as_ref()
        .and_then(Number::value)
        .filter(|n| *n > 0)
        .ok_or_else(|| protocol("no valid expires_in".into()))?;
    Ok(FreshToken {
        access_token,
        expires_in,
        refresh_in: answer.refresh_in.as_ref().and_then(Number::value).filter(|n| *n > 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_numbers_strings_and_errors() {
        let ok = decode(
            "e",
            200,
            br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"at"}"#,
        )
        .unwrap();
        assert_eq!(
            (ok.access_token.as_str(), ok.expires_in, ok.refresh_in),
            ("at", 3599, None)
        );
        let v1 = decode(
            "e",
            200,
            br#"{"expires_in":"3599","access_token":"at","refresh_in":"1800"}"#,
        )
        .unwrap();
        assert_eq!((v1.expires_in, v1.refresh_in), (3599, Some(1800)));
        let err = decode("e", 401, br#"{"error":"invalid_client","error_description":"AADSTS700213: no","error_codes":[700213],"wif_diagnosis":"namespace"}"#).unwrap_err();
        assert_eq!(err.aadsts(), Some(700213));
        assert!(err.to_string().contains("AADSTS700213: no (wif diagnosis: namespace)"));
        for bad in [&b"<html>"[..], br#"{"access_token":"at"}"#, br#"{"expires_in":5}"#] {
            assert!(matches!(decode("e", 200, bad), Err(ClientError::Protocol { .. })));
        }
        assert!(matches!(decode("e", 500, b"{}"), Err(ClientError::Protocol { .. })));
    }
}
