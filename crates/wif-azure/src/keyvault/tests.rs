//! The secret operations and the words the tutorial's clients read; Key Vault's limits on one
//! secret version, and the versions kept.

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

// Key Vault's limits on one version, and the versions kept.

fn numbered(n: usize, tags: BTreeMap<String, String>) -> SecretVersion {
    SecretVersion {
        version: format!("{n:032x}"),
        value: format!("value {n}"),
        content_type: None,
        tags,
        created: 1_800_000_000,
    }
}

/// `count` tags, each name and value `chars` characters long (of two-byte characters).
fn tags(count: usize, name_chars: usize, value_chars: usize) -> BTreeMap<String, String> {
    (0..count)
        .map(|i| {
            let name = format!("{i:02}{}", "é".repeat(name_chars - 2));
            (name, "ü".repeat(value_chars))
        })
        .collect()
}

#[test]
fn tags_up_to_key_vaults_limits_are_kept_and_one_more_is_refused_with_its_code() {
    let mut vault = VaultSecrets::default();
    let full = tags(MAX_SECRET_TAGS, MAX_TAG_NAME_CHARS, MAX_TAG_VALUE_CHARS);
    vault.set("full", numbered(1, full)).unwrap();
    assert_eq!(vault.get("full", None).unwrap().1.tags.len(), 15);

    let refusals = [
        (numbered(2, tags(16, 4, 4)), KeyVaultError::TooManyTags { count: 16 }),
        (
            numbered(3, tags(1, 513, 1)),
            KeyVaultError::TagNameTooLong { chars: 513 },
        ),
        (
            numbered(4, BTreeMap::from([("env".to_owned(), "x".repeat(513))])),
            KeyVaultError::TagValueTooLong {
                tag: "env".into(),
                chars: 513,
            },
        ),
        (
            SecretVersion {
                content_type: Some("t".repeat(256)),
                ..numbered(5, BTreeMap::new())
            },
            KeyVaultError::ContentTypeTooLong { chars: 256 },
        ),
        (
            SecretVersion {
                value: "x".repeat(MAX_SECRET_BYTES + 1),
                ..numbered(6, BTreeMap::new())
            },
            KeyVaultError::TooLarge {
                bytes: MAX_SECRET_BYTES + 1,
            },
        ),
    ];
    for (new, expected) in refusals {
        let refused = vault.set("full", new).unwrap_err();
        assert_eq!(refused, expected);
        assert_eq!(refused.status_and_code(), (400, "BadParameter"));
        assert!(
            refused.body()["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Property has invalid value")
                || matches!(refused, KeyVaultError::TooLarge { .. }),
            "{refused}"
        );
    }
    assert_eq!(
        vault.get("full", None).unwrap().1.version,
        format!("{:032x}", 1),
        "a refused version leaves the secret as it was"
    );
    let typed = SecretVersion {
        content_type: Some("t".repeat(255)),
        ..numbered(7, BTreeMap::new())
    };
    vault.set("full", typed).unwrap();
}

#[test]
fn only_the_newest_versions_are_kept() {
    let mut vault = VaultSecrets::default();
    let sets = MAX_SECRET_VERSIONS + 5;
    for n in 0..sets {
        vault.set("rotated", numbered(n, BTreeMap::new())).unwrap();
    }
    let (secret, latest) = vault.get("rotated", None).unwrap();
    assert_eq!(secret.versions.len(), MAX_SECRET_VERSIONS);
    assert_eq!(latest.value, format!("value {}", sets - 1));
    let oldest_kept = format!("{:032x}", sets - MAX_SECRET_VERSIONS);
    assert_eq!(secret.versions[0].version, oldest_kept);
    let dropped = format!("{:032x}", sets - MAX_SECRET_VERSIONS - 1);
    assert!(matches!(
        vault.get("rotated", Some(&dropped)),
        Err(KeyVaultError::SecretNotFound { .. })
    ));
    assert!(vault.get("rotated", Some(&oldest_kept)).is_ok());
}
