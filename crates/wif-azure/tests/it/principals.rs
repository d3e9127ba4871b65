//! A local Azure plane with principals of every kind the authorization tests need (an Owner
//! app, Graph-permitted apps, an owner of an app, role-less and Contributor identities, a
//! second tenant with its own subscription), each federated to a ServiceAccount of a static
//! issuer; tokens come from the Rust SDK's `WorkloadIdentityCredential`, as a workload's would.

use std::path::PathBuf;

use azure_core::credentials::TokenCredential;
use serde_json::Value;
use wif_azure::PlaneHandle;
use wif_issuer::StaticIssuer;
use wif_sts::LocalEmulator;

use super::*;

pub const SUBSCRIPTION: &str = "5ab5c71b-0000-4000-8000-000000000001";
pub const OTHER_SUBSCRIPTION: &str = "5ab5c71b-0000-4000-8000-000000000002";
pub const OTHER_TENANT: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
/// Application.ReadWrite.All.
pub const WRITER: &str = "44444444-0000-4000-8000-000000000004";
/// Application.ReadWrite.OwnedBy, owner of `OWNED`.
pub const OWNER: &str = "55555555-0000-4000-8000-000000000005";
pub const OWNER_OBJECT: &str = "0b1ec700-0000-4000-8000-000000000005";
pub const OWNED: &str = "66666666-0000-4000-8000-000000000006";
/// Application.Read.All.
pub const READER: &str = "77777777-0000-4000-8000-000000000007";
/// A managed identity with no role at all.
pub const INTRUDER: &str = "88888888-0000-4000-8000-000000000008";
/// A managed identity, Contributor of the subscription and Secrets Officer of `RBAC_VAULT`.
pub const CONTRIBUTOR: &str = "99999999-0000-4000-8000-000000000009";
pub const CONTRIBUTOR_OBJECT: &str = "0b1ec700-0000-4000-8000-000000000009";
pub const VICTIM_IDENTITY: &str = "victim-identity";
pub const RBAC_VAULT: &str = "kv-rbac";
pub const POLICY_VAULT: &str = "kv-policy";
/// The Secrets Officer assignment of `CONTRIBUTOR` at `RBAC_VAULT`.
pub const OFFICER_ASSIGNMENT: &str = "a5519000-0000-4000-8000-000000000001";

fn yaml(issuers: &str) -> String {
    let fic = |sa: &str| {
        format!(
            "federatedIdentityCredentials: [{{ name: {sa}, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:{sa}\", audiences: [api://AzureADTokenExchange] }}]"
        )
    };
    let vault_scope =
        format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{RBAC_VAULT}");
    format!(
        r#"tenants:
  - tenantId: {TENANT}
    applications:
      - {{ displayName: admin, appId: {CLIENT}, {admin} }}
      - {{ displayName: writer, appId: {WRITER}, graphAppRoles: [Application.ReadWrite.All], {writer} }}
      - {{ displayName: owner, appId: {OWNER}, objectId: {OWNER_OBJECT}, graphAppRoles: [application.readwrite.ownedby], {owner} }}
      - {{ displayName: owned, appId: {OWNED}, owners: [{OWNER_OBJECT}] }}
      - {{ displayName: reader, appId: {READER}, graphAppRoles: [Application.Read.All], {reader} }}
    userAssignedIdentities:
      - {{ name: intruder, clientId: {INTRUDER}, {intruder} }}
      - {{ name: contributor, clientId: {CONTRIBUTOR}, principalId: {CONTRIBUTOR_OBJECT}, {contributor} }}
      - {{ name: {VICTIM_IDENTITY}, clientId: aaaaaaaa-1111-4000-8000-00000000000c }}
  - tenantId: {OTHER_TENANT}
subscriptions:
  - subscriptionId: {SUBSCRIPTION}
    tenantId: {TENANT}
    resourceGroups:
      - name: rg
        location: eastus
        keyVaults:
          - name: {RBAC_VAULT}
            location: eastus
            secrets:
              greeting: {{ name: greeting, versions: [{{ version: 0123456789abcdef0123456789abcdef, value: hello, created: 1700000000 }}] }}
          - name: {POLICY_VAULT}
            location: eastus
            enableRbacAuthorization: false
            accessPolicies: [{{ objectId: {OWNER_OBJECT}, permissions: {{ secrets: [get] }} }}]
  - subscriptionId: {OTHER_SUBSCRIPTION}
    tenantId: {OTHER_TENANT}
    resourceGroups: [{{ name: rg-b, location: eastus }}]
roleAssignments:
  - {{ name: a5519000-0000-4000-8000-000000000002, scope: /subscriptions/{SUBSCRIPTION}, roleDefinitionId: b24988ac-6180-42a0-ab88-20f7382dd24c, principalId: {CONTRIBUTOR_OBJECT} }}
  - {{ name: {OFFICER_ASSIGNMENT}, scope: {vault_scope}, roleDefinitionId: b86a8fe4-44ce-4948-aee5-eccb2c155cd7, principalId: {CONTRIBUTOR_OBJECT} }}
{issuers}"#,
        admin = fic("admin"),
        writer = fic("writer"),
        owner = fic("owner"),
        reader = fic("reader"),
        intruder = fic("intruder"),
        contributor = fic("contributor"),
    )
}

