//! Fuzzes the JWT/JWS parser and verifier, the JWKS parser and the PEM key reader.
//! Any bytes get an answer, never a panic. The body is `wif_fuzz::jwt` (fuzz/src/lib.rs),
//! which crates/wif/tests/it/fuzz_replay.rs replays on stable over fuzz/corpus/jwt.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wif_fuzz::jwt(data));
