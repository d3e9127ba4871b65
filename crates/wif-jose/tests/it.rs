//! Integration tests of wif-jose: differential checks against the `jsonwebtoken` crate
//! (tokens we sign verify there, tokens it signs verify here). The fuzz corpus is replayed
//! by crates/wif/tests/it/fuzz_replay.rs.

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation as JwtValidation};
use serde_json::{Map, Value, json};
use wif_jose::{Algorithm, SigningKey, Validation, jwks_of, sign, verify};

const NOW: i64 = 1_900_000_000;

fn claims() -> Value {
    claims_at(NOW)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn claims_at(now: i64) -> Value {
    json!({
        "iss": "https://issuer.example/",
        "sub": "system:serviceaccount:demo:app",
        "aud": ["api://AzureADTokenExchange"],
        "iat": now - 5, "nbf": now - 5, "exp": now + 3600
    })
}

fn oracle_validation(alg: jsonwebtoken::Algorithm) -> JwtValidation {
    let mut v = JwtValidation::new(alg);
    v.set_audience(&["api://AzureADTokenExchange"]);
    v.set_issuer(&["https://issuer.example/"]);
    v.validate_nbf = true;
    v
}

fn oracle_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::ES384 => jsonwebtoken::Algorithm::ES384,
        other => panic!("no oracle for {other}"),
    }
}

#[test]
fn tokens_we_sign_verify_with_jsonwebtoken() {
    // jsonwebtoken has no ES512; ES512 is checked against PyJWT in scripts/test.
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384] {
        let key = SigningKey::generate(alg).unwrap();
        // The oracle checks times against its own clock.
        let token = sign(&key, &Map::new(), &claims_at(unix_now())).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(serde_json::to_value(key.public_key().to_jwk()).unwrap()).unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let data = jsonwebtoken::decode::<Value>(&token, &decoding, &oracle_validation(oracle_alg(alg)))
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(data.claims["sub"], "system:serviceaccount:demo:app");
        assert_eq!(data.header.kid, Some(key.kid()));
        // And a flipped bit is refused by the oracle too.
        let mut bad = token.into_bytes();
        let last = bad.len() - 3;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(jsonwebtoken::decode::<Value>(&bad, &decoding, &oracle_validation(oracle_alg(alg))).is_err());
    }
}

#[test]
fn tokens_jsonwebtoken_signs_verify_with_ours() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384] {
        let key = SigningKey::generate(alg).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let encoding = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            _ => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        };
        let mut header = Header::new(oracle_alg(alg));
        header.kid = Some(key.kid());
        let token = jsonwebtoken::encode(&header, &claims(), &encoding).unwrap();
        let keys = jwks_of(&[key.public_key().clone()]);
        let validation = Validation {
            issuer: Some("https://issuer.example/".into()),
            audience: Some("api://AzureADTokenExchange".into()),
            ..Validation::default()
        };
        let verified = verify(&token, &keys, &validation, NOW).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.algorithm, alg);
        // jsonwebtoken adds typ: JWT; we accept it without requiring it.
        assert_eq!(verified.header.get("typ"), Some(&json!("JWT")));
    }
}
