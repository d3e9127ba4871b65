//! Vault hosts, paths to operations, and an access-policy vault's decisions.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use super::request::Operation;
use super::*;
use crate::keyvault::SecretOperation;

#[test]
fn a_vault_host_is_one_label_under_the_suffix() {
    assert_eq!(
        vault_of_host("myvault.vault.wif.test", "vault.wif.test"),
        Some("myvault")
    );
    assert_eq!(
        vault_of_host("MyVault.VAULT.wif.test:443", ".vault.wif.test"),
        Some("MyVault")
    );
    assert_eq!(vault_of_host("a.b.vault.wif.test", "vault.wif.test"), None);
    assert_eq!(vault_of_host("vault.wif.test", "vault.wif.test"), None);
    assert_eq!(vault_of_host("myvaultxvault.wif.test", "vault.wif.test"), None);
    assert_eq!(vault_of_host("127.0.0.1:8443", "vault.wif.test"), None);
    assert_eq!(vault_of_host("é.vault.wif.test", "vault.wif.test"), Some("é"));
}

#[test]
fn paths_map_to_operations() {
    assert!(matches!(operation(&Method::GET, "/secrets"), Some(Operation::List)));
    assert!(matches!(
        operation(&Method::GET, "/secrets/n/"),
        Some(Operation::Get {
            name: "n",
            version: None
        })
    ));
    assert!(matches!(
        operation(&Method::GET, "/secrets/n/abc"),
        Some(Operation::Get {
            name: "n",
            version: Some("abc")
        })
    ));
    assert!(matches!(
        operation(&Method::PUT, "/secrets/n"),
        Some(Operation::Set { name: "n" })
    ));
    assert!(operation(&Method::PUT, "/secrets/n/v").is_none());
    assert!(operation(&Method::GET, "/keys/k").is_none());
    assert!(operation(&Method::GET, "/secrets/a/b/c").is_none());
}

#[tokio::test]
async fn an_access_policy_vault_grants_what_its_policy_lists() {
    use crate::config::{AccessPolicyConfig, AccessPolicyPermissions, KeyVaultConfig, VaultPlace};
    let principal = "0b1e0000-0000-4000-8000-000000000001";
    let vault = KeyVaultConfig {
        name: "kv-policies".into(),
        location: "eastus".into(),
        enable_rbac_authorization: false,
        access_policies: vec![AccessPolicyConfig {
            object_id: principal.into(),
            tenant_id: None,
            permissions: AccessPolicyPermissions {
                secrets: vec!["Get".into(), "list".into()],
                ..AccessPolicyPermissions::default()
            },
        }],
        sku: "standard".into(),
        tags: Default::default(),
        secrets: Default::default(),
    };
    let place = VaultPlace {
        subscription_id: "5ab5c71b-0000-4000-8000-000000000001".into(),
        resource_group: "rg".into(),
        tenant_id: "aaaaaaaa-0000-4000-8000-00000000000a".into(),
    };
    let caller = |oid: &str| crate::caller::Caller {
        object_id: oid.into(),
        app_id: "c1e00000-0000-4000-8000-000000000001".into(),
        tenant_id: place.tenant_id.clone(),
        roles: Vec::new(),
    };
    let config = crate::config::AzureConfig::default();
    let target = format!("{}/secrets/s", place.vault_id(&vault.name));
    for kind in [SecretOperation::Get, SecretOperation::List] {
        let refused = access::refusal(&config, &vault, &place, &caller(principal), kind, &target);
        assert!(refused.is_none(), "{kind:?} is in the policy");
    }
    for (who, kind) in [
        (principal, SecretOperation::Set),
        ("0b1e0000-0000-4000-8000-000000000002", SecretOperation::Get),
    ] {
        let refused = access::refusal(&config, &vault, &place, &caller(who), kind, &target).expect("refused");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let body = axum::body::to_bytes(refused.into_body(), 64 * 1024).await.unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["innererror"]["code"], "AccessDenied");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("does not have secrets"),
            "{body}"
        );
    }
}
