//! `wif jwks` and `wif issuer` as users run them: azwi's golden vector, key files written
//! 0600, tokens minted and verified, and the HTTPS issuer fetched by a real client.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::*;

/// A directory of the test's, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("wif-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `wif ARGS`, which must succeed; its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = wif(args, b"");
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn mode(path: &str) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// azwi's own golden test (pkg/cmd/jwks/root_test.go, v1.6.0).
const AZWI_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1QJE2YmLbvMLP6FtzcfP
zGbSDbHEEtA0mH6kwgrOrlKs83zj2vr6Y5k/ZcGdIbsdm5vDj2IxtSkE+pSDtgFM
2iq0sJ7xuE6RYmlrtBm+H2WHvXrP9RrG1EfO7iWs6Czj4A/Ddxg3kNUiQCtQEJww
H2pfrUkh8STQhST/T86pq5AIFCuQiQSrkfC80eD9bUFypV3CLB2M9Fa1hbvOWbzS
F93/I0toUK2+oPgVW6m2EwMyy8Fh/3KRixrAJO8g+D4d537C1fa1vJJRlMRFtLMA
/bo6k1fAtNsVQuQoML5CmRrvNT7ZpXRLaQy64OSFrVLD3Pb7wct7b4g2xQECixQo
dwIDAQAB
-----END PUBLIC KEY-----";

#[test]
fn jwks_matches_azwi_golden_output() {
    let dir = TempDir::new("jwks");
    let key = dir.path("public.key");
    std::fs::write(&key, AZWI_PUBLIC_KEY).unwrap();
    let expected = serde_json::json!({ "keys": [{
        "use": "sig", "kty": "RSA", "kid": "2A3FPpix2keOV1SGPQiM0_wVemz4XOIgQyJJnpu5sPE", "alg": "RS256",
        "n": "1QJE2YmLbvMLP6FtzcfPzGbSDbHEEtA0mH6kwgrOrlKs83zj2vr6Y5k_ZcGdIbsdm5vDj2IxtSkE-pSDtgFM2iq0sJ7xuE6RYmlrtBm-H2WHvXrP9RrG1EfO7iWs6Czj4A_Ddxg3kNUiQCtQEJwwH2pfrUkh8STQhST_T86pq5AIFCuQiQSrkfC80eD9bUFypV3CLB2M9Fa1hbvOWbzSF93_I0toUK2-oPgVW6m2EwMyy8Fh_3KRixrAJO8g-D4d537C1fa1vJJRlMRFtLMA_bo6k1fAtNsVQuQoML5CmRrvNT7ZpXRLaQy64OSFrVLD3Pb7wct7b4g2xQECixQodw",
        "e": "AQAB"
    }]});
    let printed: Value = serde_json::from_str(&ok(&["jwks", "--public-keys", &key])).unwrap();
    assert_eq!(printed, expected);
    let out = dir.path("jwks.json");
    ok(&["jwks", "--public-keys", &key, "--output-file", &out]);
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&written).unwrap(), expected);
    assert!(
        written.starts_with("{\n  \"keys\": [\n    {\n      \"use\": \"sig\",\n      \"kty\": \"RSA\",\n      \"kid\""),
        "azwi's field order"
    );
    assert!(!written.ends_with('\n'), "no trailing newline, as azwi writes");
    assert_eq!(mode(&out), 0o600);
}

#[test]
fn keygen_mint_verify() {
    let dir = TempDir::new("mint");
    for alg in ["RS256", "ES256", "ES384", "ES512"] {
        let key = dir.path(&format!("{alg}.key"));
        let public = dir.path(&format!("{alg}.pub"));
        ok(&["issuer", "keygen", "--out", &key, "--alg", alg, "--public-out", &public]);
        assert_eq!(mode(&key), 0o600, "{alg}");
        let again = wif(&["issuer", "keygen", "--out", &key], b"");
        assert!(!again.status.success() && stderr(&again).contains("exists; remove it or pass --force"));

        let token = dir.path(&format!("{alg}.jwt"));
        ok(&[
            "issuer",
            "mint",
            "--key",
            &key,
            "--issuer",
            "https://127.0.0.1:8443/",
            "--namespace",
            "demo",
            "--service-account",
            "app",
            "--pod",
            "web-0",
            "--out",
            &token,
        ]);
        assert_eq!(mode(&token), 0o600);
        let jwks = dir.path(&format!("{alg}.jwks"));
        ok(&["jwks", "--public-keys", &public, "--output-file", &jwks]);
        let verified: Value = serde_json::from_str(&ok(&[
            "issuer",
            "verify",
            "--jwks",
            &jwks,
            "--token",
            &token,
            "--issuer",
            "https://127.0.0.1:8443/",
            "--audience",
            "api://AzureADTokenExchange",
            "--subject",
            "system:serviceaccount:demo:app",
        ]))
        .unwrap();
        assert_eq!(verified["header"]["alg"], alg);
        assert_eq!(verified["claims"]["kubernetes.io"]["pod"]["name"], "web-0");
        let verdict = wif(&["issuer", "verify", "--jwks", &jwks, "--token", &token], b"");
        assert!(
            stderr(&verdict).starts_with("verified: signed by key "),
            "the verdict for a person on stderr: {}",
            stderr(&verdict)
        );
        let exp = verified["claims"]["exp"].as_i64().unwrap();
        assert_eq!(exp - verified["claims"]["iat"].as_i64().unwrap(), 3600);

        let wrong = wif(
            &[
                "issuer",
                "verify",
                "--jwks",
                &jwks,
                "--token",
                &token,
                "--audience",
                "api://other",
            ],
            b"",
        );
        assert!(!wrong.status.success());
        assert!(
            stderr(&wrong).contains("audience [\"api://AzureADTokenExchange\"] does not contain \"api://other\""),
            "{}",
            stderr(&wrong)
        );
    }
}

