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

#[test]
fn every_signing_algorithm_round_trips() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::ES512] {
        let k = key(alg);
        let verified = check(&token(&k, &claims()), &jwks(&[&k])).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.algorithm, alg);
        assert_eq!(verified.header["kid"], k.kid());
        assert!(verified.header.get("typ").is_none(), "Kubernetes tokens have no typ");
    }
}

#[test]
fn rsa_pss_and_larger_hashes_verify() {
    // Signed with aws-lc-rs directly, as another issuer would.
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pem = crate::pem::encode_pem(
        "PRIVATE KEY",
        aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa)
            .unwrap()
            .as_ref(),
    );
    let ours = SigningKey::from_pem(pem.as_bytes()).unwrap();
    let mut set = jwks(&[&ours]);
    set.keys[0].alg = None; // an RSA JWK without alg accepts every RSA algorithm
    let rng = aws_lc_rs::rand::SystemRandom::new();
    for (alg, encoding) in [
        (Algorithm::RS384, &signature::RSA_PKCS1_SHA384),
        (Algorithm::RS512, &signature::RSA_PKCS1_SHA512),
        (Algorithm::PS256, &signature::RSA_PSS_SHA256),
        (Algorithm::PS384, &signature::RSA_PSS_SHA384),
        (Algorithm::PS512, &signature::RSA_PSS_SHA512),
    ] {
        let header = json!({ "alg": alg.name(), "kid": ours.kid() });
        let input = format!("{}.{}", b64(&header), b64(&claims()));
        let mut sig = vec![0; rsa.public_modulus_len()];
        rsa.sign(encoding, &rng, input.as_bytes(), &mut sig).unwrap();
        let t = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig));
        assert_eq!(check(&t, &set).unwrap().algorithm, alg);
        // The same token against a JWK that declares RS256 is refused.
        assert!(
            matches!(check(&t, &jwks(&[&ours])), Err(JwtError::AlgorithmKeyMismatch { .. })),
            "{alg}"
        );
    }
}

#[test]
fn alg_none_is_refused() {
    let k = key(Algorithm::RS256);
    for alg in ["none", "None", "NONE"] {
        let t = raw(&json!({ "alg": alg, "kid": k.kid() }), &claims(), b"");
        assert_eq!(check(&t, &jwks(&[&k])).unwrap_err(), JwtError::AlgNone, "{alg}");
    }
    let t = format!("{}.{}.", b64(&json!({ "alg": "none" })), b64(&claims()));
    assert_eq!(check(&t, &jwks(&[&k])).unwrap_err(), JwtError::AlgNone);
}

#[test]
fn hmac_signed_with_the_public_key_is_refused() {
    let k = key(Algorithm::RS256);
    let header = json!({ "alg": "HS256", "kid": k.kid() });
    let input = format!("{}.{}", b64(&header), b64(&claims()));
    for secret in [k.public_key_pem().into_bytes(), k.public_key().spki().to_vec()] {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), input.as_bytes());
        let t = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
        assert_eq!(
            check(&t, &jwks(&[&k])).unwrap_err(),
            JwtError::HmacAlgorithm { alg: "HS256".into() }
        );
    }
}

