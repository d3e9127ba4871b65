//! Why a token was refused: one variant per attack and per mistake, carrying what a person
//! needs to see which (the kid, the algorithms, the times).

use crate::algorithm::Algorithm;

/// Why a token was refused. Each attack and each mistake has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Over [`super::MAX_TOKEN_BYTES`].
    #[error("token is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not three dot-separated parts, bad base64url, bad JSON, or a claim of the wrong type.
    #[error("malformed token: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// `alg: none`: an unsigned token.
    #[error("unsigned token (alg \"none\") refused")]
    AlgNone,
    /// HS256/384/512: a shared-secret algorithm, never valid against public keys.
    #[error("HMAC algorithm {alg} refused: tokens must be signed with the issuer's private key")]
    HmacAlgorithm {
        /// The header's alg.
        alg: String,
    },
    /// An algorithm this verifier does not know.
    #[error("unsupported algorithm {alg:?}")]
    UnsupportedAlgorithm {
        /// The header's alg.
        alg: String,
    },
    /// A `crit` header: extensions we do not understand must not be ignored.
    #[error("token has critical header extensions {names:?}, which are not supported")]
    CriticalHeader {
        /// The names listed.
        names: Vec<String>,
    },
    /// No key in the JWKS has the token's `kid` (or, without a kid, none fits).
    #[error(
        "no key with kid {} in the issuer's JWKS (it has {available}: {known:?}){}",
        show_kid(kid),
        if skipped.is_empty() { String::new() } else { format!("; left out: {}", skipped.join("; ")) }
    )]
    UnknownKid {
        /// The token's kid.
        kid: Option<String>,
        /// How many keys the JWKS has.
        available: usize,
        /// Their kids.
        known: Vec<String>,
        /// Keys of the document that were left out, and why ([`crate::JwkSet::skipped`]).
        skipped: Vec<String>,
    },
    /// The key with that kid cannot verify anything (`oct`, unknown `kty`, broken fields).
    #[error("key {} is not usable: {reason}", show_kid(kid))]
    UnusableKey {
        /// The kid.
        kid: Option<String>,
        /// Why (its words are in this error's text).
        reason: KeyProblem,
    },
    /// The token's `alg` does not fit the key's type, curve or declared `alg`.
    #[error("algorithm {alg} does not fit key {} ({key})", show_kid(kid))]
    AlgorithmKeyMismatch {
        /// The header's alg.
        alg: Algorithm,
        /// The kid.
        kid: Option<String>,
        /// What the key is.
        key: String,
    },
    /// The signature does not verify: tampered token or wrong key.
    #[error("signature does not verify with key {}", show_kid(kid))]
    BadSignature {
        /// The kid tried.
        kid: Option<String>,
    },
    /// No `exp` claim.
    #[error("token has no exp claim")]
    MissingExp,
    /// `exp` is past, beyond the skew.
    #[error("token expired at {} (now {}, skew {leeway} s)", when(*exp), when(*now))]
    Expired {
        /// exp.
        exp: i64,
        /// now.
        now: i64,
        /// skew.
        leeway: u64,
    },
    /// `nbf` is ahead, beyond the skew.
    #[error("token not valid before {} (now {}, skew {leeway} s)", when(*nbf), when(*now))]
    NotYetValid {
        /// nbf.
        nbf: i64,
        /// now.
        now: i64,
        /// skew.
        leeway: u64,
    },
    /// `iss` differs (exact, case-sensitive comparison).
    #[error("issuer {} is not the expected {expected:?}", show_claim(found))]
    WrongIssuer {
        /// Expected.
        expected: String,
        /// In the token.
        found: Option<String>,
    },
    /// `aud` does not contain the expected audience.
    #[error("audience {found:?} does not contain {expected:?}")]
    WrongAudience {
        /// Expected.
        expected: String,
        /// In the token.
        found: Vec<String>,
    },
    /// `sub` differs.
    #[error("subject {} is not the expected {expected:?}", show_claim(found))]
    WrongSubject {
        /// Expected.
        expected: String,
        /// In the token.
        found: Option<String>,
    },
}

/// A time claim for a person: RFC 3339 and the number itself (what the token holds); the
/// number alone outside the calendar.
fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .map_or_else(|| unix.to_string(), |t| format!("{t} ({unix})"))
}

/// A claim that may be absent, for a person: quoted, or `absent` (never Rust's `Some(..)`).
fn show_claim(claim: &Option<String>) -> String {
    claim
        .as_deref()
        .map_or_else(|| "(absent)".to_owned(), |c| format!("{c:?}"))
}

fn show_kid(kid: &Option<String>) -> String {
    kid.as_deref()
        .map_or_else(|| "(no kid)".to_owned(), |k| format!("{k:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_read_as_words_not_rust() {
        let absent = JwtError::WrongSubject {
            expected: "system:serviceaccount:demo:app".into(),
            found: None,
        };
        assert_eq!(
            absent.to_string(),
            "subject (absent) is not the expected \"system:serviceaccount:demo:app\""
        );
        let other = JwtError::WrongIssuer {
            expected: "https://a/".into(),
            found: Some("https://b/".into()),
        };
        assert_eq!(
            other.to_string(),
            "issuer \"https://b/\" is not the expected \"https://a/\""
        );
        assert!(!other.to_string().contains("Some("));
        let expired = JwtError::Expired {
            exp: 1_760_367_274,
            now: 1_760_367_574,
            leeway: 0,
        };
        assert_eq!(
            expired.to_string(),
            "token expired at 2025-10-13T14:54:34Z (1760367274) (now 2025-10-13T14:59:34Z (1760367574), skew 0 s)"
        );
    }
}

/// Why a JWK cannot verify anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyProblem {
    /// A field the key type needs is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A field is not base64url.
    #[error("{field} is not base64url")]
    NotBase64 {
        /// The field (`n`, `e`, `x`, `y`).
        field: &'static str,
        /// The decoder's reason.
        #[source]
        source: base64::DecodeError,
    },
    /// An RSA modulus under the minimum.
    #[error("the RSA key is {bits} bits; at least {required} are required (Entra refuses smaller keys too)")]
    RsaTooSmall {
        /// Its size.
        bits: usize,
        /// The minimum.
        required: usize,
    },
    /// An EC key without a supported `crv`.
    #[error("unsupported or missing crv")]
    Curve,
    /// EC coordinates of the wrong length for the curve.
    #[error("coordinates must be {len} bytes for {curve}")]
    Coordinates {
        /// The curve's coordinate length.
        len: usize,
        /// The curve.
        curve: &'static str,
    },
    /// A symmetric key: never accepted for tokens signed by someone else.
    #[error("symmetric (oct) keys are never accepted")]
    Symmetric,
    /// A key type this library does not verify with.
    #[error("unsupported kty {0:?}")]
    Kty(String),
}
