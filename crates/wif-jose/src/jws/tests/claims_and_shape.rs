//! Claims (time, issuer, audience, subject), malformed and oversized tokens, odd keys and sizes.

use super::*;

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
            reason: KeyProblem::RsaTooSmall {
                bits: 1024,
                required: 2048
            }
        }
    );
    assert_eq!(
        check(&t, &set).unwrap_err().to_string(),
        "key \"small\" is not usable: the RSA key is 1024 bits; at least 2048 are required (Entra refuses smaller keys too)"
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
