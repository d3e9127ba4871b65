//! The token exchange, as pure steps around the one I/O it needs (the issuer's keys):
//! [`prepare`] parses the form, finds tenant and principal, decodes the assertion and checks
//! that some credential trusts its issuer; the caller fetches that issuer's JWKS; [`finish`]
//! checks signature, time window, audience, subject and scope, in that order, and returns
//! the grant. Every refusal is the Entra error a real client would see, with a diagnosis.
//!
//! Order (Entra's real order is undocumented; this one matches the codes seen in practice):
//! method, tenant, form, grant type, client id, credential, principal, assertion syntax,
//! Entra-issued assertion, issuer (700211), metadata and keys (50166, 7000272, 700027,
//! 5002730), time (700024), audience (700212), subject (700213/7002138), scope.

use wif_core::fic::{AssertionClaims, MismatchKind, match_credential};
use wif_jose::{JwkSet, JwtError, UnverifiedToken, Validation, decode_unverified};

use crate::directory::{Directory, Principal, Tenant, is_tenant_identifier};
use crate::errors::EntraError;

/// The assertion type every federated client sends.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew tolerated on the assertion's `exp` and `nbf`.
pub const ASSERTION_SKEW_SECONDS: u64 = 300;

/// Which token endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/{tenant}/oauth2/token` with `resource=`; string numbers in the response.
    V1,
    /// `/{tenant}/oauth2/v2.0/token` with `scope=`.
    V2,
}

/// A parsed form: the first value of each field (unknown fields are kept, and ignored).
#[derive(Debug, Clone, Default)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// Parses `application/x-www-form-urlencoded` bytes; `None` when they are not a form.
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .ok()
            .map(|fields| Form { fields })
    }

    /// A field's first value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, EntraError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| EntraError::missing_parameter(name))
    }
}

/// Everything checked before the issuer's keys are needed.
#[derive(Debug)]
pub struct Prepared<'d> {
    /// The tenant.
    pub tenant: &'d Tenant,
    /// The principal whose credentials are tried.
    pub principal: &'d Principal,
    /// The decoded (not yet verified) assertion.
    pub assertion: UnverifiedToken,
    /// Its issuer, whose keys must be fetched.
    pub issuer: String,
    /// `scope` (v2) or `resource` (v1), as sent.
    pub requested: String,
    /// Which endpoint.
    pub endpoint: Endpoint,
}

/// The outcome: who gets a token, for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Tenant GUID.
    pub tenant_id: String,
    /// The principal.
    pub principal: Principal,
    /// The resource (scope without `/.default`).
    pub resource: String,
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// The credential that matched.
    pub credential: String,
}

fn is_entra_issuer(issuer: &str, own_base: &str) -> bool {
    [
        "https://sts.windows.net/",
        "https://login.microsoftonline.com/",
        "https://login.windows.net/",
    ]
    .iter()
    .any(|p| issuer.starts_with(p))
        || issuer.starts_with(own_base.trim_end_matches('/'))
}

/// Steps up to the issuer check. `own_base` is this emulator's URL (its tokens are refused as
/// assertions, as Entra refuses its own).
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
            .with_diagnosis(format!("the emulator's directory has tenants {known:?}"))
    })?;
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
        EntraError::unknown_client(client_id, &tenant.id).with_diagnosis(format!(
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
    if is_entra_issuer(&issuer, own_base) {
        return Err(EntraError::entra_issued_assertion().with_diagnosis(format!("the assertion was issued by {issuer}, an Entra token service; send the cluster's projected service-account token")));
    }
    let audiences = assertion.audiences();
    let claims = AssertionClaims {
        issuer: &issuer,
        subject: assertion.claim_str("sub").unwrap_or_default(),
        audiences: &audiences,
    };
    if let Err(mismatch) = match_credential(&principal.credentials, &claims)
        && mismatch.kind == MismatchKind::Issuer
    {
        return Err(EntraError::no_matching_issuer(&issuer).with_diagnosis(format!(
            "{} {}: {}",
            principal_label(principal),
            principal.client_id,
            mismatch.diagnosis
        )));
    }
    Ok(Prepared {
        tenant,
        principal,
        assertion,
        issuer,
        requested,
        endpoint,
    })
}

fn principal_label(principal: &Principal) -> &'static str {
    match principal.kind {
        crate::directory::PrincipalKind::Application => "application",
        crate::directory::PrincipalKind::ManagedIdentity { .. } => "managed identity",
    }
}

