//! Federated identity credentials (FICs): the model, Entra ID's rules for them, exact
//! matching of an assertion's issuer, audience and subject as Entra does it, and, when
//! nothing matches, a diagnosis in plain words: which credential came closest and exactly
//! how it differs. Pure: the emulator and the doctor both use it.

use serde::{Deserialize, Serialize};

/// One federated identity credential of an application or user-assigned managed identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FederatedCredential {
    /// Unique per parent, 3–120 characters.
    pub name: String,
    /// Must equal the assertion's `iss`, exactly.
    pub issuer: String,
    /// Must equal the assertion's `sub`, exactly.
    pub subject: String,
    /// Exactly one audience, which the assertion's `aud` must contain.
    pub audiences: Vec<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A credential name Entra accepts for the ServiceAccount `namespace`/`name`
/// (`NAMESPACE-NAME`): letters, digits, '-' and '_', starting with a letter or digit, at most
/// 120 characters. The portal's form and the migration suggest the same.
///
/// ```
/// assert_eq!(wif_core::fic::name_for_service_account("shop", "orders.api"), "shop-orders-api");
/// ```
pub fn name_for_service_account(namespace: &str, name: &str) -> String {
    let joined: String = format!("{namespace}-{name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(120)
        .collect();
    joined.trim_start_matches(['-', '_']).to_owned()
}

/// Entra's limit of credentials per application or managed identity.
pub const MAX_CREDENTIALS_PER_PARENT: usize = 20;
/// Entra's limit on issuer, subject, audience and description.
pub const MAX_FIELD_LEN: usize = 600;

/// A credential Entra would refuse to store; the texts follow Graph's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialRuleError {
    /// Name syntax.
    #[error("Federated Identity Credential name '{0}' is invalid.")]
    InvalidName(String),
    /// Audience count.
    #[error("Federated identity credentials must have exactly one audience.")]
    AudienceCount,
    /// An empty or oversized field.
    #[error("Federated identity credential '{name}': {field} must be 1 to {MAX_FIELD_LEN} characters.")]
    FieldLength {
        /// The credential.
        name: String,
        /// The field.
        field: &'static str,
    },
    /// Issuer and subject already used by another credential of the same parent.
    #[error(
        "Issuer and subject combination already exists for this application or managed identity (credential '{existing}')."
    )]
    DuplicateIssuerSubject {
        /// The credential that has them.
        existing: String,
    },
    /// Same name twice.
    #[error("Federated identity credential name '{0}' is already used by this application or managed identity.")]
    DuplicateName(String),
    /// Too many.
    #[error(
        "An application or managed identity can have at most {MAX_CREDENTIALS_PER_PARENT} federated identity credentials."
    )]
    TooMany,
}

/// Entra's name rule: 3–120 characters, alphanumeric, `-` or `_`, starting alphanumeric.
pub fn is_valid_credential_name(name: &str) -> bool {
    (3..=120).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks one credential on its own.
pub fn check_credential(fic: &FederatedCredential) -> Result<(), CredentialRuleError> {
    if !is_valid_credential_name(&fic.name) {
        return Err(CredentialRuleError::InvalidName(fic.name.clone()));
    }
    if fic.audiences.len() != 1 {
        return Err(CredentialRuleError::AudienceCount);
    }
    let fields = [
        ("issuer", fic.issuer.as_str()),
        ("subject", fic.subject.as_str()),
        ("audience", fic.audiences[0].as_str()),
    ];
    for (field, value) in fields {
        if value.is_empty() || value.len() > MAX_FIELD_LEN {
            return Err(CredentialRuleError::FieldLength {
                name: fic.name.clone(),
                field,
            });
        }
    }
    if fic.description.as_ref().is_some_and(|d| d.len() > MAX_FIELD_LEN) {
        return Err(CredentialRuleError::FieldLength {
            name: fic.name.clone(),
            field: "description",
        });
    }
    Ok(())
}

/// Checks the credentials of one parent: each on its own, then count, names and
/// issuer+subject pairs.
pub fn check_credentials(fics: &[FederatedCredential]) -> Result<(), CredentialRuleError> {
    if fics.len() > MAX_CREDENTIALS_PER_PARENT {
        return Err(CredentialRuleError::TooMany);
    }
    for (i, fic) in fics.iter().enumerate() {
        check_credential(fic)?;
        for earlier in &fics[..i] {
            if earlier.name == fic.name {
                return Err(CredentialRuleError::DuplicateName(fic.name.clone()));
            }
            if earlier.issuer == fic.issuer && earlier.subject == fic.subject {
                return Err(CredentialRuleError::DuplicateIssuerSubject {
                    existing: earlier.name.clone(),
                });
            }
        }
    }
    Ok(())
}

/// The claims of an assertion that matching looks at.
#[derive(Debug, Clone, Copy)]
pub struct AssertionClaims<'a> {
    /// `iss`.
    pub issuer: &'a str,
    /// `sub`.
    pub subject: &'a str,
    /// `aud` (a list, as Kubernetes writes it).
    pub audiences: &'a [String],
}

