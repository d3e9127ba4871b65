//! Fuzzes the JWT/JWS parser and verifier, the JWKS parser and the PEM key reader: any bytes
//! must get an answer, never a panic. The corpus in fuzz/corpus/jwt is replayed on stable by
//! crates/wif-jose/tests/it.rs.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wif_jose::{Algorithm, JwkSet, SigningKey, Validation, jwks_of};

static KEYS: LazyLock<JwkSet> = LazyLock::new(|| {
    let keys: Vec<_> = [Algorithm::RS256, Algorithm::ES256]
        .into_iter()
        .filter_map(|a| SigningKey::generate(a).ok())
        .map(|k| k.public_key().clone())
        .collect();
    jwks_of(&keys)
});

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = wif_jose::decode_unverified(text);
        let _ = wif_jose::verify(text, &KEYS, &Validation::default(), 1_900_000_000);
    }
    if let Ok(set) = JwkSet::from_json(data) {
        let _ = wif_jose::verify("e30.e30.", &set, &Validation::default(), 0);
    }
    let _ = wif_jose::public_keys_from_pem(data);
});
