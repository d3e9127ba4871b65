//! Fuzzes `wif doctor`'s input: credential files and manifests diagnosed against them. Any
//! bytes get an answer, never a panic. The body is `wif_fuzz::doctor` (fuzz/src/lib.rs),
//! which crates/wif/tests/it/fuzz_replay.rs replays on stable over fuzz/corpus/doctor.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wif_fuzz::doctor(data));
