//! Entra ID's error responses: the AADSTS catalogue this emulator answers with
//! (spec/protocols.md §1.3–1.4), and their JSON body, plus our `wif_diagnosis`.

use serde_json::{Value, json};

use wif_core::clock;

/// One Entra error, before the request's ids and time are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraError {
    /// HTTP status: 401 for `invalid_client`, 400 otherwise (413 for an oversized body).
    pub status: u16,
    /// The OAuth 2.0 `error`.
    pub error: &'static str,
    /// The AADSTS number.
    pub code: u32,
    /// The Entra text after `AADSTSnnnn: `.
    pub message: String,
    /// What went wrong, in plain words (our addition; never sent by Entra).
    pub diagnosis: Option<String>,
    /// What the emulator's operator may know but the caller may not (the directory's
    /// contents, for a caller that proved nothing): written to the log, never sent.
    pub log_detail: Option<String>,
    /// The credential of the principal that came closest to the assertion, when one was
    /// compared (for the operator's console; never sent).
    pub closest_credential: Option<String>,
}

const WIF_DOC: &str = "https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation";
const WIF_LEARN: &str = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

impl EntraError {
    fn new(status: u16, error: &'static str, code: u32, message: impl Into<String>) -> Self {
        EntraError {
            status,
            error,
            code,
            message: message.into(),
            diagnosis: None,
            log_detail: None,
            closest_credential: None,
        }
    }

    /// Names the credential that came closest (for the operator's console; never sent).
    pub fn with_closest_credential(mut self, name: Option<String>) -> Self {
        self.closest_credential = name;
        self
    }

    /// Adds what only the log may say.
    pub fn with_log_detail(mut self, detail: impl Into<String>) -> Self {
        self.log_detail = Some(detail.into());
        self
    }

    /// 50000: the emulator itself failed (signing, randomness). HTTP 500, as Entra answers
    /// when its token service fails.
    pub fn internal(what: &str) -> Self {
        Self::new(
            500,
            "server_error",
            50_000,
            "There was an error issuing a token or an issue with our sign-in service.",
        )
        .with_diagnosis(format!("the emulator failed: {what}"))
    }

    /// Adds the plain-words diagnosis.
    pub fn with_diagnosis(mut self, diagnosis: impl Into<String>) -> Self {
        self.diagnosis = Some(diagnosis.into());
        self
    }

