//! Integration tests of the `wif` binary, run as a user runs it. One test binary for the
//! whole crate (link time dominates on two cores); each command has its own module.

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

mod demo;
mod doctor;
mod fuzz_replay;
mod help;
mod hostile;
mod issuer;
mod migrate;
mod proxy;
mod render;
mod sts;
mod up;
mod up_state;
mod webhook;

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `wif` with `args`, feeding `stdin`, in a clean environment.
pub fn wif(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wif"))
        .args(args)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_ENVIRONMENT")
        .env_remove("PROXY_IMAGE")
        .env_remove("PROXY_INIT_IMAGE")
        .env_remove("WIF_LOG")
        // Never a real cluster: a kubeconfig or in-cluster variables would send the webhook's
        // client to a non-loopback address.
        .env("KUBECONFIG", "/nonexistent/wif-test-kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wif starts");
    let mut input = child.stdin.take().expect("stdin");
    // The child may exit before reading everything (an early error): that is fine.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wif finishes")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Starts `command` (its stdout piped) and returns the child with the banner line it prints
/// once listening.
pub fn spawn_with_banner(command: &mut Command) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = command.stdout(Stdio::piped()).spawn().expect("wif starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a banner line");
    (child, line)
}

/// The address that follows `marker` in a banner (`listening on https://...`).
pub fn banner_field(line: &str, marker: &str) -> String {
    line.split(marker)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(|field| field.trim_end_matches([')', ',']).to_owned())
        .unwrap_or_else(|| panic!("no {marker:?} in {line:?}"))
}

/// A fixture's path.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}
