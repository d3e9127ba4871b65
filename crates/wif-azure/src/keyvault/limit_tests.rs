//! Key Vault's limits on one secret version, and the versions kept.

use std::collections::BTreeMap;

use super::*;

fn version(n: usize, tags: BTreeMap<String, String>) -> SecretVersion {
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
    vault.set("full", version(1, full)).unwrap();
    assert_eq!(vault.get("full", None).unwrap().1.tags.len(), 15);

    let refusals = [
        (version(2, tags(16, 4, 4)), KeyVaultError::TooManyTags { count: 16 }),
        (
            version(3, tags(1, 513, 1)),
            KeyVaultError::TagNameTooLong { chars: 513 },
        ),
        (
            version(4, BTreeMap::from([("env".to_owned(), "x".repeat(513))])),
            KeyVaultError::TagValueTooLong {
                tag: "env".into(),
                chars: 513,
            },
        ),
        (
            SecretVersion {
                content_type: Some("t".repeat(256)),
                ..version(5, BTreeMap::new())
            },
            KeyVaultError::ContentTypeTooLong { chars: 256 },
        ),
        (
            SecretVersion {
                value: "x".repeat(MAX_SECRET_BYTES + 1),
                ..version(6, BTreeMap::new())
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
        ..version(7, BTreeMap::new())
    };
    vault.set("full", typed).unwrap();
}

#[test]
fn only_the_newest_versions_are_kept() {
    let mut vault = VaultSecrets::default();
    let sets = MAX_SECRET_VERSIONS + 5;
    for n in 0..sets {
        vault.set("rotated", version(n, BTreeMap::new())).unwrap();
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
