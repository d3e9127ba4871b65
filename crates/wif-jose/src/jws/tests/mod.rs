//! One test per rejection, each with a token built to trigger exactly that case, plus the
//! positive path for every algorithm.

use aws_lc_rs::{hmac, signature};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::*;
use crate::jwk::Jwk;
use crate::keys::jwks_of;

const NOW: i64 = 1_750_000_000;
const ISSUER: &str = "https://issuer.example/";

fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "system:serviceaccount:demo:app",
        "aud": ["api://AzureADTokenExchange"],
        "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 3600
    })
}

fn key(alg: Algorithm) -> SigningKey {
    SigningKey::generate(alg).unwrap()
}

fn jwks(keys: &[&SigningKey]) -> JwkSet {
    jwks_of(&keys.iter().map(|k| k.public_key().clone()).collect::<Vec<_>>())
}

fn token(key: &SigningKey, claims: &Value) -> String {
    sign(key, &Map::new(), claims).unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A token with an arbitrary header, claims and signature bytes.
fn raw(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!("{}.{}.{}", b64(header), b64(claims), URL_SAFE_NO_PAD.encode(signature))
}

fn validation() -> Validation {
    Validation {
        issuer: Some(ISSUER.into()),
        audience: Some("api://AzureADTokenExchange".into()),
        subject: Some("system:serviceaccount:demo:app".into()),
        ..Validation::default()
    }
}

fn check(token: &str, keys: &JwkSet) -> Result<VerifiedToken, JwtError> {
    verify(token, keys, &validation(), NOW)
}

mod claims_and_shape;
mod signatures;
