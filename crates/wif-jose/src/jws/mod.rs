//! Compact JWS / JWT: a strict verifier and a signer. The algorithm is taken from the key
//! (its type, curve and declared `alg`), never from the token alone: `none`, HMAC, `crit`,
//! and an `alg` that does not fit the key are refused before any signature is checked.

use std::fmt;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use crate::der::Curve;
use crate::jwk::{Jwk, JwkSet};
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

mod error;

pub use error::JwtError;

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

/// A JWK made ready to verify: its type decides which algorithms it accepts.
enum KeyMaterial {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { curve: Curve, point: Vec<u8> },
}

/// The smallest RSA modulus accepted, as aws-lc-rs's verifiers and Entra require.
pub const MIN_RSA_BITS: usize = 2048;

fn modulus_bits(n: &[u8]) -> usize {
    let significant = n.iter().position(|b| *b != 0).map_or(&[][..], |i| &n[i..]);
    match significant.first() {
        Some(first) => significant.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

fn key_material(jwk: &Jwk) -> Result<KeyMaterial, String> {
    let field = |name: &str, value: &Option<String>| -> Result<Vec<u8>, String> {
        let text = value.as_deref().ok_or_else(|| format!("missing {name}"))?;
        LENIENT_B64.decode(text).map_err(|_| format!("{name} is not base64url"))
    };
    match jwk.kty.as_str() {
        "RSA" => {
            let n = field("n", &jwk.n)?;
            let bits = modulus_bits(&n);
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "the RSA key is {bits} bits; at least {MIN_RSA_BITS} are required (Entra refuses smaller keys too)"
                ));
            }
            Ok(KeyMaterial::Rsa {
                n,
                e: field("e", &jwk.e)?,
            })
        }
        "EC" => {
            let curve = jwk
                .crv
                .as_deref()
                .and_then(Curve::from_name)
                .ok_or("unsupported or missing crv")?;
            let (x, y) = (field("x", &jwk.x)?, field("y", &jwk.y)?);
            let len = curve.coordinate_len();
            if x.len() != len || y.len() != len {
                return Err(format!("coordinates must be {len} bytes for {}", curve.name()));
            }
            Ok(KeyMaterial::Ec {
                curve,
                point: [&[0x04][..], &x, &y].concat(),
            })
        }
        "oct" => Err("symmetric (oct) keys are never accepted".into()),
        other => Err(format!("unsupported kty {other:?}")),
    }
}

fn check_fit(alg: Algorithm, jwk: &Jwk, material: &KeyMaterial) -> Result<(), JwtError> {
    let mismatch = |key: String| JwtError::AlgorithmKeyMismatch {
        alg,
        kid: jwk.kid.clone(),
        key,
    };
    match material {
        KeyMaterial::Rsa { .. } if alg.rsa_parameters().is_none() => return Err(mismatch("an RSA key".into())),
        KeyMaterial::Ec { curve, .. } if alg.curve() != Some(*curve) => {
            return Err(mismatch(format!("an EC key on {}", curve.name())));
        }
        _ => {}
    }
    match jwk.alg.as_deref() {
        Some(declared) if declared != alg.name() => Err(mismatch(format!("declared for {declared}"))),
        _ => Ok(()),
    }
}

fn verify_signature(alg: Algorithm, material: &KeyMaterial, message: &[u8], sig: &[u8]) -> bool {
    match material {
        KeyMaterial::Rsa { n, e } => alg
            .rsa_parameters()
            .is_some_and(|params| RsaPublicKeyComponents { n, e }.verify(params, message, sig).is_ok()),
        KeyMaterial::Ec { curve, point } => {
            let verifier: &'static signature::EcdsaVerificationAlgorithm = match curve {
                Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
                Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
                Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
            };
            UnparsedPublicKey::new(verifier, point).verify(message, sig).is_ok()
        }
    }
}