    /// 900561: GET on the token endpoint.
    pub fn post_only() -> Self {
        Self::new(
            400,
            "invalid_request",
            900_561,
            "The endpoint only accepts POST requests. Received a GET request.",
        )
    }
    /// 9000411: a form parameter given twice.
    pub fn duplicated_parameter(name: &str) -> Self {
        Self::new(
            400,
            "invalid_request",
            9_000_411,
            format!("The request is not properly formatted. The parameter '{name}' is duplicated."),
        )
    }
    /// 900144: a required form field is missing.
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            400,
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }
    /// 70003: unsupported grant type.
    pub fn unsupported_grant_type() -> Self {
        Self::new(
            400,
            "unsupported_grant_type",
            70_003,
            "UnsupportedGrantType - The app returned an unsupported grant type.",
        )
    }
    /// 900023: tenant segment neither GUID nor DNS name.
    pub fn bad_tenant_identifier(tenant: &str) -> Self {
        Self::new(
            400,
            "invalid_request",
            900_023,
            format!("Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain."),
        )
    }
    /// 50049: instance discovery for an authority that is not one of Entra's hosts.
    pub fn unknown_instance() -> Self {
        Self::new(
            400,
            "invalid_instance",
            50_049,
            "Unknown or invalid instance.".to_owned(),
        )
    }
    /// 90002: unknown tenant.
    pub fn unknown_tenant(tenant: &str) -> Self {
        Self::new(
            400,
            "invalid_tenant",
            90_002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }
    /// 700016: unknown client id.
    pub fn unknown_client(client_id: &str, tenant: &str) -> Self {
        Self::new(
            400,
            "unauthorized_client",
            700_016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    }
    /// 7000216: no credential at all.
    pub fn no_credential() -> Self {
        Self::new(
            401,
            "invalid_client",
            7_000_216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        )
    }
    /// 7000218-style: a client secret, which federated principals here do not have.
    pub fn secret_not_supported() -> Self {
        Self::new(
            401,
            "invalid_client",
            7_000_215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
        )
    }
    /// 50027: the assertion is not a parseable JWT.
    pub fn malformed_assertion() -> Self {
        Self::new(400, "invalid_request", 50_027, "JWT token is invalid or malformed.")
    }
    /// 5002730: algorithm or key not usable.
    pub fn unsupported_key() -> Self {
        Self::new(
            400,
            "invalid_request",
            5_002_730,
            "Invalid JWT token. Unsupported key for the signing algorithm.",
        )
    }
    /// 700222: the assertion was issued by Entra itself.
    pub fn entra_issued_assertion() -> Self {
        Self::new(
            401,
            "invalid_client",
            700_222,
            "AAD-issued tokens may not be used for federated identity flows.",
        )
    }
    /// 700211: no credential with this issuer.
    pub fn no_matching_issuer(issuer: &str) -> Self {
        Self::new(
            401,
            "invalid_client",
            700_211,
            format!(
                "No matching federated identity record found for presented assertion issuer '{issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WIF_DOC}"
            ),
        )
    }
    /// 700212: issuer matches, audience does not.
    pub fn no_matching_audience(audience: &str) -> Self {
        Self::new(
            401,
            "invalid_client",
            700_212,
            format!(
                "No matching federated identity record found for presented assertion audience '{audience}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WIF_DOC}"
            ),
        )
    }
    /// 700213: issuer and audience match, subject does not.
    pub fn no_matching_subject(subject: &str) -> Self {
        Self::new(
            401,
            "invalid_client",
            700_213,
            format!(
                "No matching federated identity record found for presented assertion subject '{subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WIF_LEARN}"
            ),
        )
    }
    /// 7002138: subject equal only ignoring case.
    pub fn subject_case_only(subject: &str) -> Self {
        Self::new(
            401,
            "invalid_client",
            7_002_138,
            format!(
                "No matching federated identity record found for presented assertion subject '{subject}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. See documentation at: {WIF_LEARN}. See breaking change notification and remediation at: https://learn.microsoft.com/en-us/entra/identity-platform/reference-breaking-changes#august-2024."
            ),
        )
    }
    /// 700024: assertion outside its validity window.
    pub fn assertion_time(now: i64, nbf: Option<i64>, exp: Option<i64>) -> Self {
        Self::new(
            401,
            "invalid_client",
            700_024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                clock::assertion_time(now),
                clock::assertion_time(nbf.unwrap_or(0)),
                clock::assertion_time(exp.unwrap_or(0))
            ),
        )
    }
    /// 7000272: signing key not in the issuer's JWKS.
    pub fn unknown_signing_key(kid: &str, issuer: &str) -> Self {
        Self::new(
            401,
            "invalid_client",
            7_000_272,
            format!(
                "The certificate with identifier {kid} used to sign the federated credential could not be found in the metadata of identity provider {issuer}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token."
            ),
        )
    }
    /// 700027: signature does not verify.
    pub fn bad_signature() -> Self {
        Self::new(
            401,
            "invalid_client",
            700_027,
            "Client assertion failed signature validation.",
        )
    }
    /// 50166: the issuer's metadata or keys could not be fetched.
    pub fn issuer_unreachable() -> Self {
        Self::new(
            400,
            "invalid_request",
            50_166,
            "Request to External OIDC endpoint failed.",
        )
    }
    /// 1002012: v2 client-credentials scope without `/.default`.
    pub fn scope_without_default(scope: &str) -> Self {
        Self::new(
            400,
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )
    }
    /// 700022: scopes of several resources.
    pub fn several_resources() -> Self {
        Self::new(
            400,
            "invalid_scope",
            700_022,
            "InvalidMultipleResourcesScope - The provided value for the input parameter scope isn't valid because it contains more than one resource.",
        )
    }
    /// 70011: malformed scope.
    pub fn invalid_scope(scope: &str) -> Self {
        Self::new(
            400,
            "invalid_scope",
            70_011,
            format!("The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."),
        )
    }
    /// 901002: `resource` on the v2 endpoint.
    pub fn resource_on_v2() -> Self {
        Self::new(
            400,
            "invalid_request",
            901_002,
            "The 'resource' request parameter isn't supported.",
        )
    }
    /// Emulator-only (the real front door answers 413 without an Entra body): body too large.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "invalid_request",
            90_100,
            format!("The request body is larger than {limit} bytes."),
        )
    }

    /// The JSON body, with the request's ids and time; `login_base` makes `error_uri`.
    pub fn body(&self, trace_id: &str, correlation_id: &str, now: i64, login_base: &str) -> Value {
        let timestamp = clock::error_timestamp(now);
        // The diagnosis also goes in the description, after Entra's words: MSAL4J, MSAL.NET and
        // most SDKs show the description alone and drop the body's other fields.
        let diagnosis = self
            .diagnosis
            .as_deref()
            .map(|d| format!(" wif: {}.", d.trim_end_matches('.')))
            .unwrap_or_default();
        let mut body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {}{diagnosis} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
                self.code, self.message
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("{}/error?code={}", login_base.trim_end_matches('/'), self.code),
        });
        if let (Some(diagnosis), Some(map)) = (&self.diagnosis, body.as_object_mut()) {
            map.insert("wif_diagnosis".into(), json!(diagnosis));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_shape() {
        let e =
            EntraError::no_matching_subject("system:serviceaccount:default:wrong").with_diagnosis("namespace differs");
        let body = e.body(
            "8eea681d-a1eb-487d-9be7-d61225177f00",
            "d0f0de73-8a5d-4de0-99b6-83e71da1f7a4",
            1_760_367_274,
            "https://127.0.0.1:8443/",
        );
        assert_eq!(e.status, 401);
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_codes"], json!([700213]));
        assert_eq!(body["timestamp"], "2025-10-13 14:54:34Z");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.starts_with("AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:default:wrong'."));
        assert!(
            description.contains(" wif: namespace differs. Trace ID: "),
            "{description}"
        );
        assert!(description.ends_with("Trace ID: 8eea681d-a1eb-487d-9be7-d61225177f00 Correlation ID: d0f0de73-8a5d-4de0-99b6-83e71da1f7a4 Timestamp: 2025-10-13 14:54:34Z"));
        assert_eq!(body["error_uri"], "https://127.0.0.1:8443/error?code=700213");
        assert_eq!(body["wif_diagnosis"], "namespace differs");
        assert!(
            EntraError::unknown_tenant("t")
                .body("a", "b", 0, "x")
                .get("wif_diagnosis")
                .is_none()
        );
    }

    #[test]
    fn statuses_follow_rfc6749() {
        for e in [
            EntraError::no_credential(),
            EntraError::bad_signature(),
            EntraError::assertion_time(0, None, None),
        ] {
            assert_eq!((e.status, e.error), (401, "invalid_client"));
        }
        for e in [
            EntraError::unknown_client("c", "t"),
            EntraError::scope_without_default("s"),
            EntraError::issuer_unreachable(),
        ] {
            assert_eq!(e.status, 400);
        }
        assert!(
            EntraError::assertion_time(1_760_367_274, None, Some(0))
                .message
                .contains("assertion valid from 1970-01-01T00:00:00.0000000Z")
        );
    }
}
