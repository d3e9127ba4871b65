//! The token exchange, as pure steps around the one I/O it needs (the issuer's keys):
//! [`prepare`] parses the form, finds tenant and principal, decodes the assertion and picks
//! the issuer whose keys must verify it; the caller fetches that issuer's JWKS; [`verify`]
//! checks the signature and is the only maker of a [`Verified`]; [`finish`] takes one and
//! checks time window, audience, subject and scope, in that order, and returns the grant.
//! Every refusal is the Entra error a real client would see, with a diagnosis.
//!
//! Order (Entra's real order is undocumented; this one matches the codes seen in practice):
//! method, tenant, form, grant type, client id, credential, principal, assertion syntax,
//! claim sizes, Entra-issued assertion, issuer (700211), metadata and keys (50166, 7000272,
//! 700027, 5002730), time (700024), audience (700212), subject (700213/7002138), scope.
//!
//! What a caller learns of the directory depends on what it proved. Before the signature is
//! verified, the only question asked of the directory is "does a credential name this exact
//! issuer"; listings (tenants, applications) go to the emulator's log, never to the caller.
//! An assertion whose issuer no credential names is checked against the keys of the closest
//! issuer a credential does name: when it verifies (the cluster is the one meant, the
//! credential has a typo such as a trailing slash) the refusal says how the two differ;
//! when it does not, the caller gets Entra's words and nothing more.

mod form;
mod stages;
mod verified;

pub use form::Form;
use stages::principal_label;
pub use stages::{Endpoint, Grant, Prepared};
pub use verified::{Verified, verify};

use wif_core::fic::{AssertionClaims, MismatchKind, closest_issuer, match_credential, oversized_claim, trusts_issuer};
use wif_jose::{JwtError, Validation, decode_unverified};

use crate::directory::{Directory, is_tenant_identifier};
use crate::errors::EntraError;

/// The parameters a token request may carry once only.
pub const SINGLE_VALUED: [&str; 7] = [
    "grant_type",
    "client_id",
    "scope",
    "resource",
    "client_assertion_type",
    "client_assertion",
    "client_secret",
];

/// The assertion type every federated client sends.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew tolerated on the assertion's `exp` and `nbf`.
pub const ASSERTION_SKEW_SECONDS: u64 = 300;

/// Whether `issuer` is an Entra token service: one of Entra's hosts, or this emulator. Origins
/// (scheme, host, port) are compared whole, so an issuer on port 18443 is not the emulator on
/// port 1844, and `https://127.0.0.1` is not `https://127.0.0.1:8443`.
fn is_entra_issuer(issuer: &str, own_base: &str) -> bool {
    let Ok(url) = url::Url::parse(issuer) else {
        return false;
    };
    let origin = url.origin();
    [
        "https://sts.windows.net",
        "https://login.microsoftonline.com",
        "https://login.windows.net",
        own_base,
    ]
    .iter()
    .filter_map(|base| url::Url::parse(base).ok())
    .any(|entra| entra.origin() == origin)
}

