//! The names Blob Storage accepts, by its published rules ("Naming and referencing containers,
//! blobs, and metadata"): containers 3–63 characters of lowercase letters, digits and single
//! hyphens, starting and ending with a letter or digit (`$root`, `$web` and `$logs` besides);
//! blobs 1–1,024 characters in at most 254 path segments; metadata names C# identifiers.
//! Each refusal says which rule, since Storage's own sentence does not.

use super::error::StorageError;

/// Blob Storage's bound on a blob name, in characters.
pub const MAX_BLOB_NAME_CHARS: usize = 1024;
/// Its bound on a blob name's `/`-separated segments.
pub const MAX_BLOB_PATH_SEGMENTS: usize = 254;

/// Checks a container name.
///
/// ```
/// use wif_azure::storage::names::check_container;
/// assert!(check_container("reports-2026").is_ok());
/// assert!(check_container("Reports").is_err());
/// ```
pub fn check_container(name: &str) -> Result<(), StorageError> {
    if matches!(name, "$root" | "$web" | "$logs") {
        return Ok(());
    }
    let length = name.chars().count();
    if !(3..=63).contains(&length) {
        return Err(StorageError::OutOfRangeInput {
            why: format!("a container name is 3 to 63 characters; '{name}' has {length}"),
        });
    }
    let invalid = |rule: &str| {
        Err(StorageError::InvalidResourceName {
            why: format!("container name '{name}': {rule}"),
        })
    };
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return invalid("only lowercase letters, digits and hyphens");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return invalid("it starts and ends with a letter or digit");
    }
    if name.contains("--") {
        return invalid("no two hyphens in a row");
    }
    Ok(())
}

/// Checks a blob name (already percent-decoded).
///
/// ```
/// use wif_azure::storage::names::check_blob;
/// assert!(check_blob("reports/2026/q1.csv").is_ok());
/// assert!(check_blob("").is_err());
/// ```
pub fn check_blob(name: &str) -> Result<(), StorageError> {
    let length = name.chars().count();
    if !(1..=MAX_BLOB_NAME_CHARS).contains(&length) {
        return Err(StorageError::OutOfRangeInput {
            why: format!("a blob name is 1 to {MAX_BLOB_NAME_CHARS} characters; this one has {length}"),
        });
    }
    let segments = name.split('/').count();
    if segments > MAX_BLOB_PATH_SEGMENTS {
        return Err(StorageError::InvalidResourceName {
            why: format!("a blob name has at most {MAX_BLOB_PATH_SEGMENTS} path segments; this one has {segments}"),
        });
    }
    if name.chars().any(char::is_control) {
        return Err(StorageError::InvalidResourceName {
            why: "a blob name has no control characters".into(),
        });
    }
    Ok(())
}

/// Checks a metadata name (`x-ms-meta-NAME`): a C# identifier, at most 256 characters.
pub fn check_metadata_name(name: &str) -> Result<(), StorageError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') || name.len() > 256 {
        return Err(StorageError::InvalidResourceName {
            why: format!(
                "metadata name '{name}': a C# identifier (a letter or '_', then letters, digits or '_'), at most 256 characters"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<(), StorageError>) -> &'static str {
        result.err().map_or("ok", |e| e.code())
    }

    #[test]
    fn container_names_follow_storages_rules() {
        for good in ["abc", "reports-2026", "a1b", "$root", "$web", "$logs", &"a".repeat(63)] {
            assert_eq!(code(check_container(good)), "ok", "{good}");
        }
        for (bad, expected) in [
            ("ab", "OutOfRangeInput"),
            (&"a".repeat(64) as &str, "OutOfRangeInput"),
            ("Reports", "InvalidResourceName"),
            ("-abc", "InvalidResourceName"),
            ("abc-", "InvalidResourceName"),
            ("ab--c", "InvalidResourceName"),
            ("ab_c", "InvalidResourceName"),
            ("$other", "InvalidResourceName"),
        ] {
            assert_eq!(code(check_container(bad)), expected, "{bad}");
        }
    }

    #[test]
    fn blob_names_are_bounded_and_say_which_bound() {
        assert_eq!(code(check_blob("a/b/c.txt")), "ok");
        assert_eq!(code(check_blob(&"x".repeat(1024))), "ok");
        let too_long = check_blob(&"x".repeat(1025)).unwrap_err();
        assert_eq!(too_long.code(), "OutOfRangeInput");
        assert!(
            too_long
                .body("r", "t")
                .contains("1 to 1024 characters; this one has 1025")
        );
        assert_eq!(code(check_blob("")), "OutOfRangeInput");
        assert_eq!(code(check_blob(&"a/".repeat(254))), "InvalidResourceName");
        assert_eq!(code(check_blob("a\u{7}b")), "InvalidResourceName");
    }

    #[test]
    fn metadata_names_are_identifiers() {
        assert_eq!(code(check_metadata_name("owner_1")), "ok");
        assert_eq!(code(check_metadata_name("_x")), "ok");
        for bad in ["1x", "a-b", "", "a b"] {
            assert_eq!(code(check_metadata_name(bad)), "InvalidResourceName", "{bad}");
        }
    }
}
