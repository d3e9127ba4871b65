//! Fuzzes the proxy's routing, token request queries, identity selection and scope. Any bytes get an answer, never a panic. The body is `wif_fuzz::imds_query`
//! (fuzz/src/lib.rs), which crates/wif/tests/it/fuzz_replay.rs replays on stable over
//! fuzz/corpus/imds_query.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wif_fuzz::imds_query(data));
