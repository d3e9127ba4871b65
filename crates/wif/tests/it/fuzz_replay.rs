//! Replays every fuzz corpus (fuzz/corpus/TARGET) through the same bodies the fuzz targets
//! run (fuzz/src/lib.rs, included here), on stable: an input that once found a panic stays a
//! test after it is fixed. The fuzzing itself needs nightly and cargo-fuzz (fuzz/README.md).

#[path = "../../../../fuzz/src/lib.rs"]
mod targets;

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let data = std::fs::read(&path).unwrap();
            (path, data)
        })
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 10,
        "{target}: only {} inputs in {}",
        inputs.len(),
        dir.display()
    );
    inputs
}

fn replay(target: &str, body: fn(&[u8])) {
    for (path, data) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(outcome.is_ok(), "{target}: {} panics", path.display());
    }
}

#[test]
fn jwt_corpus() {
    replay("jwt", targets::jwt);
}

#[test]
fn x509_corpus() {
    replay("x509", targets::x509);
}

#[test]
fn admission_corpus() {
    replay("admission", targets::admission);
}

#[test]
fn token_form_corpus() {
    replay("token_form", targets::token_form);
}

#[test]
fn directory_corpus() {
    replay("directory", targets::directory);
}

#[test]
fn manifest_corpus() {
    replay("manifest", targets::manifest);
}

#[test]
fn imds_query_corpus() {
    replay("imds_query", targets::imds_query);
}

#[test]
fn connect_head_corpus() {
    replay("connect_head", targets::connect_head);
}

#[test]
fn iptables_listing_corpus() {
    replay("iptables_listing", targets::iptables_listing);
}

#[test]
fn doctor_corpus() {
    replay("doctor", targets::doctor);
}
