//! The OIDC discovery document of a Kubernetes service-account issuer, as kube-apiserver
//! serves it at `{issuer}/.well-known/openid-configuration`.

use serde::{Deserialize, Serialize};

use crate::keys::PublicKey;

/// Where kube-apiserver publishes the JWKS when `--service-account-jwks-uri` is not set.
pub const DEFAULT_JWKS_PATH: &str = "/openid/v1/jwks";
/// The discovery path, relative to the issuer.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The discovery document (the fields kube-apiserver writes, in its order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryDocument {
    /// Exactly the tokens' `iss`.
    pub issuer: String,
    /// Where the JWKS is.
    pub jwks_uri: String,
    /// Always `["id_token"]`.
    pub response_types_supported: Vec<String>,
    /// Always `["public"]`.
    pub subject_types_supported: Vec<String>,
    /// The sorted set of the keys' algorithms.
    pub id_token_signing_alg_values_supported: Vec<String>,
}

/// An issuer URL that kube-apiserver would not serve discovery for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid issuer {issuer:?}: {reason}")]
pub struct IssuerError {
    /// What was given.
    pub issuer: String,
    /// Why.
    pub reason: &'static str,
}

/// Checks an issuer URL: https, a host, no query or fragment (kube-apiserver's rule).
pub fn check_issuer(issuer: &str) -> Result<(), IssuerError> {
    let refuse = |reason| {
        Err(IssuerError {
            issuer: issuer.to_owned(),
            reason,
        })
    };
    let Some(rest) = issuer.strip_prefix("https://") else {
        return refuse("it must be an https URL");
    };
    if rest.split('/').next().is_none_or(str::is_empty) {
        return refuse("it has no host");
    }
    if issuer.contains(['?', '#']) || issuer.chars().any(char::is_whitespace) {
        return refuse("it must not carry a query, a fragment or white space");
    }
    Ok(())
}

/// The default JWKS URL of an issuer: `{issuer without trailing slash}/openid/v1/jwks`.
pub fn default_jwks_uri(issuer: &str) -> String {
    format!("{}{DEFAULT_JWKS_PATH}", issuer.trim_end_matches('/'))
}

/// The discovery URL of an issuer (what Entra ID fetches).
pub fn discovery_url(issuer: &str) -> String {
    format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'))
}

impl DiscoveryDocument {
    /// The document for `issuer`, its JWKS at `jwks_uri`, signing with `keys` (RS256 when
    /// no key is given, as the azwi book's hand-written document says).
    pub fn new(issuer: &str, jwks_uri: &str, keys: &[PublicKey]) -> Self {
        let mut algs: Vec<String> = keys.iter().map(|k| k.algorithm().name().to_owned()).collect();
        if algs.is_empty() {
            algs.push("RS256".into());
        }
        algs.sort();
        algs.dedup();
        DiscoveryDocument {
            issuer: issuer.to_owned(),
            jwks_uri: jwks_uri.to_owned(),
            response_types_supported: vec!["id_token".into()],
            subject_types_supported: vec!["public".into()],
            id_token_signing_alg_values_supported: algs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, SigningKey};

    #[test]
    fn document_shape() {
        let keys: Vec<PublicKey> = [Algorithm::RS256, Algorithm::ES256, Algorithm::RS256]
            .into_iter()
            .map(|a| SigningKey::generate(a).unwrap().public_key().clone())
            .collect();
        let doc = DiscoveryDocument::new(
            "https://issuer.example/",
            &default_jwks_uri("https://issuer.example/"),
            &keys,
        );
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "issuer": "https://issuer.example/",
                "jwks_uri": "https://issuer.example/openid/v1/jwks",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES256", "RS256"]
            })
        );
        assert_eq!(
            DiscoveryDocument::new("https://i", "https://i/k", &[]).id_token_signing_alg_values_supported,
            ["RS256"]
        );
    }

    #[test]
    fn issuer_rules() {
        assert!(check_issuer("https://127.0.0.1:8443/").is_ok());
        assert!(check_issuer("https://oidc.example/cluster-1").is_ok());
        let https = "it must be an https URL";
        let query = "it must not carry a query, a fragment or white space";
        for (bad, why) in [
            ("http://x/", https),
            ("https://", "it has no host"),
            ("https:///x", "it has no host"),
            ("https://x/?a", query),
            ("https://x/#f", query),
            ("x", https),
        ] {
            assert_eq!(
                check_issuer(bad).unwrap_err().to_string(),
                format!("invalid issuer {bad:?}: {why}")
            );
        }
        assert_eq!(
            discovery_url("https://x/"),
            "https://x/.well-known/openid-configuration"
        );
    }
}
