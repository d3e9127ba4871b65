//! The emulator against the official Azure SDK for Rust (`azure_identity`), a client nobody
//! here wrote: its `WorkloadIdentityCredential` gets a token from the emulator started
//! in-process over real TLS on 127.0.0.1, and a federation failure reaches it with the
//! AADSTS code. (The Python SDKs are driven by scripts/interop_sts.py.)

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{ClientAssertionCredentialOptions, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions};
use wif_jose::kubernetes::{ProjectedToken, random_uuid};
use wif_jose::{Algorithm, SigningKey, jwks_of};

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const CLIENT: &str = "11111111-0000-4000-8000-000000000001";
const ISSUER: &str = "https://oidc.example/cluster-1/";

struct Emulator {
    url: String,
    ca_pem: String,
    dir: PathBuf,
    issuer: wif_sts::StaticIssuer,
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
    let issuer = wif_sts::StaticIssuer::create(ISSUER, &dir).unwrap();
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

/// An OIDC issuer on `address` (discovery and JWKS over HTTPS), serving until dropped.
struct Issuer {
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve_issuer(address: std::net::SocketAddr, ca: &wif_server::pki::LocalCa, key: &SigningKey) -> Issuer {
    use axum::routing::get;
    let url = format!("https://{address}");
    let jwks_uri = wif_jose::discovery::default_jwks_uri(&url);
    let discovery = serde_json::to_string(&wif_jose::discovery::DiscoveryDocument::new(
        &url,
        &jwks_uri,
        std::slice::from_ref(key.public_key()),
    ))
    .unwrap();
    let jwks = jwks_of(std::slice::from_ref(key.public_key())).to_pretty_json();
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { discovery }),
        )
        .route("/openid/v1/jwks", get(move || async move { jwks }));
    let cert = ca.issue(&["127.0.0.1"]).unwrap();
    let here = std::path::Path::new("test");
    let key =
        wif_server::tls::certified_key_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes(), here, here).unwrap();
    let options = wif_server::ServiceOptions::new(
        address,
        "127.0.0.1:0".parse().unwrap(),
        wif_server::TlsSource::Given(key),
        "1.3",
    );
    let bound = wif_server::bind(options, router, prometheus_client::registry::Registry::default())
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(async move {
        let _ = stopped.await;
    }));
    Issuer { _stop: stop }
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
    let ca = wif_server::pki::LocalCa::new("issuer CA").unwrap();
    std::fs::write(dir.join("issuer-ca.pem"), ca.cert_pem()).unwrap();
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

    let _issuer = serve_issuer(address, &ca, &key).await;
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

/// The management API of an emulator started here, for the tests below.
mod management {
    use std::path::{Path, PathBuf};

    use serde_json::{Value, json};
    use wif_sts::directory::DirectoryConfig;
    use wif_sts::store::Store;

    use super::*;

    const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";
    const IDENTITY: &str = "wi-myapp-identity";

    struct Api {
        url: String,
        http: reqwest::Client,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    fn yaml() -> String {
        format!(
            "tenants:\n  - tenantId: {TENANT}\n    applications:\n      - displayName: reader\n        appId: {CLIENT}\n        federatedIdentityCredentials:\n          - {{ name: k8s, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\n    userAssignedIdentities:\n      - name: {IDENTITY}\n        clientId: 33333333-0000-4000-8000-000000000003\n        federatedIdentityCredentials: []\n"
        )
    }

    /// An emulator with the management API on (or off), keeping state in `state_file`.
    async fn serve(management_on: bool, state_file: Option<PathBuf>) -> Api {
        let base = Path::new(".");
        let config: DirectoryConfig = serde_saphyr::from_str(&yaml()).unwrap();
        let directory = wif_sts::Directory::from_config(config.clone(), base).unwrap();
        let key = SigningKey::generate(Algorithm::RS256).unwrap();
        let mut registry = prometheus_client::registry::Registry::default();
        let state = if management_on {
            let store = Store::new(config, base.into(), state_file).with_admin_token(ADMIN_TOKEN.into());
            wif_sts::StsState::with_store(directory, key, String::new(), &mut registry, store)
        } else {
            wif_sts::StsState::new(directory, key, String::new(), &mut registry)
        }
        .unwrap();
        let ca = wif_server::pki::LocalCa::new("management test CA").unwrap();
        let cert = ca.issue(&["127.0.0.1"]).unwrap();
        let here = Path::new("test");
        let certified =
            wif_server::tls::certified_key_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes(), here, here)
                .unwrap();
        let loopback = "127.0.0.1:0".parse().unwrap();
        let options =
            wif_server::ServiceOptions::new(loopback, loopback, wif_server::TlsSource::Given(certified), "1.3");
        let bound = wif_server::bind(options, wif_sts::router(Arc::clone(&state)), registry)
            .await
            .unwrap();
        let url = format!("https://{}", bound.address);
        state.set_public_url(&url);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(bound.serve(async move {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap()])
            .build()
            .unwrap();
        Api { url, http, _stop: stop }
    }

