//! The credential rules: does the application or managed identity a workload's ServiceAccount
//! names hold a federated identity credential that accepts the workload's token? Answered by
//! the same match and diagnosis the emulator uses ([`crate::fic::match_credential`]).

use super::facts::ClientCredentials;
use super::input::{Finding, Input, ObjectRef};
use crate::fic::{AssertionClaims, FederatedCredential, MismatchKind, match_credential};
use crate::rules::Rule;

fn credential_ref(owner: &ClientCredentials, name: &str) -> ObjectRef {
    ObjectRef {
        kind: "FederatedIdentityCredential".into(),
        namespace: String::new(),
        name: format!("{name} (on {}, client id {})", owner.owner, owner.client_id),
        source: None,
        document: None,
    }
}

/// The workload's token as Entra ID would see it: the issuer (when known), its subject and
/// the audience the webhook requests.
fn claims<'a>(issuer: &'a str, subject: &'a str, audiences: &'a [String]) -> AssertionClaims<'a> {
    AssertionClaims {
        issuer,
        subject,
        audiences,
    }
}

/// The first credential that accepts the token, or the closest mismatch. With no issuer
/// known, each credential's own issuer is taken as the token's (only subject and audience
/// are judged).
fn matches<'f>(
    credentials: &'f [FederatedCredential],
    issuer: Option<&str>,
    subject: &str,
    audiences: &[String],
) -> Result<&'f FederatedCredential, crate::fic::Mismatch> {
    if let Some(issuer) = issuer {
        return match_credential(credentials, &claims(issuer, subject, audiences));
    }
    let mut first = None;
    for fic in credentials {
        match match_credential(credentials, &claims(&fic.issuer, subject, audiences)) {
            Ok(found) => return Ok(found),
            Err(mismatch) => {
                first.get_or_insert(mismatch);
            }
        }
    }
    Err(first.unwrap_or_else(|| crate::fic::Mismatch {
        kind: MismatchKind::Issuer,
        closest: None,
        diagnosis: "this application or managed identity has no federated identity credentials at all".into(),
    }))
}

/// The rules for one federated workload.
pub(super) fn check(
    input: &Input<'_>,
    all: &[ClientCredentials],
    workload: &ObjectRef,
    service_account: &str,
    client_id: &str,
    subject: &str,
) -> Vec<Finding> {
    let audiences = [input.settings.audience.clone()];
    let audience = &input.settings.audience;
    let issuer_text = input.issuer.unwrap_or("<the cluster's OIDC issuer URL>");
    let wanted = format!("issuer `{issuer_text}`, subject `{subject}`, audience `{audience}`");
    let own: Vec<&ClientCredentials> = all
        .iter()
        .filter(|c| c.client_id.eq_ignore_ascii_case(client_id))
        .collect();
    let fics: Vec<FederatedCredential> = own.iter().flat_map(|c| c.credentials.iter().cloned()).collect();
    if own.is_empty() || fics.is_empty() {
        // Is the workload's credential on another identity?
        for other in all.iter().filter(|c| !c.client_id.eq_ignore_ascii_case(client_id)) {
            if let Ok(found) = matches(&other.credentials, input.issuer, subject, &audiences) {
                return vec![Finding {
                    rule: Rule::CredentialOtherClient,
                    object: workload.clone(),
                    message: format!(
                        "credential '{}' accepts this workload's token, but it is on {} (client id {}), and ServiceAccount {service_account} names client id {client_id}",
                        found.name, other.owner, other.client_id
                    ),
                    fix: format!(
                        "set {} of ServiceAccount {service_account} (metadata.annotations) to {}, or add a credential with {wanted} to client id {client_id}",
                        crate::contract::ANNOTATION_CLIENT_ID,
                        other.client_id
                    ),
                }];
            }
        }
        let what = if own.is_empty() {
            format!("no credentials are given for client id {client_id}")
        } else {
            format!(
                "client id {client_id} ({}) has no federated identity credentials",
                own[0].owner
            )
        };
        return vec![Finding {
            rule: Rule::CredentialsNone,
            object: workload.clone(),
            message: format!("{what}, so Entra ID cannot accept this workload's token (AADSTS70021)"),
            fix: format!("add a federated identity credential to client id {client_id} with {wanted}"),
        }];
    }
    let Err(mismatch) = matches(&fics, input.issuer, subject, &audiences) else {
        return Vec::new();
    };
    let rule = match mismatch.kind {
        MismatchKind::Issuer => Rule::CredentialIssuer,
        MismatchKind::Audience => Rule::CredentialAudience,
        MismatchKind::Subject | MismatchKind::SubjectCaseOnly => Rule::CredentialSubject,
    };
    let closest = mismatch
        .closest
        .as_deref()
        .and_then(|name| fics.iter().find(|f| f.name == name));
    let mut changes = Vec::new();
    if let Some(fic) = closest {
        if let Some(issuer) = input.issuer.filter(|i| *i != fic.issuer) {
            changes.push(format!("the issuer to `{issuer}`"));
        }
        if fic.subject != subject {
            changes.push(format!("the subject to `{subject}`"));
        }
        if !fic.audiences.iter().any(|a| a == audience) {
            changes.push(format!("the audiences to [`{audience}`]"));
        }
    }
    let owner = own[0];
    let fix = match closest {
        Some(fic) if !changes.is_empty() => format!("in credential '{}', set {}", fic.name, changes.join(" and ")),
        _ => format!("add a federated identity credential to client id {client_id} with {wanted}"),
    };
    let object = match closest {
        Some(fic) => credential_ref(owner, &fic.name),
        None => workload.clone(),
    };
    vec![Finding {
        rule,
        object,
        message: format!("{workload}: {}", mismatch.diagnosis),
        fix,
    }]
}
