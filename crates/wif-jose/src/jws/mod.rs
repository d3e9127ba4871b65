//! Compact JWS / JWT: a strict verifier and a signer. The algorithm is taken from the key
//! (its type, curve and declared `alg`), never from the token alone: `none`, HMAC, `crit`,
//! and an `alg` that does not fit the key are refused before any signature is checked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::jwk::JwkSet;
use crate::keys::{KeyError, SigningKey};

mod claims;
mod error;
mod signature_check;
mod token;

pub use claims::{DEFAULT_LEEWAY_SECONDS, MAX_NUMERIC_DATE, Validation, check_claims};
pub use error::{JwtError, KeyProblem};
pub use signature_check::{MIN_RSA_BITS, verify_signature_with};
pub use token::{MAX_TOKEN_BYTES, UnverifiedToken, VerifiedToken, decode_unverified};

pub use crate::algorithm::Algorithm;

/// Verifies a token completely: structure, algorithm, key, signature, then claims.
///
/// ```
/// use wif_jose::{Algorithm, SigningKey, Validation, jwks_of, sign, verify};
/// let key = SigningKey::generate(Algorithm::ES256).expect("a key");
/// let now = 1_750_000_000;
/// let claims = serde_json::json!({"iss": "https://oidc.example/", "sub": "system:serviceaccount:demo:app",
///                                 "aud": ["api://AzureADTokenExchange"], "iat": now, "exp": now + 3600});
/// let token = sign(&key, &Default::default(), &claims).expect("signed");
/// let keys = jwks_of(std::slice::from_ref(key.public_key()));
/// let validation = Validation { audience: Some("api://AzureADTokenExchange".into()), ..Validation::default() };
/// let verified = verify(&token, &keys, &validation, now).expect("verified");
/// assert_eq!(verified.algorithm, Algorithm::ES256);
/// // A token for another audience is refused, and says why.
/// let other = Validation { audience: Some("api://other".into()), ..Validation::default() };
/// assert!(matches!(verify(&token, &keys, &other, now), Err(wif_jose::JwtError::WrongAudience { .. })));
/// ```
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