/// Why the issuer's keys could not be had (AADSTS50166), in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerUnavailable(pub String);

/// Checks the signature against the issuer's keys. An unknown `kid` is returned as such, so the
/// caller can re-fetch the JWKS once and call again.
pub fn check_signature(prepared: &Prepared<'_>, keys: &JwkSet) -> Result<(), JwtError> {
    wif_jose::jws::verify_signature_with(&prepared.assertion, keys).map(|_| ())
}

/// The Entra error for a signature failure.
pub fn signature_error(prepared: &Prepared<'_>, error: &JwtError) -> EntraError {
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

/// The remaining checks: time window, audience, subject, scope.
pub fn finish(prepared: Prepared<'_>, now: i64) -> Result<Grant, EntraError> {
    let validation = Validation {
        leeway_seconds: ASSERTION_SKEW_SECONDS,
        ..Validation::default()
    };
    if let Err(e) = wif_jose::jws::check_claims(&prepared.assertion, &validation, now) {
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
    let audiences = prepared.assertion.audiences();
    let subject = prepared.assertion.claim_str("sub").unwrap_or_default();
    let claims = AssertionClaims {
        issuer: &prepared.issuer,
        subject,
        audiences: &audiences,
    };
    let credential = match match_credential(&prepared.principal.credentials, &claims) {
        Ok(fic) => fic.name.clone(),
        Err(mismatch) => {
            let error = match mismatch.kind {
                MismatchKind::Issuer => EntraError::no_matching_issuer(&prepared.issuer),
                MismatchKind::Audience => EntraError::no_matching_audience(&audiences.join(",")),
                MismatchKind::Subject => EntraError::no_matching_subject(subject),
                MismatchKind::SubjectCaseOnly => EntraError::subject_case_only(subject),
            };
            return Err(error.with_diagnosis(format!(
                "{} {}: {}",
                principal_label(prepared.principal),
                prepared.principal.client_id,
                mismatch.diagnosis
            )));
        }
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
mod tests {
    use std::path::Path;

    use serde_json::{Map, json};
    use wif_jose::{Algorithm, SigningKey, jwks_of, sign};

    use super::*;

    const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
    const CLIENT: &str = "11111111-0000-4000-8000-000000000001";
    const ISSUER: &str = "https://oidc.example/";
    const NOW: i64 = 1_900_000_000;
    const BASE: &str = "https://127.0.0.1:8444";

    fn directory() -> Directory {
        let yaml = format!(
            "tenants:\n  - tenantId: {TENANT}\n    domain: contoso.onmicrosoft.com\n    applications:\n      - displayName: reader\n        appId: {CLIENT}\n        federatedIdentityCredentials:\n          - {{ name: k8s, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\n"
        );
        Directory::from_yaml(&yaml, Path::new(".")).unwrap()
    }

    fn assertion(key: &SigningKey, iss: &str, sub: &str) -> String {
        let claims = json!({ "iss": iss, "sub": sub, "aud": ["api://AzureADTokenExchange"], "iat": NOW, "nbf": NOW, "exp": NOW + 3600 });
        sign(key, &Map::new(), &claims).unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form {
            fields: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }
    }

    fn good(assertion: &str) -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", CLIENT.into()),
            ("scope", "https://vault.azure.net/.default".into()),
            ("client_assertion_type", JWT_BEARER.into()),
            ("client_assertion", assertion.into()),
        ]
    }

    fn run(fields: &[(&str, String)], tenant: &str, keys: &JwkSet, now: i64) -> Result<Grant, EntraError> {
        let dir = directory();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let prepared = prepare(&dir, Endpoint::V2, tenant, &form(&pairs), BASE)?;
        check_signature(&prepared, keys).map_err(|e| signature_error(&prepared, &e))?;
        finish(prepared, now)
    }

    #[test]
    fn the_pipeline_grants_and_refuses_in_order() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = jwks_of(&[key.public_key().clone()]);
        let token = assertion(&key, ISSUER, "system:serviceaccount:demo:app");
        let grant = run(&good(&token), "contoso.onmicrosoft.com", &keys, NOW).unwrap();
        assert_eq!(
            (
                grant.tenant_id.as_str(),
                grant.resource.as_str(),
                grant.credential.as_str()
            ),
            (TENANT, "https://vault.azure.net", "k8s")
        );

        let code = |fields: Vec<(&'static str, String)>, tenant: &str, now: i64| {
            run(&fields, tenant, &keys, now).unwrap_err().code
        };
        assert_eq!(code(good(&token), "common", NOW), 900_023);
        assert_eq!(code(good(&token), "bbbbbbbb-0000-4000-8000-00000000000b", NOW), 90_002);
        let mut wrong_grant = good(&token);
        wrong_grant[0].1 = "password".into();
        assert_eq!(code(wrong_grant, TENANT, NOW), 70_003);
        let mut unknown = good(&token);
        unknown[1].1 = "99999999-0000-4000-8000-000000000009".into();
        assert_eq!(code(unknown, TENANT, NOW), 700_016);
        let no_assertion: Vec<_> = good(&token)
            .into_iter()
            .filter(|(k, _)| *k != "client_assertion")
            .collect();
        assert_eq!(code(no_assertion, TENANT, NOW), 7_000_216);
        assert_eq!(code(good("garbage"), TENANT, NOW), 50_027);
        assert_eq!(
            code(good(&assertion(&key, "https://sts.windows.net/x/", "s")), TENANT, NOW),
            700_222
        );
        assert_eq!(
            code(
                good(&assertion(&key, &format!("{BASE}/{TENANT}/v2.0"), "s")),
                TENANT,
                NOW
            ),
            700_222
        );
        assert_eq!(
            code(good(&assertion(&key, "https://oidc.example", "s")), TENANT, NOW),
            700_211
        );
        let other = SigningKey::generate(Algorithm::ES256).unwrap();
        assert_eq!(
            code(
                good(&assertion(&other, ISSUER, "system:serviceaccount:demo:app")),
                TENANT,
                NOW
            ),
            7_000_272
        );
        assert_eq!(code(good(&token), TENANT, NOW + 7200), 700_024);
        assert_eq!(
            code(
                good(&assertion(&key, ISSUER, "system:serviceaccount:prod:app")),
                TENANT,
                NOW
            ),
            700_213
        );
        let mut scope = good(&token);
        scope[2].1 = "https://vault.azure.net/user_impersonation".into();
        assert_eq!(code(scope, TENANT, NOW), 1_002_012);
    }

    #[test]
    fn an_issuer_mismatch_comes_with_its_diagnosis() {
        let key = SigningKey::generate(Algorithm::RS256).unwrap();
        let keys = jwks_of(&[key.public_key().clone()]);
        let err = run(&good(&assertion(&key, "https://oidc.example", "s")), TENANT, &keys, NOW).unwrap_err();
        assert!(err.diagnosis.unwrap_or_default().contains("trailing slash"));
    }

    #[test]
    fn scopes() {
        let v2 = |s| resource_of(s, Endpoint::V2);
        assert_eq!(
            v2("https://vault.azure.net/.default"),
            Ok("https://vault.azure.net".into())
        );
        assert_eq!(
            v2("https://management.core.windows.net//.default"),
            Ok("https://management.core.windows.net/".into())
        );
        assert_eq!(
            v2("api://22222222-2222-2222-2222-222222222222/.default openid"),
            Ok("api://22222222-2222-2222-2222-222222222222".into())
        );
        assert_eq!(
            v2("https://vault.azure.net/user_impersonation").unwrap_err().code,
            1_002_012
        );
        assert_eq!(v2("https://a/.default https://b/.default").unwrap_err().code, 700_022);
        assert_eq!(v2("/.default").unwrap_err().code, 70_011);
        assert_eq!(v2("openid").unwrap_err().code, 70_011);
        assert_eq!(
            resource_of("https://vault.azure.net", Endpoint::V1),
            Ok("https://vault.azure.net".into())
        );
    }

    #[test]
    fn forms_ignore_unknown_fields_and_decode() {
        let form = Form::parse(b"grant_type=client_credentials&x-client-SKU=msal.js.node&scope=https%3A%2F%2Fvault.azure.net%2F.default&claims=%7B%7D").unwrap();
        assert_eq!(form.get("scope"), Some("https://vault.azure.net/.default"));
        assert_eq!(form.get("claims"), Some("{}"));
        assert_eq!(form.required("client_id").unwrap_err().code, 900_144);
    }
}