/// The plane, its issuer, and a client trusting its CA (direct, and through the vault proxy).
pub struct Plane {
    pub url: String,
    pub handle: PlaneHandle,
    pub direct: reqwest::Client,
    pub through_proxy: reqwest::Client,
    ca_pem: String,
    issuer: StaticIssuer,
    dir: PathBuf,
    _emulator: LocalEmulator,
}

/// A surface's token scope.
pub enum For {
    Arm,
    Graph,
    Vault,
}

impl Plane {
    pub async fn start() -> Plane {
        let dir = std::env::temp_dir().join(format!("wif-azure-it-authz-{}", random_uuid().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let issuer = StaticIssuer::create(ISSUER, &dir).unwrap();
        let (emulator, handle) = wif_azure::testing::start(&yaml(&issuer.issuers_section()), &dir)
            .await
            .unwrap();
        let ca = || reqwest::Certificate::from_pem(emulator.ca_pem.as_bytes()).unwrap();
        let direct = reqwest::Client::builder().tls_certs_only([ca()]).build().unwrap();
        let through_proxy = through_front(&emulator);
        Plane {
            url: emulator.url.clone(),
            handle,
            direct,
            through_proxy,
            ca_pem: emulator.ca_pem.clone(),
            issuer,
            dir,
            _emulator: emulator,
        }
    }

    /// A token for `client` (federated to ServiceAccount `demo/<sa>`) in `TENANT`.
    pub async fn token(&self, client: &str, sa: &str, surface: For) -> String {
        let token_file = self.dir.join(format!("token-{sa}"));
        std::fs::write(&token_file, self.issuer.token("demo", sa).unwrap()).unwrap();
        let credential = credential_as(&self.url, &self.ca_pem, token_file, client, TENANT);
        let scope = match surface {
            For::Arm => "https://management.core.windows.net//.default".to_owned(),
            For::Graph => format!("{}/.default", self.url),
            For::Vault => "https://vault.wif.test/.default".to_owned(),
        };
        let token = credential.get_token(&[&scope], None).await.unwrap();
        token.token.secret().to_owned()
    }

    /// A request to the emulator's origin (ARM, Graph) or, for a `https://V.vault.wif.test`
    /// URL, through the vault proxy; the status and the JSON answer.
    pub async fn call(&self, method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let (client, url) = if url.starts_with("https://") {
            (&self.through_proxy, url.to_owned())
        } else {
            (&self.direct, format!("{}{url}", self.url))
        };
        let mut request = client.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The stored state.
    pub async fn state(&self) -> wif_azure::AzureConfig {
        self.handle.state().unwrap().store.config.lock().await.clone()
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The error code of a Graph, ARM or Key Vault answer.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}
