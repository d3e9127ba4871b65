//! The demo's directory and local Azure state: the reader in tenant A and the writer in tenant
//! B trusting the demo issuer, an application with a credential typo, a subscription in tenant A
//! with a vault holding one secret and a storage account holding the reader's input, and one in
//! tenant B with the writer's storage account (seed 000).

use super::context::{READER_CLIENT, TENANT_A, TENANT_B, TYPO_CLIENT, WRITER_CLIENT};

/// The emulator's directory for the demo: the reader in tenant A and the writer in tenant B
/// trust the demo issuer for `demo/app`; a third application carries a typo in its credential.
pub(super) fn demo_directory(issuer: &str) -> String {
    format!(
        r#"
tenants:
  - tenantId: {TENANT_A}
    domain: contoso.onmicrosoft.com
    applications:
      - displayName: reader
        appId: {READER_CLIENT}
        objectId: {READER_OBJECT}
        federatedIdentityCredentials:
          - {{ name: k8s-demo-app, issuer: "{issuer}", subject: "system:serviceaccount:demo:app", audiences: [api://AzureADTokenExchange] }}
      - displayName: typo
        appId: {TYPO_CLIENT}
        federatedIdentityCredentials:
          - {{ name: k8s-demo-typo, issuer: "{issuer}", subject: "system:serviceaccount:demos:app", audiences: [api://AzureADTokenExchange] }}
  - tenantId: {TENANT_B}
    domain: fabrikam.onmicrosoft.com
    applications:
      - displayName: writer
        appId: {WRITER_CLIENT}
        objectId: {WRITER_OBJECT}
        federatedIdentityCredentials:
          - {{ name: k8s-demo-app, issuer: "{issuer}", subject: "system:serviceaccount:demo:app", audiences: [api://AzureADTokenExchange] }}
issuers:
  - issuer: "{issuer}"
    caFile: issuer-ca.pem
{}"#,
        subscriptions_section()
    )
}

/// The subscription, group, vault and secret the demo's directory seeds (see
/// [`demo_directory`]).
pub(crate) const SUBSCRIPTION: &str = "5ab5c71b-0000-4000-8000-00000000000a";
pub(crate) const VAULT: &str = "kv-demo";
pub(crate) const SECRET: &str = "db-password";
pub(crate) const SECRET_VALUE: &str = "correct horse battery staple";
/// Seed 000's storage: the reader's account in tenant A (holding its input), the writer's in B.
pub(crate) const SUBSCRIPTION_B: &str = "5ab5c71b-0000-4000-8000-00000000000b";
pub(crate) const READ_ACCOUNT: &str = "stdemoread";
pub(crate) const WRITE_ACCOUNT: &str = "stdemowrite";
pub(crate) const INPUT_BLOB: &str = "input/report.csv";
pub(crate) const INPUT_CONTENT: &str = "id,status\n1,ok\n2,late\n";
pub(crate) const READER_OBJECT: &str = "0b1ec700-0000-4000-8000-00000000000a";
pub(crate) const WRITER_OBJECT: &str = "0b1ec700-0000-4000-8000-00000000000b";
const BLOB_READER_ROLE: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
const BLOB_CONTRIBUTOR_ROLE: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

/// The directory's `subscriptions:` section for the demo.
pub(crate) fn subscriptions_section() -> String {
    format!(
        r#"subscriptions:
  - subscriptionId: {SUBSCRIPTION}
    tenantId: {TENANT_A}
    resourceGroups:
      - name: demo
        location: eastus
        keyVaults:
          - name: {VAULT}
            location: eastus
            secrets:
              {SECRET}: {{ name: {SECRET}, versions: [{{ version: 0123456789abcdef0123456789abcdef, value: "{SECRET_VALUE}", created: 1700000000 }}] }}
        storageAccounts:
          - name: {READ_ACCOUNT}
            location: eastus
            containers: [{{ name: input, blobs: [{{ name: report.csv, content: "{content}", contentType: text/csv }}] }}]
  - subscriptionId: {SUBSCRIPTION_B}
    tenantId: {TENANT_B}
    resourceGroups:
      - name: demo
        location: westeurope
        storageAccounts:
          - {{ name: {WRITE_ACCOUNT}, location: westeurope }}
roleAssignments:
  - {{ name: 0a55a55a-0000-4000-8000-0000000000a1, scope: "/subscriptions/{SUBSCRIPTION}/resourceGroups/demo/providers/Microsoft.Storage/storageAccounts/{READ_ACCOUNT}", roleDefinitionId: "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_READER_ROLE}", principalId: {READER_OBJECT}, principalType: ServicePrincipal }}
  - {{ name: 0a55a55a-0000-4000-8000-0000000000b1, scope: "/subscriptions/{SUBSCRIPTION_B}/resourceGroups/demo/providers/Microsoft.Storage/storageAccounts/{WRITE_ACCOUNT}", roleDefinitionId: "/subscriptions/{SUBSCRIPTION_B}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_CONTRIBUTOR_ROLE}", principalId: {WRITER_OBJECT}, principalType: ServicePrincipal }}
"#,
        content = INPUT_CONTENT.replace('\n', "\\n")
    )
}