/// Which check failed, in Entra's order: issuer, then audience, then subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MismatchKind {
    /// No credential has this issuer (AADSTS700211).
    Issuer,
    /// Issuer matches, no audience does (AADSTS700212).
    Audience,
    /// Issuer and audience match, subject does not (AADSTS700213).
    Subject,
    /// As [`MismatchKind::Subject`], but a subject matches ignoring case (AADSTS7002138).
    SubjectCaseOnly,
}

/// No credential matched: which check failed, and what came closest, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The failed check.
    pub kind: MismatchKind,
    /// The closest credential's name, if the parent has any.
    pub closest: Option<String>,
    /// How it differs, for a person.
    pub diagnosis: String,
}

/// A claim longer than a credential's field can be ([`MAX_FIELD_LEN`] characters): no
/// credential can match it, so it is refused before any comparison (an attacker's 16 kB `sub`
/// must not cost an edit distance against every credential).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OversizedClaim {
    /// `iss`, `sub` or `aud`.
    pub claim: &'static str,
    /// Its length in characters.
    pub length: usize,
}

impl std::fmt::Display for OversizedClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the token's {} is {} characters long, and a federated identity credential holds at most {MAX_FIELD_LEN}, so none can match it",
            self.claim, self.length
        )
    }
}

/// The first claim over Entra's limit, in matching order (issuer, audience, subject).
pub fn oversized_claim(assertion: &AssertionClaims<'_>) -> Option<OversizedClaim> {
    let over = |claim: &'static str, value: &str| {
        // Bytes bound characters from above: count characters only when the bytes are over.
        (value.len() > MAX_FIELD_LEN)
            .then(|| value.chars().count())
            .filter(|length| *length > MAX_FIELD_LEN)
            .map(|length| OversizedClaim { claim, length })
    };
    over("iss", assertion.issuer)
        .or_else(|| assertion.audiences.iter().find_map(|a| over("aud", a)))
        .or_else(|| over("sub", assertion.subject))
}

/// Whether some credential names exactly this issuer: the only question asked of the
/// directory before the assertion's signature is verified.
pub fn trusts_issuer(fics: &[FederatedCredential], issuer: &str) -> bool {
    fics.iter().any(|f| f.issuer == issuer)
}

/// The issuer of `fics` closest to `issuer` (by edit distance; the first on a tie), whose keys
/// may prove that an assertion with a mistyped issuer (a trailing slash) was still signed by
/// the cluster the credential means. `None` when there are no credentials.
pub fn closest_issuer<'f>(fics: &'f [FederatedCredential], issuer: &str) -> Option<&'f str> {
    let mut best: Option<(&str, usize)> = None;
    for fic in fics {
        if best.is_some_and(|(seen, _)| seen == fic.issuer) {
            continue;
        }
        let distance = crate::mutation::levenshtein(&fic.issuer, issuer);
        if best.is_none_or(|(_, d)| distance < d) {
            best = Some((&fic.issuer, distance));
        }
    }
    best.map(|(issuer, _)| issuer)
}

/// Finds the credential that accepts the assertion (exact, case-sensitive comparisons; the
/// audience must be one of the assertion's), or explains why none does.
pub fn match_credential<'f>(
    fics: &'f [FederatedCredential],
    assertion: &AssertionClaims<'_>,
) -> Result<&'f FederatedCredential, Mismatch> {
    let by_issuer: Vec<&FederatedCredential> = fics.iter().filter(|f| f.issuer == assertion.issuer).collect();
    let audience_ok = |f: &FederatedCredential| f.audiences.iter().any(|a| assertion.audiences.contains(a));
    let by_audience: Vec<&FederatedCredential> = by_issuer.iter().copied().filter(|f| audience_ok(f)).collect();
    if let Some(found) = by_audience.iter().find(|f| f.subject == assertion.subject) {
        return Ok(found);
    }
    let kind = if by_issuer.is_empty() {
        MismatchKind::Issuer
    } else if by_audience.is_empty() {
        MismatchKind::Audience
    } else if by_audience
        .iter()
        .any(|f| f.subject.eq_ignore_ascii_case(assertion.subject))
    {
        MismatchKind::SubjectCaseOnly
    } else {
        MismatchKind::Subject
    };
    let closest = fics.iter().min_by_key(|f| distance(f, assertion));
    let diagnosis = match closest {
        None => "this application or managed identity has no federated identity credentials at all".to_owned(),
        Some(fic) => describe(fic, assertion),
    };
    Err(Mismatch {
        kind,
        closest: closest.map(|f| f.name.clone()),
        diagnosis,
    })
}

