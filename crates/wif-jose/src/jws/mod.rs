//! Compact JWS / JWT: a strict verifier and a signer. The algorithm is taken from the key
//! (its type, curve and declared `alg`), never from the token alone: `none`, HMAC, `crit`,
//! and an `alg` that does not fit the key are refused before any signature is checked.

use std::fmt;

use aws_lc_rs::signature;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use crate::der::Curve;
use crate::jwk::JwkSet;
use crate::keys::{KeyError, SigningKey};

/// The largest token accepted, in bytes (Kubernetes tokens are about 1 KiB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Default clock skew tolerated on `exp` and `nbf` (Microsoft.IdentityModel's default).
pub const DEFAULT_LEEWAY_SECONDS: u64 = 300;

/// The signature algorithms verified here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// ECDSA P-521 with SHA-512.
    ES512,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 9] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
    ];

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
        }
    }

    /// From a JOSE name.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    fn curve(self) -> Option<Curve> {
        match self {
            Algorithm::ES256 => Some(Curve::P256),
            Algorithm::ES384 => Some(Curve::P384),
            Algorithm::ES512 => Some(Curve::P521),
            _ => None,
        }
    }

    fn rsa_parameters(self) -> Option<&'static signature::RsaParameters> {
        match self {
            Algorithm::RS256 => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
            Algorithm::RS384 => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
            Algorithm::RS512 => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
            Algorithm::PS256 => Some(&signature::RSA_PSS_2048_8192_SHA256),
            Algorithm::PS384 => Some(&signature::RSA_PSS_2048_8192_SHA384),
            Algorithm::PS512 => Some(&signature::RSA_PSS_2048_8192_SHA512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

mod claims;
mod error;
mod signature_check;

pub use claims::{MAX_NUMERIC_DATE, check_claims};
pub use error::JwtError;
pub use signature_check::{MIN_RSA_BITS, verify_signature_with};

/// What a verified token must also satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// Exact `iss`, when set.
    pub issuer: Option<String>,
    /// An `aud` element that must be present, when set.
    pub audience: Option<String>,
    /// Exact `sub`, when set.
    pub subject: Option<String>,
    /// Skew on `exp` and `nbf`.
    pub leeway_seconds: u64,
    /// Refuse tokens without `exp`.
    pub require_exp: bool,
}

impl Default for Validation {
    fn default() -> Self {
        Validation {
            issuer: None,
            audience: None,
            subject: None,
            leeway_seconds: DEFAULT_LEEWAY_SECONDS,
            require_exp: true,
        }
    }
}

/// A token split and decoded, signature not yet checked. Use it to read `iss` in order to pick
/// the issuer's keys, never to decide anything.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedToken {
    /// The header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
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
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn malformed(reason: impl Into<String>) -> JwtError {
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
fn header_algorithm(token: &UnverifiedToken) -> Result<Algorithm, JwtError> {
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

/// Verifies a token completely: structure, algorithm, key, signature, then claims.
pub fn verify(token: &str, keys: &JwkSet, validation: &Validation, now: i64) -> Result<VerifiedToken, JwtError> {
    let decoded = decode_unverified(token)?;
    let algorithm = verify_signature_with(&decoded, keys)?;
    check_claims(&decoded, validation, now)?;
    Ok(VerifiedToken {
        header: decoded.header,
        claims: decoded.claims,
        algorithm,
    })
}

/// Signs `claims` with `key`. The header is `{"alg", "kid"}` plus `extra_header` fields
/// (Kubernetes sets no `typ`; Entra's access tokens carry `typ` and `x5t`); an extra field
/// named `alg` or `kid` is refused ([`KeyError::ReservedHeader`]).
pub fn sign(key: &SigningKey, extra_header: &Map<String, Value>, claims: &Value) -> Result<String, KeyError> {
    if let Some(reserved) = ["alg", "kid"].into_iter().find(|k| extra_header.contains_key(*k)) {
        return Err(KeyError::ReservedHeader(reserved.to_owned()));
    }
    let mut header = Map::new();
    header.insert("alg".into(), Value::String(key.algorithm().name().into()));
    header.insert("kid".into(), Value::String(key.kid()));
    for (k, v) in extra_header {
        header.insert(k.clone(), v.clone());
    }
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let signing_input = format!("{}.{}", encode(&Value::Object(header)), encode(claims));
    let signature = key.sign(signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[cfg(test)]
mod tests;
