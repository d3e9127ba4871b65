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
    issuer_key: SigningKey,
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
    let issuer_key = SigningKey::generate(Algorithm::RS256).unwrap();
    std::fs::write(
        dir.join("jwks.json"),
        jwks_of(&[issuer_key.public_key().clone()]).to_pretty_json(),
    )
    .unwrap();
    let yaml = format!(
        "tenants:\n  - tenantId: {TENANT}\n    applications:\n      - displayName: reader\n        appId: {CLIENT}\n        federatedIdentityCredentials:\n          - {{ name: k8s-demo-app, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\nissuers:\n  - {{ issuer: \"{ISSUER}\", jwksFile: jwks.json }}\n"
    );
    let server = wif_sts::LocalEmulator::start(&yaml, &dir).await.unwrap();
    Emulator {
        url: server.url.clone(),
        ca_pem: server.ca_pem.clone(),
        dir,
        issuer_key,
        _server: server,
    }
}

fn token_file(emulator: &Emulator, name: &str, namespace: &str) -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = ProjectedToken {
        issuer: ISSUER.into(),
        namespace: namespace.into(),
        service_account: "app".into(),
        service_account_uid: random_uuid().unwrap(),
        audiences: vec!["api://AzureADTokenExchange".into()],
        issued_at: now,
        expiration_seconds: 3600,
        pod: None,
        jti: random_uuid().unwrap(),
    }
    .sign(&emulator.issuer_key)
    .unwrap();
    let path = emulator.dir.join(name);
    std::fs::write(&path, token).unwrap();
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
    assert!(text.contains("700213"), "{text}");
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
