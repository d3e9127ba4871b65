//! The demo's directory and local Azure state: the reader in tenant A and the writer in tenant
//! B trusting the demo issuer, an application with a credential typo, and a subscription with
//! a vault holding one secret.

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
"#
    )
}
