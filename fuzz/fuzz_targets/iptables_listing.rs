//! Fuzzes `wif proxy init`'s reading of `iptables -t nat -S` and its apply and undo plans. Any bytes get an answer, never a panic. The body is `wif_fuzz::iptables_listing`
//! (fuzz/src/lib.rs), which crates/wif/tests/it/fuzz_replay.rs replays on stable over
//! fuzz/corpus/iptables_listing.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wif_fuzz::iptables_listing(data));