/// Steps up to the choice of keys. `own_base` is this emulator's public URL (its tokens are
/// refused as assertions, as Entra refuses its own).
pub fn prepare<'d>(
    directory: &'d Directory,
    endpoint: Endpoint,
    tenant_segment: &str,
    form: &Form,
    own_base: &str,
) -> Result<Prepared<'d>, EntraError> {
    if !is_tenant_identifier(tenant_segment) {
        return Err(EntraError::bad_tenant_identifier(tenant_segment).with_diagnosis(
            "client credentials need a tenant GUID or domain in the URL; 'common' and 'organizations' do not work for them",
        ));
    }
    let tenant = directory.tenant(tenant_segment).ok_or_else(|| {
        let known: Vec<&str> = directory.tenants.iter().map(|t| t.id.as_str()).collect();
        EntraError::unknown_tenant(tenant_segment)
            .with_diagnosis("the emulator's directory has no such tenant (its log lists the tenants it has)")
            .with_log_detail(format!("the directory has tenants {known:?}"))
    })?;
    if let Some(name) = form.duplicated(&SINGLE_VALUED) {
        return Err(EntraError::duplicated_parameter(name).with_diagnosis(format!(
            "the form carries {name} more than once; Entra refuses it rather than pick one"
        )));
    }
    if form.required("grant_type")? != "client_credentials" {
        return Err(EntraError::unsupported_grant_type()
            .with_diagnosis("workload identity federation uses grant_type=client_credentials"));
    }
    let client_id = form.required("client_id")?;
    let requested = match endpoint {
        Endpoint::V2 => {
            if form.get("resource").is_some() {
                return Err(EntraError::resource_on_v2().with_diagnosis(
                    "the v2.0 endpoint takes scope=RESOURCE/.default; resource= belongs to /oauth2/token (v1)",
                ));
            }
            form.required("scope")?.to_owned()
        }
        Endpoint::V1 => form.required("resource")?.to_owned(),
    };
    let Some(assertion_text) = form.get("client_assertion").filter(|a| !a.is_empty()) else {
        if form.get("client_secret").is_some() {
            return Err(EntraError::secret_not_supported().with_diagnosis(
                "the emulator's principals have no secrets: send the projected token as client_assertion",
            ));
        }
        return Err(EntraError::no_credential());
    };
    if form.get("client_assertion_type") != Some(JWT_BEARER) {
        return Err(EntraError::missing_parameter("client_assertion_type")
            .with_diagnosis(format!("client_assertion_type must be {JWT_BEARER}")));
    }
    let principal = tenant.principal(client_id).ok_or_else(|| {
        let known: Vec<String> = tenant
            .principals
            .iter()
            .map(|p| format!("{} ({})", p.client_id, p.name))
            .collect();
        EntraError::unknown_client(client_id, &tenant.id)
            .with_diagnosis(format!(
                "tenant {} has no application or managed identity with this client id (the emulator's log lists those it has)",
                tenant.id
            ))
            .with_log_detail(format!(
                "tenant {} has {}",
                tenant.id,
                if known.is_empty() {
                    "no applications or managed identities".into()
                } else {
                    known.join(", ")
                }
            ))
    })?;
    // Python SDKs send the token file verbatim, trailing newline included; Entra accepts it.
    let assertion = decode_unverified(assertion_text.trim())
        .map_err(|e| EntraError::malformed_assertion().with_diagnosis(e.to_string()))?;
    let issuer = assertion.claim_str("iss").unwrap_or_default().to_owned();
    let audiences = assertion.audiences();
    let claims = AssertionClaims {
        issuer: &issuer,
        subject: assertion.claim_str("sub").unwrap_or_default(),
        audiences: &audiences,
    };
    if let Some(oversized) = oversized_claim(&claims) {
        let error = match oversized.claim {
            "iss" => EntraError::no_matching_issuer(&issuer),
            "aud" => EntraError::no_matching_audience(&audiences.join(",")),
            _ => EntraError::no_matching_subject(claims.subject),
        };
        return Err(error.with_diagnosis(oversized.to_string()));
    }
    if is_entra_issuer(&issuer, own_base) {
        return Err(EntraError::entra_issued_assertion().with_diagnosis(format!("the assertion was issued by {issuer}, an Entra token service; send the cluster's projected service-account token")));
    }
    let key_issuer = if trusts_issuer(&principal.credentials, &issuer) {
        issuer.clone()
    } else {
        let Some(closest) = closest_issuer(&principal.credentials, &issuer) else {
            return Err(EntraError::no_matching_issuer(&issuer)
                .with_diagnosis("no federated identity credential of this principal names the token's issuer")
                .with_log_detail(format!(
                    "{} {} has no federated identity credentials at all",
                    principal_label(principal),
                    principal.client_id
                )));
        };
        closest.to_owned()
    };
    Ok(Prepared {
        tenant,
        principal,
        assertion,
        issuer,
        key_issuer,
        requested,
        endpoint,
    })
}

/// The Entra error for a failed signature check. For an untrusted issuer it is 700211 and
/// nothing more (the details go to the log).
pub fn signature_error(prepared: &Prepared<'_>, error: &JwtError) -> EntraError {
    if !prepared.issuer_is_trusted() {
        return prepared.untrusted_issuer(format!("the signature does not verify with its keys: {error}"));
    }
    let base = match error {
        JwtError::UnknownKid { kid, .. } => {
            EntraError::unknown_signing_key(kid.as_deref().unwrap_or("(none)"), &prepared.issuer)
        }
        JwtError::BadSignature { .. } => EntraError::bad_signature(),
        JwtError::Malformed { .. } | JwtError::TooLarge { .. } => EntraError::malformed_assertion(),
        _ => EntraError::unsupported_key(),
    };
    let hint = match error {
        JwtError::UnknownKid { .. } => {
            " (was the cluster's signing key rotated without publishing the new key in the JWKS?)"
        }
        JwtError::BadSignature { .. } => " (the token was altered, or signed by another key carrying the same kid)",
        _ => "",
    };
    base.with_diagnosis(format!("{error}{hint}"))
}

/// The Entra error for issuer keys that could not be had (`reason` in plain words). For an
/// untrusted issuer it is 700211 and nothing more (the reason goes to the log).
pub fn keys_error(prepared: &Prepared<'_>, reason: &str) -> EntraError {
    if !prepared.issuer_is_trusted() {
        return prepared.untrusted_issuer(format!("its keys could not be had: {reason}"));
    }
    EntraError::issuer_unreachable().with_diagnosis(reason.to_owned())
}

