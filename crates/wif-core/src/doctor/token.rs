//! The token rules: a projected token's claims (the CLI decodes it) against the time, the
//! audience the credentials expect, the manifests' ServiceAccounts and the credentials; and
//! what the cluster's issuer serves (the CLI fetches it) against the token.

use super::facts::{ClientCredentials, IssuerFacts, TokenFacts};
use super::input::{Finding, Input, ObjectRef};
use crate::fic::{AssertionClaims, match_credential};
use crate::rules::Rule;

fn token_ref(token: &TokenFacts) -> ObjectRef {
    ObjectRef {
        kind: "Token".into(),
        namespace: String::new(),
        name: token.source.clone(),
        source: None,
        document: None,
    }
}

fn finding(rule: Rule, object: &ObjectRef, message: String, fix: String) -> Finding {
    Finding {
        rule,
        object: object.clone(),
        message,
        fix,
    }
}

/// The token's own rules, and the credentials against its real claims when the manifests do
/// not say whose it is.
pub(super) fn check_token(input: &Input<'_>, token: &TokenFacts) -> Vec<Finding> {
    let here = token_ref(token);
    let mut findings = Vec::new();
    if let Some(expires_at) = token.expires_at.filter(|e| *e <= input.now) {
        findings.push(finding(
            Rule::TokenExpired,
            &here,
            format!(
                "the token expired {} s ago (exp {expires_at}, now {})",
                input.now - expires_at,
                input.now
            ),
            "use the file kubelet keeps current in a running pod (it rewrites it at 80% of the token's life), or request a new token (kubectl create token)".into(),
        ));
    }
    let audience = &input.settings.audience;
    if !token.audiences.iter().any(|a| a == audience) {
        findings.push(finding(
            Rule::TokenAudience,
            &here,
            format!(
                "the token's audiences are {:?}; the credentials expect `{audience}`",
                token.audiences
            ),
            format!("project the token with audience `{audience}` (the webhook does unless told another --audience)"),
        ));
    }
    let workload = token
        .subject
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'));
    let known = workload.is_some_and(|(ns, sa)| service_accounts(input).any(|(n, s)| n == ns && s == sa));
    if !input.documents.is_empty() && !known {
        findings.push(finding(
            Rule::TokenServiceAccountUnknown,
            &here,
            format!(
                "the token's subject `{}` names no ServiceAccount of the manifests",
                token.subject
            ),
            "check the token file is the one of the pod you mean, or pass its manifests".into(),
        ));
    }
    if !known && let Some(credentials) = input.credentials {
        findings.extend(match_anywhere(token, credentials, &here));
    }
    findings
}

/// ServiceAccounts (namespace, name) named by the manifests' ServiceAccount objects.
fn service_accounts<'a>(input: &'a Input<'_>) -> impl Iterator<Item = (String, String)> + 'a {
    input
        .documents
        .iter()
        .filter(|d| d.value.get("kind").and_then(|k| k.as_str()) == Some("ServiceAccount"))
        .map(|d| crate::manifest::namespace_and_name(&d.value, input.default_namespace))
}

/// With no manifests to say whose token it is: does any identity accept it? If none does,
/// the closest one's diagnosis.
fn match_anywhere(token: &TokenFacts, credentials: &[ClientCredentials], here: &ObjectRef) -> Vec<Finding> {
    let claims = AssertionClaims {
        issuer: &token.issuer,
        subject: &token.subject,
        audiences: &token.audiences,
    };
    let mut best: Option<(&ClientCredentials, crate::fic::Mismatch)> = None;
    for owner in credentials {
        match match_credential(&owner.credentials, &claims) {
            Ok(_) => return Vec::new(),
            Err(mismatch) => {
                if best.is_none()
                    || mismatch.closest.is_some() && best.as_ref().is_some_and(|(_, m)| m.closest.is_none())
                {
                    best = Some((owner, mismatch));
                }
            }
        }
    }
    let Some((owner, mismatch)) = best else {
        return Vec::new();
    };
    let rule = match mismatch.kind {
        crate::fic::MismatchKind::Issuer => Rule::CredentialIssuer,
        crate::fic::MismatchKind::Audience => Rule::CredentialAudience,
        _ => Rule::CredentialSubject,
    };
    vec![finding(
        rule,
        here,
        format!(
            "no credential accepts this token; on {} (client id {}): {}",
            owner.owner, owner.client_id, mismatch.diagnosis
        ),
        format!(
            "add a credential with issuer `{}`, subject `{}`, audience `{}` to the identity the workload uses",
            token.issuer,
            token.subject,
            token.audiences.first().map(String::as_str).unwrap_or_default()
        ),
    )]
}

/// What the issuer serves, against the token (or `--issuer-url`).
pub(super) fn check_issuer(input: &Input<'_>, facts: &IssuerFacts) -> Vec<Finding> {
    let issuer = input.issuer.unwrap_or_default();
    let here = ObjectRef {
        kind: "Issuer".into(),
        namespace: String::new(),
        name: issuer.to_owned(),
        source: None,
        document: None,
    };
    match facts {
        IssuerFacts::Unreachable { url, reason } => vec![finding(
            Rule::IssuerUnreachable,
            &here,
            format!("{url} cannot be fetched: {reason}"),
            "serve the discovery document and the JWKS over HTTPS where Entra ID can reach them (wif issuer serve, a storage bucket, or the cloud's issuer)".into(),
        )],
        IssuerFacts::Untrusted { url, ca_file } => {
            let signer = match ca_file {
                None => "not signed by a CA this machine trusts".to_owned(),
                Some(ca) => format!("signed neither by the CA in {ca} nor by one this machine trusts"),
            };
            vec![finding(
                Rule::IssuerUnreachable,
                &here,
                format!("{url} cannot be fetched: the issuer's certificate is {signer}: pass its CA with --ca-file FILE"),
                "pass the CA that signed the issuer's certificate with --ca-file FILE (for wif issuer serve, the file its --self-signed-ca-out wrote); the issuer Entra ID fetches needs a certificate from a public CA".into(),
            )]
        }
        IssuerFacts::Fetched {
            discovery_issuer,
            jwks_uri,
            kids,
        } => {
            let mut findings = Vec::new();
            if discovery_issuer != issuer {
                findings.push(finding(
                    Rule::IssuerMismatch,
                    &here,
                    format!("the discovery document says issuer `{discovery_issuer}`, the token `{issuer}`"),
                    format!("make them equal, exactly: the API server's --service-account-issuer and the document's issuer (`{issuer}`)"),
                ));
            }
            if let Some(kid) = input.token.and_then(|t| t.kid.as_deref())
                && !kids.iter().any(|k| k == kid)
            {
                findings.push(finding(
                    Rule::IssuerKeyMissing,
                    &here,
                    format!("the token's kid `{kid}` is not in {jwks_uri} (it has {})", kids.join(", ")),
                    "publish the current service-account public key in the JWKS (wif jwks --public-keys sa.pub)".into(),
                ));
            }
            findings
        }
    }
}