fn distance(fic: &FederatedCredential, assertion: &AssertionClaims<'_>) -> (usize, usize) {
    let differs = |a: &str, b: &str| usize::from(a != b);
    let audience_differs = usize::from(!fic.audiences.iter().any(|a| assertion.audiences.contains(a)));
    let count = differs(&fic.issuer, assertion.issuer) + differs(&fic.subject, assertion.subject) + audience_differs;
    let letters = crate::mutation::levenshtein(&fic.issuer, assertion.issuer)
        + crate::mutation::levenshtein(&fic.subject, assertion.subject);
    (count, letters)
}

fn describe(fic: &FederatedCredential, assertion: &AssertionClaims<'_>) -> String {
    let mut differences = Vec::new();
    if fic.issuer != assertion.issuer {
        differences.push(format!(
            "its issuer is '{}' but the token's iss is '{}'{}",
            fic.issuer,
            assertion.issuer,
            explain_issuer(&fic.issuer, assertion.issuer)
        ));
    }
    if !fic.audiences.iter().any(|a| assertion.audiences.contains(a)) {
        let wanted = fic.audiences.first().map(String::as_str).unwrap_or_default();
        differences.push(format!(
            "its audience is '{wanted}' but the token's aud is {:?}{}",
            assertion.audiences,
            explain_audience(wanted, assertion.audiences)
        ));
    }
    if fic.subject != assertion.subject {
        differences.push(format!(
            "its subject is '{}' but the token's sub is '{}'{}",
            fic.subject,
            assertion.subject,
            explain_subject(&fic.subject, assertion.subject)
        ));
    }
    format!(
        "closest federated identity credential is '{}': {}",
        fic.name,
        differences.join("; ")
    )
}

fn explain_issuer(expected: &str, found: &str) -> String {
    issuer_difference(expected, found).map_or_else(String::new, |reason| format!(" ({reason})"))
}

/// How two issuer URLs that should be equal differ, when it is a near miss Entra does not
/// forgive (a trailing slash, letter case, white space, the scheme, a doubled slash); `None`
/// when they are equal or simply different URLs. `expected` is the credential's.
pub fn issuer_difference(expected: &str, found: &str) -> Option<&'static str> {
    if expected == found {
        return None;
    }
    Some(if expected.trim_end_matches('/') == found.trim_end_matches('/') {
        if found.ends_with('/') {
            "they differ only by a trailing slash: the token's issuer ends with '/', the credential's does not (AKS issuers end with '/')"
        } else {
            "they differ only by a trailing slash: the credential's issuer ends with '/', the token's does not"
        }
    } else if expected.eq_ignore_ascii_case(found) {
        "they differ only in letter case, and issuers are compared case-sensitively"
    } else if expected.trim() == found.trim() {
        "they differ only by white space around the URL"
    } else if expected.replacen("http://", "https://", 1) == found.replacen("http://", "https://", 1) {
        "they differ in the scheme (http and https)"
    } else if expected.replace("//", "/") == found.replace("//", "/") {
        "they differ by a doubled slash"
    } else {
        return None;
    })
}

fn explain_audience(expected: &str, found: &[String]) -> String {
    if found.iter().any(|a| a.eq_ignore_ascii_case(expected)) {
        " (the audience differs only in letter case)".into()
    } else if found
        .iter()
        .any(|a| a.trim_end_matches('/') == expected.trim_end_matches('/'))
    {
        " (the audience differs only by a trailing slash)".into()
    } else if expected == crate::contract::DEFAULT_AUDIENCE {
        " (the projected token was requested with another audience: the pod's volume sets it, and the webhook's --audience decides it)".into()
    } else {
        String::new()
    }
}

fn split_subject(subject: &str) -> Option<(&str, &str)> {
    subject.strip_prefix("system:serviceaccount:")?.split_once(':')
}

fn explain_subject(expected: &str, found: &str) -> String {
    if expected.eq_ignore_ascii_case(found) {
        return " (they differ only in letter case, and subjects are compared case-sensitively since 2024-08)".into();
    }
    match (split_subject(expected), split_subject(found)) {
        (Some((ns_e, sa_e)), Some((ns_f, sa_f))) if ns_e != ns_f && sa_e == sa_f => {
            format!(" (the namespace is '{ns_e}' in the credential but '{ns_f}' in the token)")
        }
        (Some((ns_e, sa_e)), Some((ns_f, sa_f))) if ns_e == ns_f && sa_e != sa_f => {
            format!(" (the service account is '{sa_e}' in the credential but '{sa_f}' in the token)")
        }
        (None, Some(_)) => " (a Kubernetes subject has the form system:serviceaccount:NAMESPACE:NAME)".into(),
        _ if expected.trim() == found.trim() => " (they differ only by white space)".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;