/// Checks the signature against the JWKS: the key with the token's `kid`, or, for a token
/// without `kid`, any key whose type fits its `alg`.
pub fn verify_signature_with(token: &UnverifiedToken, keys: &JwkSet) -> Result<Algorithm, JwtError> {
    let alg = header_algorithm(token)?;
    let kid = token.kid();
    let unknown = || JwtError::UnknownKid {
        kid: kid.map(str::to_owned),
        available: keys.keys.len(),
        known: keys.keys.iter().filter_map(|k| k.kid.clone()).collect(),
        skipped: keys.skipped.clone(),
    };
    let message = token.signing_input.as_bytes();
    match kid {
        Some(kid) => {
            let mut last_error = None;
            for jwk in keys.find(kid) {
                let material = match key_material(jwk) {
                    Ok(m) => m,
                    Err(reason) => {
                        last_error = Some(JwtError::UnusableKey {
                            kid: jwk.kid.clone(),
                            reason,
                        });
                        continue;
                    }
                };
                if let Err(e) = check_fit(alg, jwk, &material) {
                    last_error = Some(e);
                    continue;
                }
                if verify_signature(alg, &material, message, &token.signature) {
                    return Ok(alg);
                }
                last_error = Some(JwtError::BadSignature { kid: jwk.kid.clone() });
            }
            Err(last_error.unwrap_or_else(unknown))
        }
        None => {
            let mut tried = false;
            for jwk in &keys.keys {
                let Ok(material) = key_material(jwk) else { continue };
                if check_fit(alg, jwk, &material).is_err() {
                    continue;
                }
                tried = true;
                if verify_signature(alg, &material, message, &token.signature) {
                    return Ok(alg);
                }
            }
            Err(if tried {
                JwtError::BadSignature { kid: None }
            } else {
                unknown()
            })
        }
    }
}

/// The latest NumericDate accepted: 9999-12-31T23:59:59Z. A later one (1e20, 2^63) is not a
/// date any issuer means; saturating it would make a token that never expires.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

fn numeric_claim(token: &UnverifiedToken, name: &str) -> Result<Option<i64>, JwtError> {
    let invalid = || {
        malformed(format!(
            "{name} is not a NumericDate (whole seconds since 1970, at most {MAX_NUMERIC_DATE})"
        ))
    };
    match token.claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let seconds = match n.as_i64() {
                Some(whole) => whole,
                // 1.7e9 written as a float is still whole seconds; 1.5 or 1e20 are not.
                None => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() <= MAX_NUMERIC_DATE as f64 => f as i64,
                    _ => return Err(invalid()),
                },
            };
            if (0..=MAX_NUMERIC_DATE).contains(&seconds) {
                Ok(Some(seconds))
            } else {
                Err(invalid())
            }
        }
        Some(_) => Err(malformed(format!("{name} must be a number"))),
    }
}

/// Checks `exp`/`nbf` against `now` (Unix seconds) and `iss`/`aud`/`sub` against `validation`.
pub fn check_claims(token: &UnverifiedToken, validation: &Validation, now: i64) -> Result<(), JwtError> {
    let leeway = validation.leeway_seconds;
    let skew = i64::try_from(leeway).unwrap_or(i64::MAX);
    match numeric_claim(token, "exp")? {
        Some(exp) if now > exp.saturating_add(skew) => return Err(JwtError::Expired { exp, now, leeway }),
        None if validation.require_exp => return Err(JwtError::MissingExp),
        _ => {}
    }
    if let Some(nbf) = numeric_claim(token, "nbf")?
        && nbf > now.saturating_add(skew)
    {
        return Err(JwtError::NotYetValid { nbf, now, leeway });
    }
    if let Some(expected) = &validation.issuer {
        let found = token.claim_str("iss");
        if found != Some(expected.as_str()) {
            return Err(JwtError::WrongIssuer {
                expected: expected.clone(),
                found: found.map(str::to_owned),
            });
        }
    }
    if let Some(expected) = &validation.audience {
        let found = token.audiences();
        if !found.iter().any(|a| a == expected) {
            return Err(JwtError::WrongAudience {
                expected: expected.clone(),
                found,
            });
        }
    }
    if let Some(expected) = &validation.subject {
        let found = token.claim_str("sub");
        if found != Some(expected.as_str()) {
            return Err(JwtError::WrongSubject {
                expected: expected.clone(),
                found: found.map(str::to_owned),
            });
        }
    }
    Ok(())
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
