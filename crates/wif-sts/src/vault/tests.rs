use super::*;

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
