//! What Key Vault accepts in one secret version, and how many versions the plane keeps: the
//! checks [`super::VaultSecrets::set`] makes before a version is stored, so that every version
//! a client was answered 200 for fits the state file the plane reloads at start. The sizes are
//! Key Vault's own (MicrosoftDocs `key-vault/secrets/about-secrets.md`: values up to 25k bytes,
//! `contentType` up to 255 characters, up to 15 tags with a 512-character name and a
//! 512-character value); the version count is the plane's, since Key Vault keeps every version
//! and a file cannot. What the whole state may weigh is [`crate::store`]'s rule.

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
