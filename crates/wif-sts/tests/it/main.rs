//! The emulator against the official Azure SDK for Rust (`azure_identity`), a client nobody
//! here wrote: its `WorkloadIdentityCredential` gets a token from the emulator started
//! in-process over real TLS on 127.0.0.1, and a federation failure reaches it with the
//! AADSTS code. (The Python SDKs are driven by scripts/interop_sts.py; the local Azure plane
//! has its own tests, in wif-azure.)

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{ClientAssertionCredentialOptions, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions};
use wif_jose::kubernetes::{ProjectedToken, random_uuid};
use wif_jose::{Algorithm, SigningKey};

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const CLIENT: &str = "11111111-0000-4000-8000-000000000001";
const ISSUER: &str = "https://oidc.example/cluster-1/";

struct Emulator {
    url: String,
    ca_pem: String,
    dir: PathBuf,
    issuer: wif_issuer::StaticIssuer,
    _server: wif_sts::LocalEmulator,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The emulator trusting `ISSUER` through a static JWKS (no issuer server needed).
async fn start() -> Emulator {
    let dir = std::env::temp_dir().join(format!("wif-sts-it-{}", random_uuid().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = wif_issuer::StaticIssuer::create(ISSUER, &dir).unwrap();
    let yaml = format!(
        "tenants:\n  - tenantId: {TENANT}\n    applications:\n      - displayName: reader\n        appId: {CLIENT}\n        federatedIdentityCredentials:\n          - {{ name: k8s-demo-app, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\n{}",
        issuer.issuers_section()
    );
    let server = wif_sts::LocalEmulator::start(&yaml, &dir).await.unwrap();
    Emulator {
        url: server.url.clone(),
        ca_pem: server.ca_pem.clone(),
        dir,
        issuer,
        _server: server,
    }
}

/// A projected token for `demo`'s or another namespace's `app`, from `issuer`, signed by `key`.
fn projected_token(issuer: &str, namespace: &str, key: &SigningKey) -> String {
    ProjectedToken::for_service_account(issuer, namespace, "app", time_now())
        .unwrap()
        .sign(key)
        .unwrap()
}

fn token_file(emulator: &Emulator, name: &str, namespace: &str) -> PathBuf {
    let path = emulator.dir.join(name);
    std::fs::write(&path, emulator.issuer.token(namespace, "app").unwrap()).unwrap();
    path
}

fn credential(emulator: &Emulator, token_file: PathBuf) -> Arc<WorkloadIdentityCredential> {
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem.as_bytes()).unwrap();
    let http = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = emulator.url.clone();
    let client_options = ClientOptions {
        transport: Some(Transport::new(Arc::new(http))),
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        ..ClientOptions::default()
    };
    let options = WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions { client_options },
        client_id: Some(CLIENT.into()),
        tenant_id: Some(TENANT.into()),
        token_file_path: Some(token_file),
    };
    WorkloadIdentityCredential::new(Some(options)).unwrap()
}

#[tokio::test]
async fn azure_identity_for_rust_gets_a_token() {
    let emulator = start().await;
    let credential = credential(&emulator, token_file(&emulator, "token", "demo"));
    let token = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap();
    let claims = wif_jose::decode_unverified(token.token.secret()).unwrap().claims;
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["appid"], CLIENT);
    assert_eq!(claims["aud"], "https://vault.azure.net");
    let lifetime = token.expires_on.unix_timestamp() - time_now();
    assert!(
        (3500..=3700).contains(&lifetime),
        "expires_in parsed as a number: {lifetime}"
    );
}

#[tokio::test]
async fn azure_identity_for_rust_sees_the_aadsts_code() {
    let emulator = start().await;
    let credential = credential(&emulator, token_file(&emulator, "token", "production"));
    let error = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap_err();
    let text = format!("{error:?} {error}");
    assert!(text.contains("AADSTS700213:"), "{text}");
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An OIDC issuer on `address` (discovery and JWKS over HTTPS, from a CA made earlier),
/// serving until dropped.
async fn serve_issuer(
    address: std::net::SocketAddr,
    tls: wif_server::LocalTls,
    key: &SigningKey,
) -> wif_server::LocalServer {
    let url = format!("https://{address}");
    let documents = wif_issuer::IssuerDocuments::new(&url, None, std::slice::from_ref(key.public_key())).unwrap();
    let options = wif_server::LocalOptions {
        addr: address,
        tls: Some(tls),
        ..wif_server::LocalOptions::default()
    };
    wif_server::LocalServer::start(documents.router(), Default::default(), options)
        .await
        .unwrap()
}

async fn exchange(http: &reqwest::Client, emulator_url: &str, assertion: &str) -> serde_json::Value {
    let form = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("scope", "https://vault.azure.net/.default"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ])
    .unwrap();
    http.post(format!("{emulator_url}/{TENANT}/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_issuer_down_at_the_first_exchange_works_again_within_seconds_without_a_restart() {
    // The issuer's address is reserved and released: nothing listens there at first.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let issuer_url = format!("https://{address}");
    let dir = std::env::temp_dir().join(format!("wif-sts-it-down-{}", random_uuid().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let tls = wif_server::LocalTls::new("issuer CA", &[]).unwrap();
    std::fs::write(dir.join("issuer-ca.pem"), &tls.ca_pem).unwrap();
    let yaml = format!(
        "tenants:\n  - tenantId: {TENANT}\n    applications:\n      - displayName: reader\n        appId: {CLIENT}\n        federatedIdentityCredentials:\n          - {{ name: k8s, issuer: \"{issuer_url}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\nissuers:\n  - {{ issuer: \"{issuer_url}\", caFile: issuer-ca.pem }}\n"
    );
    let emulator = wif_sts::LocalEmulator::start(&yaml, &dir).await.unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(emulator.ca_pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let assertion = projected_token(&issuer_url, "demo", &key);

    let down = exchange(&http, &emulator.url, &assertion).await;
    assert_eq!(down["error_codes"], serde_json::json!([50166]), "{down}");
    let diagnosis = down["wif_diagnosis"].as_str().unwrap_or_default();
    assert!(diagnosis.contains("openid-configuration failed"), "{diagnosis}");

    let _issuer = serve_issuer(address, tls, &key).await;
    let back = std::time::Instant::now();
    // A client retrying as SDKs do: within the first backoff (1 s) the emulator answers from
    // memory; then it fetches again and the exchange succeeds.
    let answer = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            let answer = exchange(&http, &emulator.url, &assertion).await;
            if answer.get("access_token").is_some() {
                return answer;
            }
            assert_eq!(answer["error_codes"], serde_json::json!([50166]), "{answer}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("exchanges succeed again once the issuer is back");
    let took = back.elapsed();
    assert!(
        took < std::time::Duration::from_secs(5),
        "the failure was remembered for {took:?}"
    );
    assert_eq!(answer["token_type"], "Bearer");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_oversized_form_is_answered_413_with_its_aadsts_code() {
    let emulator = start().await;
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(emulator.ca_pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    // 100 kB, as a client that pastes a whole file into client_assertion would send.
    let form = format!("grant_type=client_credentials&client_assertion={}", "a".repeat(100_000));
    let answer = http
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", emulator.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 413);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error_codes"], serde_json::json!([90100]), "{body}");
}
