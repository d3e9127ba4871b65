//! The local Azure plane started in-process over real TLS on 127.0.0.1, against clients nobody
//! here wrote (the Azure SDK for Rust) and its management API's own tests. One test binary.

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{ClientAssertionCredentialOptions, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions};
use wif_jose::kubernetes::random_uuid;

mod blob_plane;
mod graph_permissions;
mod local_azure;
mod management;
mod principals;
mod production_names;
mod scope_paths;
mod state_file;
mod storage_accounts;
mod vault_permissions;

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const CLIENT: &str = "11111111-0000-4000-8000-000000000001";
const ISSUER: &str = "https://oidc.example/cluster-1/";

/// A client that reaches every host through `emulator`'s `CONNECT` front, trusting its CA only.
fn through_front(emulator: &wif_sts::LocalEmulator) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem.as_bytes()).unwrap();
    let proxy = reqwest::Proxy::https(format!("http://{}", emulator.tunnel_address.unwrap())).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .proxy(proxy)
        .build()
        .unwrap()
}

/// A `WorkloadIdentityCredential` of the Rust SDK for `CLIENT` in `TENANT`, trusting `ca_pem`,
/// reading `token_file`.
fn credential(url: &str, ca_pem: &str, token_file: PathBuf) -> Arc<WorkloadIdentityCredential> {
    credential_as(url, ca_pem, token_file, CLIENT, TENANT)
}

/// A `WorkloadIdentityCredential` of the Rust SDK for `client` in `tenant`.
fn credential_as(
    url: &str,
    ca_pem: &str,
    token_file: PathBuf,
    client: &str,
    tenant: &str,
) -> Arc<WorkloadIdentityCredential> {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    let http = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = url.to_owned();
    let client_options = ClientOptions {
        transport: Some(Transport::new(Arc::new(http))),
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        ..ClientOptions::default()
    };
    let options = WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions { client_options },
        client_id: Some(client.into()),
        tenant_id: Some(tenant.into()),
        token_file_path: Some(token_file),
    };
    WorkloadIdentityCredential::new(Some(options)).unwrap()
}
