//! `wif sts` as a process: its URLs come from its own address whatever `Host` a client
//! sends, and a request value with a newline and terminal escapes is logged as one escaped
//! field, never as a line of its own.

use std::io::Read;
use std::process::{Command, Stdio};

use super::*;

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";

#[tokio::test]
async fn urls_ignore_the_host_header_and_request_values_cannot_forge_log_lines() {
    let dir = std::env::temp_dir().join(format!("wif-it-sts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("directory.yaml"),
        format!("tenants:\n  - tenantId: {TENANT}\n    domain: contoso.onmicrosoft.com\n"),
    )
    .unwrap();
    let ca = dir.join("ca.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wif"))
        .current_dir(&dir)
        .args([
            "sts",
            "--config",
            "directory.yaml",
            "--addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:0",
        ])
        .args(["--log-level", "info", "--log-format", "text"])
        .arg("--self-signed-ca-out")
        .arg(&ca)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut banner).unwrap();
    let base = banner_field(&banner, "listening on ");
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap()])
        .build()
        .unwrap();

    // Host variants: no port, another host, another port. The document names the emulator.
    for host in ["127.0.0.1", "evil.example", "127.0.0.1:1"] {
        let document: serde_json::Value = http
            .get(format!("{base}/{TENANT}/v2.0/.well-known/openid-configuration"))
            .header("host", host)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            document["token_endpoint"],
            format!("{base}/{TENANT}/oauth2/v2.0/token"),
            "Host: {host}"
        );
        assert_eq!(document["issuer"], format!("{base}/{TENANT}/v2.0"), "Host: {host}");
    }

    // A tenant segment carrying a newline, a forged line and a terminal escape.
    let forged = "marker-7f3a%0a2026-12-01T00:00:00Z%20INFO%20token%20issued%1b%5b31m";
    let answer: serde_json::Value = http
        .post(format!("{base}/{forged}/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["error_codes"], serde_json::json!([900023]), "{answer}");

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("marker-7f3a")).collect();
    assert_eq!(lines.len(), 1, "one line for the request: {log}");
    assert!(lines[0].contains("token request refused"), "{}", lines[0]);
    assert!(
        lines[0].contains(r"marker-7f3a\n2026-12-01T00:00:00Z INFO token issued\u{1b}[31m"),
        "{}",
        lines[0]
    );
    assert!(!log.contains('\u{1b}'), "no raw escape reached the log");
    assert!(
        !log.lines().any(|l| l.starts_with("2026-12-01T00:00:00Z")),
        "no forged line: {log}"
    );
}
