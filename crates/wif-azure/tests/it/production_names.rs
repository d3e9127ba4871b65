//! The plane answering as Azure's public hosts (`AzurePlane::production_names`, what
//! `wif up --production-names` runs): through the `CONNECT` front, with real TLS from the local
//! CA, the Azure SDK for Rust's `WorkloadIdentityCredential` with the default authority host
//! and `SecretClient` on `https://<vault>.vault.azure.net` read a secret; Entra's instance
//! discovery, the tenant's metadata, ARM's cloud metadata and the Key Vault challenge carry the
//! production names; any other host, Entra's aliases and the local suffixes included, is
//! refused at the front.

use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use serde_json::Value;

use super::*;

const SUBSCRIPTION: &str = "5ab5c71b-0000-4000-8000-000000000001";
const APP_OBJECT: &str = "0b1ec700-0000-4000-8000-000000000001";
const VAULT: &str = "kv-prod";
const LOGIN: &str = "https://login.microsoftonline.com";

fn yaml(issuers: &str) -> String {
    let vault = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{VAULT}");
    format!(
        r#"tenants:
  - tenantId: {TENANT}
    applications:
      - displayName: reader
        appId: {CLIENT}
        objectId: {APP_OBJECT}
        federatedIdentityCredentials:
          - {{ name: k8s-demo-app, issuer: "{ISSUER}", subject: "system:serviceaccount:demo:app", audiences: [api://AzureADTokenExchange] }}
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
roleAssignments:
  - {{ name: a5519000-0000-4000-8000-0000000000f1, scope: {vault}, roleDefinitionId: 4633458b-17de-408a-b874-0445c86b69e6, principalId: {APP_OBJECT} }}
{issuers}"#
    )
}

struct Azure {
    emulator: wif_sts::LocalEmulator,
    /// Every request through the front, trusting the local CA only.
    through_front: reqwest::Client,
    dir: PathBuf,
}

impl Drop for Azure {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The emulator and plane answering as Azure, and a token file for `demo/app`.
async fn start() -> (Azure, PathBuf) {
    let dir = std::env::temp_dir().join(format!("wif-azure-it-{}", random_uuid().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = wif_issuer::StaticIssuer::create(ISSUER, &dir).unwrap();
    let config = serde_saphyr::from_str(&yaml(&issuer.issuers_section())).unwrap();
    let (directory, plane) = wif_azure::AzurePlane::new(config, dir.clone(), None).unwrap();
    let emulator = wif_sts::Emulator::new(directory)
        .plane(plane.production_names())
        .public_url(LOGIN)
        .start_local()
        .await
        .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, issuer.token("demo", "app").unwrap()).unwrap();
    let through_front = through_front(&emulator);
    (
        Azure {
            emulator,
            through_front,
            dir,
        },
        token_file,
    )
}

async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let answer = client.get(url).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

/// The front's whole answer to `CONNECT host:443`.
async fn connect(front: std::net::SocketAddr, host: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(front).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, format!("CONNECT {host}:443 HTTP/1.1\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut answer)
        .await
        .unwrap();
    answer
}

#[tokio::test]
async fn the_rust_sdk_reads_a_secret_with_its_production_settings() {
    let (azure, token_file) = start().await;
    let transport = || Some(Transport::new(Arc::new(azure.through_front.clone())));
    // Nothing set but the transport: the default cloud, Entra's own authority host.
    let options = WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions {
            client_options: ClientOptions {
                transport: transport(),
                ..ClientOptions::default()
            },
        },
        client_id: Some(CLIENT.into()),
        tenant_id: Some(TENANT.into()),
        token_file_path: Some(token_file),
    };
    let credential = WorkloadIdentityCredential::new(Some(options)).unwrap();
    let options = SecretClientOptions {
        client_options: ClientOptions {
            transport: transport(),
            ..ClientOptions::default()
        },
        ..SecretClientOptions::default()
    };
    let client = SecretClient::new(
        &format!("https://{VAULT}.vault.azure.net"),
        credential.clone(),
        Some(options),
    )
    .unwrap();
    let secret = client.get_secret("greeting", None).await.unwrap().into_model().unwrap();
    assert_eq!(secret.value.as_deref(), Some("hello"));
    let token = credential
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .unwrap();
    let (status, subscriptions) = {
        let answer = azure
            .through_front
            .get("https://management.azure.com/subscriptions?api-version=2022-12-01")
            .bearer_auth(token.token.secret())
            .send()
            .await
            .unwrap();
        (answer.status().as_u16(), answer.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200, "{subscriptions}");
    assert_eq!(
        subscriptions["value"][0]["subscriptionId"], SUBSCRIPTION,
        "{subscriptions}"
    );
}

#[tokio::test]
async fn discovery_metadata_and_challenges_carry_the_production_names() {
    let (azure, _) = start().await;
    let client = &azure.through_front;
    let discovery = |authority: &str| {
        format!(
            "{LOGIN}/common/discovery/instance?api-version=1.1&authorization_endpoint={authority}/{TENANT}/oauth2/v2.0/authorize"
        )
    };
    // Entra's own hosts: Entra's clouds, as Entra lists them.
    let (status, body) = get_json(client, &discovery(LOGIN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["tenant_discovery_endpoint"],
        format!("{LOGIN}/{TENANT}/v2.0/.well-known/openid-configuration")
    );
    assert_eq!(body["metadata"][0]["preferred_network"], "login.microsoftonline.com");
    assert_eq!(body["metadata"][0]["preferred_cache"], "login.windows.net");
    assert_eq!(body["metadata"].as_array().map(Vec::len), Some(5), "{body}");
    // Any other authority: Entra's refusal.
    let (status, body) = get_json(client, &discovery("https://127.0.0.1:8443")).await;
    assert_eq!(
        (status, &body["error"], &body["error_codes"]),
        (400, &Value::from("invalid_instance"), &serde_json::json!([50049])),
        "{body}"
    );

    let (status, body) = get_json(
        client,
        &format!("{LOGIN}/{TENANT}/v2.0/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issuer"], format!("{LOGIN}/{TENANT}/v2.0"));
    assert_eq!(body["token_endpoint"], format!("{LOGIN}/{TENANT}/oauth2/v2.0/token"));

    let (status, body) = get_json(
        client,
        "https://management.azure.com/metadata/endpoints?api-version=2022-09-01",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            &body["name"],
            &body["resourceManager"],
            &body["microsoftGraphResourceId"],
            &body["authentication"]["loginEndpoint"]
        ),
        (
            &Value::from("AzureCloud"),
            &Value::from("https://management.azure.com/"),
            &Value::from("https://graph.microsoft.com/"),
            &Value::from(LOGIN)
        )
    );
    assert_eq!(
        body["suffixes"],
        serde_json::json!({"keyVaultDns": "vault.azure.net", "storage": "core.windows.net"})
    );

    let challenge = client
        .get(format!("https://{VAULT}.vault.azure.net/secrets?api-version=7.4"))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status().as_u16(), 401);
    assert_eq!(
        challenge.headers()["www-authenticate"],
        format!("Bearer authorization=\"{LOGIN}/{TENANT}\", resource=\"https://vault.azure.net\"").as_str()
    );
}

#[tokio::test]
async fn the_front_refuses_every_host_outside_its_list() {
    let (azure, _) = start().await;
    let front = azure.emulator.tunnel_address.unwrap();
    for host in [
        "example.com",
        "login.windows.net",
        "management.core.windows.net",
        "kv-prod.vault.wif.test",
        "evil.management.azure.com",
        "login.microsoftonline.com.evil",
    ] {
        let answer = connect(front, host).await;
        assert!(answer.starts_with("HTTP/1.1 403 Forbidden"), "{host}: {answer}");
        assert!(
            answer.contains("tunnels only to login.microsoftonline.com, management.azure.com, graph.microsoft.com, vault hosts *.vault.azure.net"),
            "{host}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_plane_on_its_own_names_tunnels_to_none_of_azures() {
    let dir = std::env::temp_dir().join(format!("wif-azure-it-{}", random_uuid().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = format!("tenants: [{{tenantId: {TENANT}}}]\n");
    let (emulator, _) = wif_azure::testing::start(&yaml, &dir).await.unwrap();
    for host in [
        "login.microsoftonline.com",
        "management.azure.com",
        "kv-prod.vault.azure.net",
    ] {
        let answer = connect(emulator.tunnel_address.unwrap(), host).await;
        assert!(answer.starts_with("HTTP/1.1 403 Forbidden"), "{host}: {answer}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