#[test]
fn oct_keys_are_never_usable() {
    let header = json!({ "alg": "RS256", "kid": "sym" });
    let t = raw(&header, &claims(), &[0; 256]);
    let set = JwkSet {
        keys: vec![Jwk {
            kty: "oct".into(),
            kid: Some("sym".into()),
            ..Jwk::default()
        }],
        ..JwkSet::default()
    };
    match check(&t, &set).unwrap_err() {
        JwtError::UnusableKey { reason, .. } => assert!(reason.contains("oct"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn alg_that_does_not_fit_the_key_is_refused() {
    let rsa = key(Algorithm::RS256);
    let p256 = key(Algorithm::ES256);
    // ES256 header pointing at an RSA key, RS256 header pointing at an EC key, ES384 at P-256.
    for (alg, target) in [("ES256", &rsa), ("RS256", &p256), ("ES384", &p256)] {
        let t = raw(&json!({ "alg": alg, "kid": target.kid() }), &claims(), &[1; 64]);
        assert!(
            matches!(
                check(&t, &jwks(&[&rsa, &p256])),
                Err(JwtError::AlgorithmKeyMismatch { .. })
            ),
            "{alg}"
        );
    }
}

#[test]
fn crit_header_is_refused() {
    let k = key(Algorithm::ES256);
    let mut header = Map::new();
    header.insert("crit".into(), json!(["exp"]));
    let t = sign(&k, &header, &claims()).unwrap();
    assert_eq!(
        check(&t, &jwks(&[&k])).unwrap_err(),
        JwtError::CriticalHeader {
            names: vec!["exp".into()]
        }
    );
}

#[test]
fn unknown_kid_is_refused_and_names_the_known_ones() {
    let signer = key(Algorithm::RS256);
    let other = key(Algorithm::RS256);
    match check(&token(&signer, &claims()), &jwks(&[&other])).unwrap_err() {
        JwtError::UnknownKid {
            kid, available, known, ..
        } => {
            assert_eq!(kid, Some(signer.kid()));
            assert_eq!(available, 1);
            assert_eq!(known, vec![other.kid()]);
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn tampered_signature_and_payload_are_refused() {
    let k = key(Algorithm::RS256);
    let t = token(&k, &claims());
    let (input, sig) = t.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bytes[10] ^= 1;
    let flipped = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&bytes));
    assert!(matches!(
        check(&flipped, &jwks(&[&k])),
        Err(JwtError::BadSignature { .. })
    ));
    // Altered claims under the original signature (a replay with a new subject).
    let mut altered = claims();
    altered["sub"] = json!("system:serviceaccount:prod:admin");
    let (header, _) = input.split_once('.').unwrap();
    let forged = format!("{header}.{}.{sig}", b64(&altered));
    assert!(matches!(
        check(&forged, &jwks(&[&k])),
        Err(JwtError::BadSignature { .. })
    ));
    // Same kid, another key (a JWKS that rotated under the token).
    let impostor = key(Algorithm::RS256);
    let mut set = jwks(&[&impostor]);
    set.keys[0].kid = Some(k.kid());
    assert!(matches!(check(&t, &set), Err(JwtError::BadSignature { .. })));
}

#[test]
fn time_window_with_skew() {
    let k = key(Algorithm::ES256);
    let keys = jwks(&[&k]);
    let with = |field: &str, v: i64| {
        let mut c = claims();
        c[field] = json!(v);
        token(&k, &c)
    };
    assert!(check(&with("exp", NOW - 299), &keys).is_ok(), "within skew");
    assert!(matches!(
        check(&with("exp", NOW - 301), &keys),
        Err(JwtError::Expired { .. })
    ));
    assert!(check(&with("nbf", NOW + 299), &keys).is_ok(), "within skew");
    assert!(matches!(
        check(&with("nbf", NOW + 301), &keys),
        Err(JwtError::NotYetValid { .. })
    ));
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(check(&token(&k, &no_exp), &keys).unwrap_err(), JwtError::MissingExp);
    let strict = Validation {
        leeway_seconds: 0,
        ..validation()
    };
    assert!(matches!(
        verify(&with("exp", NOW - 1), &keys, &strict, NOW),
        Err(JwtError::Expired { .. })
    ));
    let mut string_exp = claims();
    string_exp["exp"] = json!("tomorrow");
    assert!(matches!(
        check(&token(&k, &string_exp), &keys),
        Err(JwtError::Malformed { .. })
    ));
}

#[test]
fn wrong_issuer_audience_subject() {
    let k = key(Algorithm::RS256);
    let keys = jwks(&[&k]);
    let with = |field: &str, v: Value| {
        let mut c = claims();
        c[field] = v;
        token(&k, &c)
    };
    let err = check(&with("iss", json!("https://issuer.example")), &keys).unwrap_err();
    assert_eq!(
        err,
        JwtError::WrongIssuer {
            expected: ISSUER.into(),
            found: Some("https://issuer.example".into())
        }
    );
    let err = check(
        &with("aud", json!(["api://other", "https://kubernetes.default.svc"])),
        &keys,
    )
    .unwrap_err();
    assert!(matches!(err, JwtError::WrongAudience { ref found, .. } if found.len() == 2));
    assert!(
        check(&with("aud", json!("api://AzureADTokenExchange")), &keys).is_ok(),
        "a single-string aud counts"
    );
    let err = check(&with("sub", json!("system:serviceaccount:Demo:app")), &keys).unwrap_err();
    assert!(matches!(err, JwtError::WrongSubject { .. }), "case-sensitive");
}

#[test]
fn malformed_tokens() {
    let k = key(Algorithm::RS256);
    let keys = jwks(&[&k]);
    let good = token(&k, &claims());
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        String::new(),
        "a.b".into(),
        "a.b.c.d".into(),
        format!("{}===.{}.{}", parts[0], parts[1], parts[2]),
        format!("!!.{}.{}", parts[1], parts[2]),
        format!("{}.{}.{}", URL_SAFE_NO_PAD.encode("not json"), parts[1], parts[2]),
        format!("{}.{}.{}", URL_SAFE_NO_PAD.encode("[1]"), parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode("\"str\""), parts[2]),
        format!("{}.{}.{}", b64(&json!({ "kid": "x" })), parts[1], parts[2]),
        format!("{}.{}.a+b/", parts[0], parts[1]),
    ];
    for t in &cases {
        assert!(
            matches!(check(t, &keys), Err(JwtError::Malformed { .. })),
            "{t}: {:?}",
            check(t, &keys)
        );
    }
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let k = key(Algorithm::RS256);
    let mut big = claims();
    big["padding"] = json!("x".repeat(MAX_TOKEN_BYTES));
    let t = token(&k, &big);
    assert!(matches!(
        check(&t, &jwks(&[&k])),
        Err(JwtError::TooLarge {
            limit: MAX_TOKEN_BYTES,
            ..
        })
    ));
}

#[test]
fn unknown_and_unsupported_algorithms() {
    let k = key(Algorithm::RS256);
    for alg in ["EdDSA", "RS1", "ES256K", ""] {
        let t = raw(&json!({ "alg": alg, "kid": k.kid() }), &claims(), &[0; 8]);
        assert!(
            matches!(check(&t, &jwks(&[&k])), Err(JwtError::UnsupportedAlgorithm { .. })),
            "{alg}"
        );
    }
    for alg in ["HS384", "HS512", "hs256"] {
        let t = raw(&json!({ "alg": alg }), &claims(), &[0; 8]);
        assert!(
            matches!(check(&t, &jwks(&[&k])), Err(JwtError::HmacAlgorithm { .. })),
            "{alg}"
        );
    }
}

#[test]
fn token_without_kid_tries_fitting_keys() {
    let k = key(Algorithm::ES256);
    let other = key(Algorithm::ES256);
    let header = json!({ "alg": "ES256" });
    let input = format!("{}.{}", b64(&header), b64(&claims()));
    let sig = k.sign(input.as_bytes()).unwrap();
    let t = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    assert!(check(&t, &jwks(&[&other, &k])).is_ok());
    assert!(matches!(
        check(&t, &jwks(&[&other])),
        Err(JwtError::BadSignature { kid: None })
    ));
    let rsa = key(Algorithm::RS256);
    assert!(matches!(
        check(&t, &jwks(&[&rsa])),
        Err(JwtError::UnknownKid { kid: None, .. })
    ));
}

#[test]
fn an_extra_header_cannot_replace_alg_or_kid() {
    let k = key(Algorithm::ES256);
    for (name, value) in [("alg", json!("none")), ("alg", json!("HS256")), ("kid", json!("other"))] {
        let mut header = Map::new();
        header.insert(name.into(), value);
        assert_eq!(
            sign(&k, &header, &claims()).unwrap_err(),
            KeyError::ReservedHeader(name.into())
        );
    }
    let mut typ = Map::new();
    typ.insert("typ".into(), json!("JWT"));
    let token = sign(&k, &typ, &claims()).unwrap();
    let decoded = decode_unverified(&token).unwrap();
    assert_eq!(decoded.header["alg"], "ES256");
    assert_eq!(decoded.header["typ"], "JWT");
}

#[test]
fn one_odd_key_does_not_hide_the_others() {
    let k = key(Algorithm::ES256);
    let mut document: Value = serde_json::from_str(&jwks(&[&k]).to_pretty_json()).unwrap();
    let keys = document["keys"].as_array_mut().unwrap();
    keys.insert(0, json!({ "kty": "RSA", "kid": 5, "n": "AQAB", "e": "AQAB" }));
    keys.push(json!({ "kty": "EC", "kid": "enc-key", "use": "enc", "crv": "P-256", "x": "AA", "y": "AA" }));
    let set = JwkSet::from_json(document.to_string().as_bytes()).unwrap();
    assert_eq!(set.keys.len(), 1, "the good key is kept");
    assert_eq!(set.skipped.len(), 2);
    assert!(
        set.skipped[0].starts_with("key 0 is not a valid JWK: invalid type: integer `5`"),
        "{:?}",
        set.skipped
    );
    assert_eq!(
        set.skipped[1],
        "key 2 (kid \"enc-key\") is marked \"use\": \"enc\" (for encryption, not signatures)"
    );
    let token = sign(&k, &Map::new(), &claims()).unwrap();
    assert!(check(&token, &set).is_ok(), "verified with the good key");
    // A token signed for the encryption key's kid: not found, and the refusal says why.
    let header = json!({ "alg": "ES256", "kid": "enc-key" });
    let t = raw(&header, &claims(), &[0; 64]);
    match check(&t, &set).unwrap_err() {
        JwtError::UnknownKid { skipped, .. } => assert_eq!(skipped, set.skipped),
        other => panic!("{other}"),
    }
    assert!(JwkSet::from_json(b"{\"keys\": 5}").is_err(), "not a JWKS at all");
}

#[test]
fn rsa_keys_under_2048_bits_are_refused_as_too_small() {
    let mut n = vec![0x80u8];
    n.extend(std::iter::repeat_n(0x5a, 127));
    let set = JwkSet {
        keys: vec![Jwk {
            kty: "RSA".into(),
            kid: Some("small".into()),
            n: Some(URL_SAFE_NO_PAD.encode(&n)),
            e: Some("AQAB".into()),
            ..Jwk::default()
        }],
        ..JwkSet::default()
    };
    let t = raw(&json!({ "alg": "RS256", "kid": "small" }), &claims(), &[0; 128]);
    assert_eq!(
        check(&t, &set).unwrap_err(),
        JwtError::UnusableKey {
            kid: Some("small".into()),
            reason: "the RSA key is 1024 bits; at least 2048 are required (Entra refuses smaller keys too)".into()
        }
    );
}

#[test]
fn numeric_dates_must_be_whole_seconds_within_the_calendar() {
    let k = key(Algorithm::ES256);
    let keys = jwks(&[&k]);
    let with_exp = |exp: Value| {
        let mut c = claims();
        c["exp"] = exp;
        sign(&k, &Map::new(), &c).unwrap()
    };
    for exp in [
        json!(1e20),
        json!(1e308),
        json!(9_223_372_036_854_775_808u64),
        json!(i64::MAX),
        json!(1.5e9 + 0.5),
        json!(-1),
    ] {
        let refused = check(&with_exp(exp.clone()), &keys).unwrap_err();
        assert!(
            matches!(&refused, JwtError::Malformed { reason } if reason.starts_with("exp is not a NumericDate")),
            "{exp}: {refused}"
        );
    }
    assert!(
        check(&with_exp(json!(4_000_000_000.0)), &keys).is_ok(),
        "a whole float is a date"
    );
    let mut c = claims();
    c["nbf"] = json!(1e300);
    let refused = check(&sign(&k, &Map::new(), &c).unwrap(), &keys).unwrap_err();
    assert!(
        matches!(&refused, JwtError::Malformed { reason } if reason.starts_with("nbf is not")),
        "{refused}"
    );
}
