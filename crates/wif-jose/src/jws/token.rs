//! A compact JWS split and decoded, nothing verified yet: size and structure checked, base64url
//! strict, header and payload JSON objects, and the header's algorithm judged (`none`, HMAC,
//! unknown and `crit` refused) before any key is looked at.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use super::error::JwtError;
use crate::algorithm::Algorithm;

/// The largest token accepted, in bytes (Kubernetes tokens are about 1 KiB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A token split and decoded, signature not yet checked. Use it to read `iss` in order to pick
/// the issuer's keys, never to decide anything.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedToken {
    /// The header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    pub(super) signing_input: String,
    pub(super) signature: Vec<u8>,
}

impl UnverifiedToken {
    /// The header's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// The header's `alg`.
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// `aud` as a list (a single string counts as a list of one).
    pub fn audiences(&self) -> Vec<String> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        }
    }
}

/// A token whose signature, times and expected claims were checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// The header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// The algorithm that verified it.
    pub algorithm: Algorithm,
}

const STRICT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);
pub(super) const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(super) fn malformed(reason: impl Into<String>) -> JwtError {
    JwtError::Malformed { reason: reason.into() }
}

fn json_object(part: &str, name: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = STRICT_B64
        .decode(part)
        .map_err(|_| malformed(format!("{name} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed(format!("{name} is not a JSON object"))),
        Err(_) => Err(malformed(format!("{name} is not JSON"))),
    }
}

/// Splits and decodes a compact JWS, checking only its size and structure.
///
/// ```
/// let key = wif_jose::SigningKey::generate(wif_jose::Algorithm::RS256).expect("a key");
/// let token = wif_jose::sign(&key, &Default::default(), &serde_json::json!({"iss": "https://oidc.example/"})).expect("signed");
/// let unverified = wif_jose::decode_unverified(&token).expect("a JWS");
/// assert_eq!(unverified.claim_str("iss"), Some("https://oidc.example/"));
/// assert!(wif_jose::decode_unverified("not.a.token!").is_err());
/// ```
pub fn decode_unverified(token: &str) -> Result<UnverifiedToken, JwtError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::TooLarge {
            size: token.len(),
            limit: MAX_TOKEN_BYTES,
        });
    }
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected three dot-separated parts"));
    };
    let header_map = json_object(header, "header")?;
    let claims_map = json_object(claims, "payload")?;
    let signature = STRICT_B64
        .decode(signature)
        .map_err(|_| malformed("signature is not base64url"))?;
    Ok(UnverifiedToken {
        header: header_map,
        claims: claims_map,
        signing_input: format!("{header}.{claims}"),
        signature,
    })
}

/// Checks the header's algorithm: `none`, HMAC, unknown and `crit` are refused here.
pub(super) fn header_algorithm(token: &UnverifiedToken) -> Result<Algorithm, JwtError> {
    if let Some(crit) = token.header.get("crit") {
        let names = crit
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        return Err(JwtError::CriticalHeader { names });
    }
    let alg = token.alg().ok_or_else(|| malformed("header has no alg"))?;
    if alg.eq_ignore_ascii_case("none") {
        return Err(JwtError::AlgNone);
    }
    if alg.to_ascii_uppercase().starts_with("HS") {
        return Err(JwtError::HmacAlgorithm { alg: alg.to_owned() });
    }
    Algorithm::from_name(alg).ok_or_else(|| JwtError::UnsupportedAlgorithm { alg: alg.to_owned() })
}
