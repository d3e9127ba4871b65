//! Key files read, made and refused.

use super::*;

// azwi's golden vector is checked once, through `wif jwks` (crates/wif/tests/it/issuer.rs).

#[test]
fn every_key_kind_in_one_file() {
    let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
    let p256 = SigningKey::generate(Algorithm::ES256).unwrap();
    let p384 = SigningKey::generate(Algorithm::ES384).unwrap();
    let p521 = SigningKey::generate(Algorithm::ES512).unwrap();
    let pem = [
        rsa.to_pkcs8_pem().unwrap(),
        p256.public_key_pem(),
        p384.to_pkcs8_pem().unwrap(),
        p521.public_key_pem(),
    ]
    .concat();
    let keys = public_keys_from_pem(pem.as_bytes()).unwrap();
    let algs: Vec<&str> = keys.iter().map(|k| k.algorithm().name()).collect();
    assert_eq!(algs, ["RS256", "ES256", "ES384", "ES512"]);
    assert_eq!(keys[0].kid(), rsa.kid());
    let jwk = keys[3].to_jwk();
    assert_eq!(jwk.crv.as_deref(), Some("P-521"));
    assert_eq!(URL_SAFE_NO_PAD.decode(jwk.x.unwrap()).unwrap().len(), 66);
}

#[test]
fn private_keys_refused_say_why_and_keep_the_crypto_library_reason() {
    use std::error::Error as _;
    // Three bytes of DER: no key of any kind.
    let junk = [0x30, 0x01, 0x00];
    let rsa = SigningKey::from_der("RSA PRIVATE KEY", &junk).err();
    let Some(KeyError::RejectedByCrypto { label, cause }) = &rsa else {
        panic!("{rsa:?}")
    };
    assert_eq!(label, "RSA PRIVATE KEY");
    assert!(
        rsa.as_ref().and_then(|e| e.source()).is_some(),
        "the reason is the source"
    );
    assert!(!cause.to_string().is_empty());
    let pkcs8 = SigningKey::from_der("PRIVATE KEY", &junk).err();
    assert!(
        matches!(&pkcs8, Some(KeyError::NeitherRsaNorEc { label, .. }) if label == "PRIVATE KEY"),
        "{pkcs8:?}"
    );
    assert!(
        pkcs8.as_ref().and_then(|e| e.source()).is_some(),
        "why it is no RSA key is the source"
    );
    assert!(matches!(
        SigningKey::from_der("EC PRIVATE KEY", &junk),
        Err(KeyError::Rejected {
            reason: "not an EC key on P-256, P-384 or P-521",
            ..
        })
    ));
    let encrypted = crate::pem::encode_pem("ENCRYPTED PRIVATE KEY", &junk);
    assert!(matches!(
        SigningKey::from_pem(encrypted.as_bytes()),
        Err(KeyError::Rejected {
            reason: "encrypted keys are not supported",
            ..
        })
    ));
}

#[test]
fn pem_without_keys_is_an_error() {
    let csr = crate::pem::encode_pem("CERTIFICATE REQUEST", &[1, 2, 3]);
    assert!(matches!(public_keys_from_pem(csr.as_bytes()), Err(KeyError::NoKeys)));
    assert!(matches!(
        public_keys_from_pem(b"garbage"),
        Err(KeyError::Pem(crate::pem::PemError::NoBlocks))
    ));
    let bad = crate::pem::encode_pem("PUBLIC KEY", &[0x30, 0x03, 1, 2, 3]);
    assert!(matches!(
        public_keys_from_pem(bad.as_bytes()),
        Err(KeyError::Der(crate::der::DerError {
            what: "subjectPublicKeyInfo",
            ..
        }))
    ));
}
