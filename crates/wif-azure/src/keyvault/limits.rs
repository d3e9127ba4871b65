//! What Key Vault accepts in one secret version, and how many versions the plane keeps: the
//! checks [`super::VaultSecrets::set`] makes before a version is stored, so that every version
//! a client was answered 200 for fits the state file the plane reloads at start. The sizes are
//! Key Vault's own (MicrosoftDocs `key-vault/secrets/about-secrets.md`: values up to 25k bytes,
//! `contentType` up to 255 characters, up to 15 tags with a 512-character name and a
//! 512-character value); the version count is the plane's, since Key Vault keeps every version
//! and a file cannot. What the whole state may weigh is [`crate::store`]'s rule.

use super::{KeyVaultError, SecretVersion};

/// The largest secret value Key Vault stores, in bytes ("25k bytes").
pub const MAX_SECRET_BYTES: usize = 25 * 1024;

/// The most tags a secret version carries.
pub const MAX_SECRET_TAGS: usize = 15;

/// The longest tag name, in characters.
pub const MAX_TAG_NAME_CHARS: usize = 512;

/// The longest tag value, in characters.
pub const MAX_TAG_VALUE_CHARS: usize = 512;

/// The longest `contentType`, in characters.
pub const MAX_CONTENT_TYPE_CHARS: usize = 255;

/// The versions kept per secret: setting one more drops the oldest, so a secret rotated in a
/// loop does not grow the state file without end. Key Vault keeps them all; clients read the
/// latest, or a version they were just given, which stays among the newest.
pub const MAX_SECRET_VERSIONS: usize = 25;

/// Refuses a version Key Vault would refuse: its value, content type or tags over the limits.
pub fn check(version: &SecretVersion) -> Result<(), KeyVaultError> {
    if version.value.len() > MAX_SECRET_BYTES {
        return Err(KeyVaultError::TooLarge {
            bytes: version.value.len(),
        });
    }
    if let Some(content_type) = &version.content_type {
        let chars = content_type.chars().count();
        if chars > MAX_CONTENT_TYPE_CHARS {
            return Err(KeyVaultError::ContentTypeTooLong { chars });
        }
    }
    if version.tags.len() > MAX_SECRET_TAGS {
        return Err(KeyVaultError::TooManyTags {
            count: version.tags.len(),
        });
    }
    for (name, value) in &version.tags {
        let chars = name.chars().count();
        if chars > MAX_TAG_NAME_CHARS {
            return Err(KeyVaultError::TagNameTooLong { chars });
        }
        let chars = value.chars().count();
        if chars > MAX_TAG_VALUE_CHARS {
            return Err(KeyVaultError::TagValueTooLong {
                tag: name.clone(),
                chars,
            });
        }
    }
    Ok(())
}

/// Drops the oldest of `versions` (oldest first) beyond [`MAX_SECRET_VERSIONS`].
pub(super) fn prune(versions: &mut Vec<SecretVersion>) {
    let excess = versions.len().saturating_sub(MAX_SECRET_VERSIONS);
    versions.drain(..excess);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::VaultSecrets;
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
}
