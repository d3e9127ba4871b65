//! Fuzzes AdmissionReview decoding, mutation planning and the response.
//! Any bytes get an answer, never a panic. The body is `wif_fuzz::admission` (fuzz/src/lib.rs),
//! which crates/wif/tests/it/fuzz_replay.rs replays on stable over fuzz/corpus/admission.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wif_fuzz::admission(data));
