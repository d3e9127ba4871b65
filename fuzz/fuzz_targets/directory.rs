//! Fuzzes the emulator's directory file.
//! Any bytes get an answer, never a panic. The body is `wif_fuzz::directory` (fuzz/src/lib.rs),
//! which crates/wif/tests/it/fuzz_replay.rs replays on stable over fuzz/corpus/directory.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wif_fuzz::directory(data));
