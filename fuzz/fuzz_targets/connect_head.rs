//! Fuzzes the CONNECT head the vault proxy reads and the vault host it names.
//! Any bytes get an answer, never a panic. The body is `wif_fuzz::connect_head` (fuzz/src/lib.rs),
//! which crates/wif/tests/it/fuzz_replay.rs replays on stable over fuzz/corpus/connect_head.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wif_fuzz::connect_head(data));
