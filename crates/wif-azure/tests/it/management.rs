//! The federated-credential management API of an emulator started here, for the tests below.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wif_azure::{AzureConfig, AzurePlane};
use wif_sts::{Directory, Emulator, LocalEmulator};

use super::*;

const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";
const IDENTITY: &str = "wi-myapp-identity";

struct Api {
    url: String,
    http: reqwest::Client,
    _emulator: LocalEmulator,
}

fn yaml() -> String {
    format!(
        "tenants:\n  - tenantId: {TENANT}\n    applications:\n      - displayName: reader\n        appId: {CLIENT}\n        federatedIdentityCredentials:\n          - {{ name: k8s, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\n    userAssignedIdentities:\n      - name: {IDENTITY}\n        clientId: 33333333-0000-4000-8000-000000000003\n        federatedIdentityCredentials: []\n"
    )
}

/// An emulator with the local Azure plane and its admin token (or with no plane at all),
/// keeping state in `state_file`.
async fn serve(management_on: bool, state_file: Option<PathBuf>) -> Api {
    let base = Path::new(".");
    let config: AzureConfig = serde_saphyr::from_str(&yaml()).unwrap();
    let emulator = if management_on {
        let (directory, plane) = AzurePlane::new(config, base.into(), state_file).unwrap();
        Emulator::new(directory).plane(plane.with_admin_token(ADMIN_TOKEN.into()))
    } else {
        Emulator::new(Directory::from_config(config.directory(), base).unwrap())
    }
    .start_local()
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(emulator.ca_pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    Api {
        url: emulator.url.clone(),
        http,
        _emulator: emulator,
    }
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
async fn only_the_admin_token_is_let_in_and_without_the_plane_there_is_no_api() {
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
    // Without the local Azure plane, the emulator serves the token endpoint only.
    let off = serve(false, None).await;
    let (status, body) = off.call(reqwest::Method::GET, APP, ADMIN_TOKEN, None).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");
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
    let dir = std::env::temp_dir().join(format!("wif-azure-it-mgmt-{}", random_uuid().unwrap()));
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