#[test]
fn issuer_tooling_refuses_bad_input() {
    let dir = TempDir::new("bad");
    let not_a_key = dir.path("notes.txt");
    std::fs::write(&not_a_key, "hello").unwrap();
    let key = dir.path("sa.key");
    ok(&["issuer", "keygen", "--out", &key]);
    let cases: Vec<(Vec<&str>, &[u8], &str)> = vec![
        (
            vec!["jwks", "--public-keys", &not_a_key],
            b"",
            "notes.txt: no PEM block found",
        ),
        (
            vec!["jwks", "--public-keys", "/nonexistent.pem"],
            b"",
            "cannot read /nonexistent.pem",
        ),
        (
            vec!["issuer", "discovery", "--issuer", "http://insecure/"],
            b"",
            "it must be an https URL",
        ),
        (
            vec![
                "issuer",
                "mint",
                "--key",
                &key,
                "--issuer",
                "https://i/",
                "--namespace",
                "n",
                "--service-account",
                "s",
                "--expiration",
                "60",
            ],
            b"",
            "outside what kube-apiserver accepts",
        ),
        (
            vec![
                "issuer",
                "mint",
                "--key",
                &not_a_key,
                "--issuer",
                "https://i/",
                "--namespace",
                "n",
                "--service-account",
                "s",
            ],
            b"",
            "no PEM block found",
        ),
        (
            vec!["issuer", "verify", "--jwks", &not_a_key, "--token", "-"],
            b"x.y.z",
            "is not a JWKS",
        ),
        (
            vec!["issuer", "serve", "--key", &key, "--issuer", "https://127.0.0.1:1/"],
            b"",
            "pass --cert-dir DIR",
        ),
    ];
    for (args, input, expected) in cases {
        let out = wif(&args, input);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
    let jwks = dir.path("jwks.json");
    ok(&["jwks", "--public-keys", &key, "--output-file", &jwks]);
    let garbage = wif(&["issuer", "verify", "--jwks", &jwks, "--token", "-"], b"not-a-token");
    assert!(
        stderr(&garbage).contains("token refused: malformed token: expected three dot-separated parts"),
        "{}",
        stderr(&garbage)
    );
}

/// A `wif` server process, stopped by PID.
pub struct Server {
    child: Child,
    pub address: String,
    health: String,
}

impl Server {
    pub fn start(args: &[&str]) -> Server {
        let (child, line) = spawn_with_banner(
            Command::new(env!("CARGO_BIN_EXE_wif"))
                .args(args)
                .stderr(Stdio::inherit()),
        );
        Server {
            child,
            address: banner_field(&line, "listening on "),
            health: banner_field(&line, "health on "),
        }
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

fn client(ca_pem: &Path) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca_pem).unwrap()).unwrap();
    reqwest::Client::builder().tls_certs_only([ca]).build().unwrap()
}

#[tokio::test]
async fn serve_publishes_discovery_and_every_key_over_https() {
    let dir = TempDir::new("serve");
    let (new_key, old_key, ca) = (dir.path("new.key"), dir.path("old.key"), dir.path("ca.pem"));
    ok(&["issuer", "keygen", "--out", &new_key]);
    ok(&["issuer", "keygen", "--out", &old_key, "--alg", "ES256"]);
    let issuer = "https://127.0.0.1:8443/";
    let server = Server::start(&[
        "issuer",
        "serve",
        "--key",
        &format!("{new_key},{old_key}"),
        "--issuer",
        issuer,
        "--addr",
        "127.0.0.1:0",
        "--health-addr",
        "127.0.0.1:0",
        "--self-signed-ca-out",
        &ca,
    ]);
    let http = client(Path::new(&ca));
    let base = server.address.clone();

    let response = http
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    let discovery: Value = response.json().await.unwrap();
    assert_eq!(discovery["issuer"], issuer);
    assert_eq!(discovery["jwks_uri"], "https://127.0.0.1:8443/openid/v1/jwks");
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256", "RS256"])
    );

    let response = http.get(format!("{base}/openid/v1/jwks")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/jwk-set+json");
    let jwks: wif_jose::JwkSet = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(jwks.keys.len(), 2, "old and new keys published together");

    // A token from either key verifies against what was served.
    for key in [&new_key, &old_key] {
        let token = ok(&[
            "issuer",
            "mint",
            "--key",
            key,
            "--issuer",
            issuer,
            "--namespace",
            "demo",
            "--service-account",
            "app",
        ]);
        let validation = wif_jose::Validation {
            issuer: Some(issuer.into()),
            ..wif_jose::Validation::default()
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        wif_jose::verify(token.trim(), &jwks, &validation, now).unwrap();
    }

    assert_eq!(http.get(format!("{base}/other")).send().await.unwrap().status(), 404);
    assert_eq!(
        http.post(format!("{base}/openid/v1/jwks"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    let plain = reqwest::Client::new();
    assert_eq!(
        plain
            .get(format!("{}/readyz", server.health))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = plain
        .get(format!("{}/metrics", server.health))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("wif_issuer_requests_total{path=\"/openid/v1/jwks\",code=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("path=\"other\",code=\"404\""), "{metrics}");
    // A client that does not trust the CA is refused.
    assert!(
        reqwest::Client::builder()
            .tls_certs_only([])
            .build()
            .unwrap()
            .get(&base)
            .send()
            .await
            .is_err()
    );
    assert!(server.terminate().success(), "SIGTERM stops it cleanly");
}
