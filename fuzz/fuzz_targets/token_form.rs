//! Fuzzes the emulator's token form and every exchange step before the issuer's keys.
//! Any bytes get an answer, never a panic. The body is `wif_fuzz::token_form` (fuzz/src/lib.rs),
//! which crates/wif/tests/it/fuzz_replay.rs replays on stable over fuzz/corpus/token_form.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wif_fuzz::token_form(data));