/// The remaining checks, on an assertion whose signature verified: the issuer (now that the
/// caller proved it holds a trusted issuer's key, how the closest credential differs), the
/// time window, audience, subject and scope.
pub fn finish(verified: Verified<'_, '_>, now: i64) -> Result<Grant, EntraError> {
    let prepared = verified.prepared();
    let audiences = prepared.assertion.audiences();
    let subject = prepared.assertion.claim_str("sub").unwrap_or_default();
    let claims = AssertionClaims {
        issuer: &prepared.issuer,
        subject,
        audiences: &audiences,
    };
    let mismatch_error = |kind: MismatchKind, diagnosis: &str, closest: Option<String>| {
        let error = match kind {
            MismatchKind::Issuer => EntraError::no_matching_issuer(&prepared.issuer),
            MismatchKind::Audience => EntraError::no_matching_audience(&audiences.join(",")),
            MismatchKind::Subject => EntraError::no_matching_subject(subject),
            MismatchKind::SubjectCaseOnly => EntraError::subject_case_only(subject),
        };
        error
            .with_diagnosis(format!(
                "{} {}: {diagnosis}",
                principal_label(prepared.principal),
                prepared.principal.client_id,
            ))
            .with_closest_credential(closest)
    };
    let matched = match_credential(&prepared.principal.credentials, &claims);
    if let Err(mismatch) = &matched
        && mismatch.kind == MismatchKind::Issuer
    {
        return Err(mismatch_error(
            mismatch.kind,
            &mismatch.diagnosis,
            mismatch.closest.clone(),
        ));
    }
    let validation = Validation {
        leeway_seconds: ASSERTION_SKEW_SECONDS,
        ..Validation::default()
    };
    if let Err(e) = wif_jose::jws::check_claims(&prepared.assertion, &validation, now) {
        if let JwtError::Malformed { .. } = e {
            // exp = 1e20 is no date: malformed, as Entra says, not "expired" or "valid".
            return Err(EntraError::malformed_assertion().with_diagnosis(e.to_string()));
        }
        let number = |name| prepared.assertion.claims.get(name).and_then(serde_json::Value::as_i64);
        let hint = match &e {
            JwtError::Expired { .. } => {
                " Kubelet rewrites the projected token at 80% of its lifetime: re-read the token file instead of keeping its content."
            }
            JwtError::NotYetValid { .. } => " Is the clock of the cluster or of this machine off?",
            _ => "",
        };
        return Err(EntraError::assertion_time(now, number("nbf"), number("exp")).with_diagnosis(format!("{e}.{hint}")));
    }
    let credential = match matched {
        Ok(fic) => fic.name.clone(),
        Err(mismatch) => return Err(mismatch_error(mismatch.kind, &mismatch.diagnosis, mismatch.closest)),
    };
    let resource = resource_of(&prepared.requested, prepared.endpoint)?;
    Ok(Grant {
        tenant_id: prepared.tenant.id.clone(),
        principal: prepared.principal.clone(),
        resource,
        endpoint: prepared.endpoint,
        credential,
    })
}

/// The resource of a v2 scope (`https://vault.azure.net/.default` → `https://vault.azure.net`;
/// azure-cli's `https://management.core.windows.net//.default` → `https://management.core.windows.net/`),
/// or the v1 `resource` as sent.
pub fn resource_of(requested: &str, endpoint: Endpoint) -> Result<String, EntraError> {
    let requested = requested.trim();
    if endpoint == Endpoint::V1 {
        return if requested.is_empty() || requested.contains(char::is_whitespace) {
            Err(EntraError::invalid_scope(requested))
        } else {
            Ok(requested.to_owned())
        };
    }
    let scopes: Vec<&str> = requested.split_whitespace().collect();
    let resources: Vec<&str> = scopes
        .iter()
        .filter(|s| !matches!(**s, "openid" | "profile" | "offline_access"))
        .copied()
        .collect();
    match resources.as_slice() {
        [] => Err(EntraError::invalid_scope(requested)),
        [one] => match one.strip_suffix("/.default") {
            Some(resource) if !resource.is_empty() => Ok(resource.to_owned()),
            Some(_) => Err(EntraError::invalid_scope(requested)),
            None => {
                // `https://vault.azure.net/user_impersonation` names a delegated permission of
                // the resource `https://vault.azure.net`.
                let resource = match one.split_once("://") {
                    Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or_default()),
                    None => one.to_string(),
                };
                Err(EntraError::scope_without_default(one).with_diagnosis(format!(
                    "client credentials get the permissions granted to the application all at once: request scope={resource}/.default"
                )))
            }
        },
        _ => Err(EntraError::several_resources()
            .with_diagnosis("one token is for one resource: request each scope separately")),
    }
}

#[cfg(test)]
mod tests;
