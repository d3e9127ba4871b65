//! `wif sts` and `wif token` as processes: the emulator's URLs come from its own address
//! whatever `Host` a client sends, a request value with a newline and terminal escapes is
//! logged as one escaped field, and `wif token` gets, refuses (with the AADSTS code and the
//! diagnosis) and inspects against it.

use std::io::Read;
use std::process::{Command, Stdio};

use super::*;

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";

/// `wif sts` on a free loopback port with `directory` (files beside it written first), its
/// stderr piped; the child, the base URL and the CA file.
fn start_sts(
    name: &str,
    directory: &str,
    files: &[(&str, String)],
) -> (std::process::Child, String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("wif-it-sts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("directory.yaml"), directory).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
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
    (child, banner_field(&banner, "listening on "), ca)
}

#[tokio::test]
async fn urls_ignore_the_host_header_and_request_values_cannot_forge_log_lines() {
    let directory = format!("tenants:\n  - tenantId: {TENANT}\n    domain: contoso.onmicrosoft.com\n");
    let (mut child, base, ca) = start_sts("host", &directory, &[]);
    let dir = ca.parent().unwrap().to_path_buf();
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

#[test]
fn wif_token_gets_inspects_and_reports_the_aadsts_code() {
    use wif_jose::kubernetes::ProjectedToken;
    const CLIENT: &str = "11111111-0000-4000-8000-000000000001";
    const ISSUER: &str = "https://oidc.example/cluster-1/";
    let key = wif_jose::SigningKey::generate(wif_jose::Algorithm::ES256).unwrap();
    let jwks = wif_jose::jwks_of(std::slice::from_ref(key.public_key())).to_pretty_json();
    let directory = format!(
        "tenants:\n  - tenantId: {TENANT}\n    applications:\n      - displayName: reader\n        appId: {CLIENT}\n        federatedIdentityCredentials:\n          - {{ name: k8s, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\nissuers:\n  - {{ issuer: \"{ISSUER}\", jwksFile: jwks.json }}\n"
    );
    let token = |namespace: &str| {
        ProjectedToken::for_service_account(ISSUER, namespace, "app", wif_core::clock::unix_now())
            .unwrap()
            .sign(&key)
            .unwrap()
    };
    let (mut child, base, ca) = start_sts("token", &directory, &[("jwks.json", jwks)]);
    let dir = ca.parent().unwrap().to_path_buf();
    std::fs::write(dir.join("good.jwt"), token("demo")).unwrap();
    std::fs::write(dir.join("wrong.jwt"), token("production")).unwrap();
    let run = |args: &[&str], file: &str| {
        Command::new(env!("CARGO_BIN_EXE_wif"))
            .args(args)
            .env("AZURE_AUTHORITY_HOST", &base)
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT)
            .env("AZURE_FEDERATED_TOKEN_FILE", dir.join(file))
            .output()
            .unwrap()
    };
    let ca_file = ca.to_string_lossy().into_owned();
    let get = [
        "token",
        "get",
        "--scope",
        "https://vault.azure.net/.default",
        "--ca-file",
        ca_file.as_str(),
    ];
    let got = run(&get, "good.jwt");
    assert!(got.status.success(), "{}", stderr(&got));
    let access = wif_jose::decode_unverified(stdout(&got).trim()).unwrap();
    assert_eq!(access.claims["aud"], "https://vault.azure.net");
    assert_eq!(access.claims["appid"], CLIENT);

    let untrusted = run(&get[..4], "good.jwt");
    assert!(!untrusted.status.success());
    assert!(
        stderr(&untrusted).starts_with("wif: the token endpoint's certificate is not trusted: pass --ca-file CA"),
        "one line that says what to do, no library log before it: {}",
        stderr(&untrusted)
    );

    let refused = run(&get, "wrong.jwt");
    assert!(!refused.status.success());
    let words = stderr(&refused);
    assert!(words.contains("\n  Entra ID: AADSTS700213:"), "{words}");
    assert!(words.starts_with("wif: application "), "the diagnosis first: {words}");
    assert!(
        words.contains("the namespace is 'demo' in the credential but 'production' in the token"),
        "{words}"
    );

    let inspected = run(&["token", "inspect"], "good.jwt");
    assert!(inspected.status.success(), "{}", stderr(&inspected));
    let shown = stdout(&inspected);
    assert!(
        shown.contains(r#""subject": "system:serviceaccount:demo:app""#),
        "{shown}"
    );
    assert!(shown.contains(&format!(r#""issuer": "{ISSUER}""#)), "{shown}");
    assert!(shown.contains("issued:     20"), "times in RFC 3339: {shown}");

    // The access token the exchange returned, given as the argument itself: said to be one.
    let access_token = stdout(&got).trim().to_owned();
    let inspected = run(&["token", "inspect", &access_token], "good.jwt");
    assert!(inspected.status.success(), "{}", stderr(&inspected));
    let shown = stdout(&inspected);
    assert!(
        shown.starts_with("this is a Microsoft Entra ID access token (what an exchange returns), not a projected service-account token"),
        "{shown}"
    );
    assert!(shown.contains(&format!("appid:      {CLIENT}\n")), "{shown}");
    assert!(
        !shown.contains("federatedIdentityCredential") && !shown.contains("az identity"),
        "{shown}"
    );

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn token_get_names_every_missing_input_at_once_and_takes_the_tenant_from_the_environment() {
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wif"));
        command
            .env_clear()
            .arg("token")
            .arg("get")
            .args(["--scope", "https://vault.azure.net/.default"])
            .args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    let bare = run(&[], &[]);
    assert!(!bare.status.success());
    assert_eq!(
        stderr(&bare).trim(),
        "wif: missing: the client id (--client-id or AZURE_CLIENT_ID, or --identity ALIAS); the tenant (--tenant-id or AZURE_TENANT_ID); the projected token (--token-file or AZURE_FEDERATED_TOKEN_FILE)"
    );
    // --client-id takes the tenant from AZURE_TENANT_ID, as its help says.
    let with_tenant = run(
        &[("AZURE_TENANT_ID", TENANT)],
        &["--client-id", "11111111-0000-4000-8000-000000000001"],
    );
    assert_eq!(
        stderr(&with_tenant).trim(),
        "wif: missing: the projected token (--token-file or AZURE_FEDERATED_TOKEN_FILE)"
    );
}

/// `wif sts --console`: a second banner line with a one-time login link that opens a session
/// (the page names the directory's tenant) and works once; not on an address other than
/// loopback.
#[tokio::test]
async fn the_console_link_of_wif_sts_opens_a_session_once_and_only_on_loopback() {
    let dir = std::env::temp_dir().join(format!("wif-it-sts-console-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("directory.yaml"),
        format!("tenants: [{{tenantId: {TENANT}}}]\n"),
    )
    .unwrap();
    let ca = dir.join("ca.pem");
    let args = |addr: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wif"));
        command
            .current_dir(&dir)
            .args([
                "sts",
                "--config",
                "directory.yaml",
                "--console",
                "--addr",
                addr,
                "--health-addr",
                "127.0.0.1:0",
            ])
            .arg("--self-signed-ca-out")
            .arg(&ca)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let refused = args("0.0.0.0:0").output().unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--console: the console is for this machine only"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let front_elsewhere = args("127.0.0.1:0")
        .args(["--vault-proxy-addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!front_elsewhere.status.success());
    assert!(
        String::from_utf8_lossy(&front_elsewhere.stderr)
            .contains("--vault-proxy-addr 0.0.0.0:0 (which serves the same routes)"),
        "{}",
        String::from_utf8_lossy(&front_elsewhere.stderr)
    );

    let mut child = args("127.0.0.1:0").spawn().unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let (mut banner, mut console) = (String::new(), String::new());
    std::io::BufRead::read_line(&mut reader, &mut banner).unwrap();
    std::io::BufRead::read_line(&mut reader, &mut console).unwrap();
    let base = banner_field(&banner, "listening on ");
    let link = console
        .split_whitespace()
        .find(|w| w.contains("/_console/login?token="))
        .unwrap_or_else(|| panic!("no link in {console:?}"))
        .to_owned();
    assert!(
        link.starts_with(&format!("{base}/_console/login?token=")),
        "{link} {base}"
    );
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let page = client.get(format!("{base}/_console/")).send().await.unwrap();
    assert_eq!(page.status(), 401);
    let login = client.get(&link).send().await.unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = client
        .get(format!("{base}/_console/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(TENANT));
    assert_eq!(
        client.get(&link).send().await.unwrap().status(),
        401,
        "a link works once"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
