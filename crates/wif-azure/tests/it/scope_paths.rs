//! Scopes with `.` or `..` segments against the local ARM over real TLS: in the path (as
//! sent on the wire, which reqwest's URL parser would resolve first, so these requests are
//! written by hand over tokio-rustls) and in a role assignment's body. Each is ARM's 400
//! `InvalidScope`, before any permission is checked, and nothing is stored.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

const SUBSCRIPTION: &str = "5ab5c71b-0000-4000-8000-000000000002";
const APP_OBJECT: &str = "0b1ec700-0000-4000-8000-000000000002";
const SECRETS_USER: &str = "4633458b-17de-408a-b874-0445c86b69e6";

fn yaml(issuers: &str) -> String {
    format!(
        r#"tenants:
  - tenantId: {TENANT}
    applications:
      - displayName: owner
        appId: {CLIENT}
        objectId: {APP_OBJECT}
        federatedIdentityCredentials:
          - {{ name: k8s, issuer: "{ISSUER}", subject: "system:serviceaccount:demo:app", audiences: [api://AzureADTokenExchange] }}
subscriptions:
  - subscriptionId: {SUBSCRIPTION}
    tenantId: {TENANT}
    resourceGroups:
      - {{ name: rg, location: eastus }}
{issuers}"#
    )
}

/// Sends `method path` with `body` over TLS to `address` exactly as written, and answers the
/// status and the JSON body.
async fn raw(address: &str, ca_pem: &str, token: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        <rustls_pki_types::CertificateDer as rustls_pki_types::pem::PemObject>::pem_slice_iter(ca_pem.as_bytes())
    {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector
        .connect(name, TcpStream::connect(address).await.unwrap())
        .await
        .unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let answer = String::from_utf8(answer).unwrap();
    let status = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn scopes_with_dot_segments_are_invalid_scope_and_never_stored() {
    let dir = std::env::temp_dir().join(format!("wif-azure-it-{}", random_uuid().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = wif_issuer::StaticIssuer::create(ISSUER, &dir).unwrap();
    let (emulator, _plane) = wif_azure::testing::start(&yaml(&issuer.issuers_section()), &dir)
        .await
        .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, issuer.token("demo", "app").unwrap()).unwrap();
    let credential = credential(&emulator.url, &emulator.ca_pem, token_file);
    let token = credential
        .get_token(&["https://management.core.windows.net//.default"], None)
        .await
        .unwrap();
    let token = token.token.secret();
    let address = emulator.url.trim_start_matches("https://").trim_end_matches('/');
    let assignment_body = json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER}"),
        "principalId": APP_OBJECT,
        "principalType": "ServicePrincipal",
    }});
    let sub = format!("/subscriptions/{SUBSCRIPTION}");
    let api = "api-version=2022-04-01";
    let assignments = "providers/Microsoft.Authorization/roleAssignments";
    let cases = [
        (
            "PUT",
            format!(
                "{sub}/resourceGroups/rg/../../{assignments}/{}?{api}",
                random_uuid().unwrap()
            ),
            "..",
        ),
        (
            "PUT",
            format!(
                "{sub}/resourceGroups/./rg/{assignments}/{}?{api}",
                random_uuid().unwrap()
            ),
            ".",
        ),
        (
            "PUT",
            format!(
                "{sub}/resourceGroups/rg/%2e%2e/%2E%2E/{assignments}/{}?{api}",
                random_uuid().unwrap()
            ),
            "%2e%2e",
        ),
        ("GET", format!("{sub}/resourceGroups/rg/../{assignments}?{api}"), ".."),
        (
            "GET",
            format!("{sub}/resourceGroups/../providers/Microsoft.Authorization/roleDefinitions?{api}"),
            "..",
        ),
        ("GET", format!("{sub}/resourceGroups/rg/../rg?{api}"), ".."),
        ("DELETE", format!("{sub}/resourceGroups/x/%2e%2e/rg?{api}"), "%2e%2e"),
    ];
    for (method, path, segment) in &cases {
        let body = if *method == "PUT" {
            assignment_body.to_string()
        } else {
            String::new()
        };
        let (status, answer) = raw(address, &emulator.ca_pem, token, method, path, &body).await;
        assert_eq!(status, 400, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "InvalidScope", "{method} {path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("segment '{segment}' is relative")),
            "{message}"
        );
    }

    // In the body too (a template's read-only `properties.scope`), through an ordinary client.
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem.as_bytes()).unwrap();
    let http = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let at_group = |name: &str| format!("{}{sub}/resourceGroups/rg/{assignments}/{name}?{api}", emulator.url);
    let mut in_body = assignment_body.clone();
    in_body["properties"]["scope"] = json!(format!("{sub}/resourceGroups/rg/../.."));
    let refused = http
        .put(at_group(&random_uuid().unwrap()))
        .bearer_auth(token)
        .json(&in_body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "InvalidScope", "{answer}");

    // Nothing was stored; a plain scope still is.
    let list = format!("{}{sub}/{assignments}?{api}", emulator.url);
    let listed: Value = http
        .get(&list)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["value"], json!([]), "{listed}");
    let created = http
        .put(at_group(&random_uuid().unwrap()))
        .bearer_auth(token)
        .json(&assignment_body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let listed: Value = http
        .get(&list)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["value"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(
        listed["value"][0]["properties"]["scope"],
        json!(format!("{sub}/resourceGroups/rg"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
