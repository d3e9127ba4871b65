//! ARM's naming rules for the resources the plane keeps: vaults and storage accounts (globally
//! unique DNS labels), resource groups, user-assigned identities and managed clusters.

/// Whether `name` is a valid vault name: 3–24 characters, letters, digits and dashes,
/// starting with a letter, ending with a letter or digit, no `--`.
pub fn valid_vault_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.contains("--")
}

/// Whether `name` is a valid storage account name: 3–24 characters, lowercase letters and
/// digits only (no dashes: it is one DNS label under every service's host, and Azure refuses
/// upper case rather than folding it).
pub fn valid_storage_account_name(name: &str) -> bool {
    (3..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Whether `name` is a valid resource group name (ARM's rule: 1–90 characters, letters,
/// digits, `_`, `-`, `.`, `(`, `)`, not ending in `.`).
pub fn valid_group_name(name: &str) -> bool {
    (1..=90).contains(&name.len())
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
}

/// Whether `name` is a valid name for a user-assigned identity or managed cluster (3–128
/// characters, letters, digits, `-` and `_`, starting with a letter or digit).
pub fn valid_resource_name(name: &str) -> bool {
    (3..=128).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
