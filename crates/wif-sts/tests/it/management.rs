//! The management API of an emulator started here, for the tests below.

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
        wif_server::tls::certified_key_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes(), here, here).unwrap();
    let loopback = "127.0.0.1:0".parse().unwrap();
    let options = wif_server::ServiceOptions::new(loopback, loopback, wif_server::TlsSource::Given(certified), "1.3");
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
