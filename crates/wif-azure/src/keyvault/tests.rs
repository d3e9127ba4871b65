//! The secret operations and the words the tutorial's clients read.

use super::*;
use crate::rbac::{Assignment, Decision, Plane, evaluate, role_by_name};

fn version(v: &str, value: &str) -> SecretVersion {
    SecretVersion {
        version: v.into(),
        value: value.into(),
        content_type: None,
        tags: BTreeMap::from([("file-encoding".to_owned(), "utf-8".to_owned())]),
        created: 1_800_000_000,
    }
}

#[test]
fn set_get_latest_and_by_version_list_delete() {
    let mut vault = VaultSecrets::default();
    vault
        .set("wid-tuto-password", version("0a".repeat(16).as_str(), "first"))
        .unwrap();
    vault
        .set("WID-tuto-password", version("0b".repeat(16).as_str(), "second"))
        .unwrap();
    let (secret, latest) = vault.get("wid-tuto-password", None).unwrap();
    assert_eq!(
        (secret.name.as_str(), latest.value.as_str()),
        ("wid-tuto-password", "second")
    );
    assert_eq!(
        vault.get("wid-tuto-password", Some("")).unwrap().1.value,
        "second",
        "an empty version is the latest"
    );
    let first = "0a".repeat(16);
    assert_eq!(vault.get("Wid-Tuto-Password", Some(&first)).unwrap().1.value, "first");
    assert_eq!(vault.list().len(), 1);
    let body = bundle("wid-tuto-kv.vault.wif.test:8446", secret, latest, true);
    assert_eq!(
        body["id"],
        format!(
            "https://wid-tuto-kv.vault.wif.test:8446/secrets/wid-tuto-password/{}",
            "0b".repeat(16)
        )
    );
    assert_eq!(body["value"], "second");
    assert_eq!(body["tags"]["file-encoding"], "utf-8");
    assert!(
        bundle("h", secret, latest, false).get("value").is_none(),
        "a list carries no values"
    );
    vault.delete("wid-tuto-password").unwrap();
    let gone = vault.get("wid-tuto-password", None).unwrap_err();
    assert_eq!(gone.status_and_code(), (404, "SecretNotFound"));
    assert!(
        gone.to_string()
            .starts_with("A secret with (name/id) wid-tuto-password was not found in this key vault.")
    );
}

#[test]
fn bad_names_and_values_are_refused_with_key_vaults_codes() {
    let mut vault = VaultSecrets::default();
    for name in ["", "has space", "dot.ted", "ünicode", &"a".repeat(128)] {
        let error = vault.set(name, version(&"0c".repeat(16), "v")).unwrap_err();
        assert!(matches!(error, KeyVaultError::BadName { .. }), "{name:?}");
        assert_eq!(error.body()["error"]["code"], "BadParameter");
    }
    let huge = "x".repeat(MAX_SECRET_BYTES + 1);
    assert!(matches!(
        vault.set("ok", version(&"0d".repeat(16), &huge)),
        Err(KeyVaultError::TooLarge { bytes }) if bytes == MAX_SECRET_BYTES + 1
    ));
    assert_eq!(vault.get("ok", None).unwrap_err().status_and_code().0, 404);
    let missing_version = vault.get("ok", Some("ff")).unwrap_err();
    assert!(missing_version.to_string().contains("(name/id) ok/ff was not found"));
}

#[test]
fn the_challenge_is_what_python_and_go_both_parse() {
    let header = challenge(
        "https://login.microsoftonline.com/",
        "aaaaaaaa-0000-4000-8000-00000000000a",
        "https://vault.azure.net",
    );
    assert_eq!(
        header,
        "Bearer authorization=\"https://login.microsoftonline.com/aaaaaaaa-0000-4000-8000-00000000000a\", resource=\"https://vault.azure.net\""
    );
    assert_eq!(
        missing_token_body()["error"]["message"],
        "AKV10000: Request is missing a Bearer or PoP token."
    );
    assert_eq!(
        wrong_audience_body("https://vault.azure.net", "https://management.azure.com/")["error"]["message"],
        "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://management.azure.com/."
    );
}

#[test]
fn a_get_without_an_assignment_is_forbidden_by_rbac_in_azures_words() {
    let secret = Scope::new(
        "/subscriptions/s/resourceGroups/myRG/providers/Microsoft.KeyVault/vaults/wid-tuto-kv/secrets/wid-tuto-password",
    );
    let action = SecretOperation::Get.data_action();
    assert_eq!(evaluate(&[], "oid", &secret, Plane::Data, action), Decision::Denied);
    let body = forbidden_by_rbac_body(&Refusal {
        app_id: "11111111-0000-4000-8000-000000000001",
        object_id: "oid",
        tenant_id: "aaaaaaaa-0000-4000-8000-00000000000a",
        action,
        resource: &secret,
        vault: "wid-tuto-kv",
        location: "eastus",
    });
    assert_eq!(body["error"]["innererror"]["code"], "ForbiddenByRbac");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Caller is not authorized to perform action on resource.\r\n"));
    assert!(message.contains("Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n"));
    assert!(message.contains("Resource: '/subscriptions/s/resourcegroups/myrg/providers/microsoft.keyvault/vaults/wid-tuto-kv/secrets/wid-tuto-password'"));
    // With the tutorial's assignment the same check passes, and the write still does not.
    let user = Assignment {
        name: "n".into(),
        scope: Scope::new("/subscriptions/s/resourceGroups/myRG/providers/Microsoft.KeyVault/vaults/wid-tuto-kv"),
        role_id: role_by_name("Key Vault Secrets User").unwrap().id.into(),
        principal_id: "oid".into(),
    };
    assert!(matches!(
        evaluate(std::slice::from_ref(&user), "oid", &secret, Plane::Data, action),
        Decision::Allowed { .. }
    ));
    assert_eq!(
        evaluate(&[user], "oid", &secret, Plane::Data, SecretOperation::Set.data_action()),
        Decision::Denied
    );
}
