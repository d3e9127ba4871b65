//! Fuzzes manifest YAML streams through `wif render`'s parse, render and write.
//! Any bytes get an answer, never a panic. The body is `wif_fuzz::manifest` (fuzz/src/lib.rs),
//! which crates/wif/tests/it/fuzz_replay.rs replays on stable over fuzz/corpus/manifest.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wif_fuzz::manifest(data));