    impl Api {
        async fn call(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
            let mut request = self
                .http
                .request(method, format!("{}/v1.0/{path}", self.url))
                .header("authorization", format!("Bearer {token}"));
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/json")
                    .body(body.to_string());
            }
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            let text = answer.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }

        async fn names(&self, path: &str) -> Vec<String> {
            let (status, list) = self.call(reqwest::Method::GET, path, ADMIN_TOKEN, None).await;
            assert_eq!(status, 200, "{list}");
            list["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap().to_owned())
                .collect()
        }
    }

    fn fic(name: &str, audiences: &[&str]) -> Value {
        json!({ "name": name, "issuer": ISSUER, "subject": format!("system:serviceaccount:demo:{name}"), "audiences": audiences })
    }

    const APP: &str = "applications/11111111-0000-4000-8000-000000000001/federatedIdentityCredentials";
    const MI: &str = "userAssignedIdentities/wi-myapp-identity/federatedIdentityCredentials";

    #[tokio::test]
    async fn only_the_admin_token_is_let_in_and_an_api_that_is_off_says_so() {
        let api = serve(true, None).await;
        let same_length = "x".repeat(ADMIN_TOKEN.len());
        for token in [same_length.as_str(), "", "admin-token"] {
            let (status, body) = api.call(reqwest::Method::GET, APP, token, None).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (401, Some("InvalidAuthenticationToken")),
                "{token:?}"
            );
        }
        let off = serve(false, None).await;
        let (status, body) = off.call(reqwest::Method::GET, APP, ADMIN_TOKEN, None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("Request_ResourceNotFound"))
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--admin-token-file"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn identities_have_the_same_routes_and_a_name_is_read_only() {
        let api = serve(true, None).await;
        assert!(api.names(MI).await.is_empty());
        let (status, created) = api
            .call(
                reqwest::Method::POST,
                MI,
                ADMIN_TOKEN,
                Some(fic("mi-cred", &["api://AzureADTokenExchange"])),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(api.names(MI).await, ["mi-cred"]);
        let (status, refused) = api
            .call(
                reqwest::Method::PATCH,
                &format!("{MI}/mi-cred"),
                ADMIN_TOKEN,
                Some(json!({ "name": "renamed" })),
            )
            .await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(
            refused["error"]["message"],
            "Property 'name' is read-only and cannot be changed."
        );
        assert_eq!(api.names(MI).await, ["mi-cred"]);
    }

    #[tokio::test]
    async fn a_change_against_entras_rules_or_a_failed_write_changes_nothing() {
        let dir = std::env::temp_dir().join(format!("wif-sts-it-mgmt-{}", random_uuid().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let state_file = dir.join("state.yaml");
        let api = serve(true, Some(state_file.clone())).await;
        let (status, _) = api
            .call(
                reqwest::Method::POST,
                APP,
                ADMIN_TOKEN,
                Some(fic("second", &["api://AzureADTokenExchange"])),
            )
            .await;
        assert_eq!(status, 201);
        let written = std::fs::read(&state_file).unwrap();

        // Two audiences: Entra allows exactly one.
        let (status, refused) = api
            .call(reqwest::Method::POST, APP, ADMIN_TOKEN, Some(fic("third", &["a", "b"])))
            .await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(api.names(APP).await, ["k8s", "second"], "the directory is unchanged");
        assert_eq!(
            std::fs::read(&state_file).unwrap(),
            written,
            "the state file is unchanged"
        );

        // The state file cannot be written (its folder is a file): 500, and nothing changed.
        std::fs::write(dir.join("blocker"), "a file, not a folder").unwrap();
        let unwritable = serve(true, Some(dir.join("blocker").join("state.yaml"))).await;
        let (status, failed) = unwritable
            .call(
                reqwest::Method::POST,
                APP,
                ADMIN_TOKEN,
                Some(fic("lost", &["api://AzureADTokenExchange"])),
            )
            .await;
        assert_eq!(
            (status, failed["error"]["code"].as_str()),
            (500, Some("Service_InternalServerError")),
            "{failed}"
        );
        assert_eq!(
            unwritable.names(APP).await,
            ["k8s"],
            "an unacknowledged change is not served"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
