//! Fuzzes DER, PEM and X.509 reading, and the webhook's certificate Secret check.
//! Any bytes get an answer, never a panic. The body is `wif_fuzz::x509` (fuzz/src/lib.rs),
//! which crates/wif/tests/it/fuzz_replay.rs replays on stable over fuzz/corpus/x509.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wif_fuzz::x509(data));
