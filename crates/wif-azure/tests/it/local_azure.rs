//! The local Azure plane against the official Azure SDK for Rust: `azure_security_keyvault_secrets`'
//! `SecretClient` (challenge verification on) reaches a vault host with no DNS through the
//! emulator's CONNECT proxy, is refused with `ForbiddenByRbac` until the workload's app,
//! acting as Owner through ARM with its own token, assigns itself "Key Vault Secrets User",
//! then reads the secret, and still may not write it; its Graph token (with Application.Read.All)
//! reads its own tenant's credentials only.

use azure_core::http::{ClientOptions, Transport};
use azure_security_keyvault_secrets::models::SetSecretParameters;
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};

use super::*;

const SUBSCRIPTION: &str = "5ab5c71b-0000-4000-8000-000000000001";
const APP_OBJECT: &str = "0b1ec700-0000-4000-8000-000000000001";
const VAULT: &str = "kv-rust";
const OTHER_TENANT: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const OTHER_APP: &str = "22222222-0000-4000-8000-000000000002";

fn yaml(issuers: &str) -> String {
    format!(
        r#"tenants:
  - tenantId: {TENANT}
    applications:
      - displayName: reader
        appId: {CLIENT}
        objectId: {APP_OBJECT}
        graphAppRoles: [Application.Read.All]
        federatedIdentityCredentials:
          - {{ name: k8s-demo-app, issuer: "{ISSUER}", subject: "system:serviceaccount:demo:app", audiences: [api://AzureADTokenExchange] }}
  - tenantId: {OTHER_TENANT}
    applications:
      - {{ displayName: elsewhere, appId: {OTHER_APP} }}
subscriptions:
  - subscriptionId: {SUBSCRIPTION}
    tenantId: {TENANT}
    resourceGroups:
      - name: rg
        location: eastus
        keyVaults:
          - name: {VAULT}
            location: eastus
            secrets:
              greeting: {{ name: greeting, versions: [{{ version: 0123456789abcdef0123456789abcdef, value: hello, created: 1700000000 }}] }}
{issuers}"#
    )
}

fn status_of(error: &azure_core::Error) -> Option<u16> {
    match error.kind() {
        azure_core::error::ErrorKind::HttpResponse { status, .. } => Some(u16::from(*status)),
        _ => None,
    }
}

#[tokio::test]
async fn rust_secret_client_reads_a_vault_through_the_connect_proxy_once_rbac_allows() {
    let dir = std::env::temp_dir().join(format!("wif-azure-it-{}", random_uuid().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = wif_issuer::StaticIssuer::create(ISSUER, &dir).unwrap();
    let (emulator, plane) = wif_azure::testing::start(&yaml(&issuer.issuers_section()), &dir)
        .await
        .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, issuer.token("demo", "app").unwrap()).unwrap();
    let credential = credential(&emulator.url, &emulator.ca_pem, token_file);
    let through_proxy = through_front(&emulator);
    let options = SecretClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(through_proxy))),
            ..ClientOptions::default()
        },
        ..SecretClientOptions::default()
    };
    let vault_url = format!("https://{VAULT}.vault.wif.test");
    let client = SecretClient::new(&vault_url, credential.clone(), Some(options)).unwrap();

    // Owner of the subscription (the default caller role) reads no secret.
    let refused = client.get_secret("greeting", None).await.unwrap_err();
    assert_eq!(status_of(&refused), Some(403), "{refused:?}");
    assert!(format!("{refused:?}").contains("ForbiddenByRbac"), "{refused:?}");

    // The app assigns itself Key Vault Secrets User through ARM, with an ARM token.
    let arm_token = credential
        .get_token(&["https://management.core.windows.net//.default"], None)
        .await
        .unwrap();
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem.as_bytes()).unwrap();
    let direct = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let scope = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{VAULT}");
    let assignment = format!(
        "{}{scope}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
        emulator.url,
        random_uuid().unwrap()
    );
    let body = serde_json::json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"),
        "principalId": APP_OBJECT,
        "principalType": "ServicePrincipal",
    }});
    let created = direct
        .put(&assignment)
        .bearer_auth(arm_token.token.secret())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201, "{:?}", created.text().await);

    let secret = client.get_secret("greeting", None).await.unwrap().into_model().unwrap();
    assert_eq!(secret.value.as_deref(), Some("hello"));

    // Secrets User reads; it does not write.
    let parameters = SetSecretParameters {
        value: Some("changed".into()),
        ..SetSecretParameters::default()
    };
    let write = client
        .set_secret("greeting", parameters.try_into().unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(status_of(&write), Some(403), "{write:?}");

    // A Graph token with Application.Read.All reads its own tenant's credentials, and nothing of
    // another tenant.
    let graph_token = credential
        .get_token(&[&format!("{}/.default", emulator.url)], None)
        .await
        .unwrap();
    for (app, expected) in [(CLIENT, 200), (OTHER_APP, 404)] {
        let answer = direct
            .get(format!(
                "{}/v1.0/applications/{app}/federatedIdentityCredentials",
                emulator.url
            ))
            .bearer_auth(graph_token.token.secret())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), expected, "{app}: {:?}", answer.text().await);
    }
    let metrics = &plane.state().unwrap().metrics;
    assert_eq!(metrics.count_of("vault", 403), 2);
    assert_eq!(metrics.count_of("arm", 201), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
