//! Signatures: every algorithm, and every way a header, a key or a signature is refused.

use super::*;

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
        JwtError::UnusableKey { reason, .. } => {
            assert_eq!(reason, KeyProblem::Symmetric);
            assert_eq!(reason.to_string(), "symmetric (oct) keys are never accepted");
        }
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
