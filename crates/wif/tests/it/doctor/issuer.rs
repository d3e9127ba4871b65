//! `wif doctor --check-issuer` against a real issuer (`wif issuer serve` on loopback): the
//! token's key found or missing, the issuer gone, and an issuer behind a private CA said in
//! words, naming --ca-file.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::super::issuer::{Server, TempDir, ok};
use super::super::*;
use super::coverage::{CREDENTIALS, MANIFESTS};
use super::{doctor, free_port};

#[test]
fn check_issuer_fetches_a_real_issuer_and_finds_the_tokens_key() {
    let dir = TempDir::new("doctor-issuer");
    let (key, rotated, ca) = (dir.path("sa.key"), dir.path("rotated.key"), dir.path("ca.pem"));
    ok(&["issuer", "keygen", "--out", &key]);
    ok(&["issuer", "keygen", "--out", &rotated]);
    let port = free_port();
    let issuer = format!("https://127.0.0.1:{port}/");
    let server = Server::start(&[
        "issuer",
        "serve",
        "--key",
        &key,
        "--issuer",
        &issuer,
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--health-addr",
        "127.0.0.1:0",
        "--self-signed-ca-out",
        &ca,
    ]);
    let mint = |key: &str, out: &str| {
        ok(&[
            "issuer",
            "mint",
            "--key",
            key,
            "--issuer",
            &issuer,
            "--namespace",
            "payments",
            "--service-account",
            "api-sa",
            "--out",
            out,
        ]);
    };
    mint(&key, &dir.path("token"));
    mint(&rotated, &dir.path("rotated-token"));
    let check = |token: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_wif"))
            .args([
                "doctor",
                "--token",
                token,
                "--check-issuer",
                "--ca-file",
                &ca,
                "-o",
                "json",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), report, stderr(&out))
    };
    let (code, report, err) = check(&dir.path("token"));
    assert_eq!((code, &report["findings"]), (Some(0), &json!([])), "{report} {err}");
    let (code, report, _) = check(&dir.path("rotated-token"));
    assert_eq!(code, Some(1));
    assert_eq!(report["findings"][0]["rule"], "issuer-key-missing", "{report}");
    server.terminate();
    let (code, report, _) = check(&dir.path("token"));
    assert_eq!(code, Some(1));
    assert_eq!(report["findings"][0]["rule"], "issuer-unreachable", "{report}");
}

#[test]
fn an_issuer_behind_a_private_ca_is_said_in_words_naming_ca_file() {
    let dir = TempDir::new("doctor-private-ca");
    let (key, ca) = (dir.path("sa.key"), dir.path("ca.pem"));
    ok(&["issuer", "keygen", "--out", &key]);
    let port = free_port();
    let issuer = format!("https://127.0.0.1:{port}/");
    let server = Server::start(&[
        "issuer",
        "serve",
        "--key",
        &key,
        "--issuer",
        &issuer,
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--health-addr",
        "127.0.0.1:0",
        "--self-signed-ca-out",
        &ca,
    ]);
    let out = doctor(&["--issuer-url", &issuer, "--check-issuer"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "error issuer-unreachable: Issuer {issuer}\n  \
what: {issuer}.well-known/openid-configuration cannot be fetched: the issuer's certificate is not signed by a CA this machine trusts: pass its CA with --ca-file FILE\n  \
why:  Entra ID fetches the issuer's discovery document and JWKS over HTTPS from the public internet: if they cannot be fetched, no token is exchanged (AADSTS50166).\n  \
fix:  pass the CA that signed the issuer's certificate with --ca-file FILE (for wif issuer serve, the file its --self-signed-ca-out wrote); the issuer Entra ID fetches needs a certificate from a public CA\n\n\
1 error(s), 0 warning(s) in what was checked; not checked:\n{MANIFESTS}{CREDENTIALS}"
        )
    );
    assert!(!stdout(&out).contains("UnknownIssuer"), "{}", stdout(&out));
    // With its CA: fetched, nothing found.
    let trusted = doctor(&["--issuer-url", &issuer, "--check-issuer", "--ca-file", &ca], b"");
    assert_eq!(trusted.status.code(), Some(0), "{}", stderr(&trusted));
    assert_eq!(
        stdout(&trusted),
        format!("no findings in what was checked; not checked:\n{MANIFESTS}{CREDENTIALS}")
    );
    server.terminate();
}
