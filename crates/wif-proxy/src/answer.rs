//! The bodies the proxy answers with, in each protocol's shape. IMDS's token answer has every
//! value a JSON string (as real IMDS sends them; upstream's proxy sends numbers and leaves out
//! `client_id` and `ext_expires_in`); App Service's has `expires_on` as a string of Unix
//! seconds. Failures to get a token become refusals: Entra's own code and words with a 4xx
//! that SDKs do not retry, or IMDS's 500 for what may pass (Entra unreachable). Pure.

use serde::Serialize;
use wif_client::ClientError;
use wif_core::error_text::error_chain;

use crate::request::{Protocol, Refusal};

/// A token to answer with.
#[derive(Debug, Clone, Copy)]
pub struct Issued<'a> {
    /// The access token.
    pub access_token: &'a str,
    /// The client id of the identity it was issued to.
    pub client_id: &'a str,
    /// The resource, as the request named it.
    pub resource: &'a str,
    /// Expiry, Unix seconds.
    pub expires_on: i64,
    /// When it was obtained, Unix seconds.
    pub obtained_on: i64,
}

#[derive(Serialize)]
struct ImdsToken<'a> {
    access_token: &'a str,
    client_id: &'a str,
    expires_in: String,
    expires_on: String,
    ext_expires_in: String,
    not_before: String,
    resource: &'a str,
    token_type: &'static str,
}

#[derive(Serialize)]
struct AppServiceToken<'a> {
    access_token: &'a str,
    expires_on: String,
    resource: &'a str,
    token_type: &'static str,
    client_id: &'a str,
}

#[derive(Serialize)]
struct ImdsError<'a> {
    error: &'a str,
    error_description: &'a str,
    #[serde(skip_serializing_if = "<[i64]>::is_empty")]
    error_codes: &'a [i64],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppServiceError {
    status_code: u16,
    message: String,
}

fn json(value: &impl Serialize) -> Vec<u8> {
    // Serializing these structs of strings and numbers cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// The token answer in `protocol`'s shape, at `now` (Unix seconds).
pub fn token_body(protocol: Protocol, issued: &Issued<'_>, now: i64) -> Vec<u8> {
    match protocol {
        Protocol::Imds => json(&ImdsToken {
            access_token: issued.access_token,
            client_id: issued.client_id,
            expires_in: issued.expires_on.saturating_sub(now).max(0).to_string(),
            expires_on: issued.expires_on.to_string(),
            ext_expires_in: issued.expires_on.saturating_sub(issued.obtained_on).max(0).to_string(),
            not_before: issued.obtained_on.to_string(),
            resource: issued.resource,
            token_type: "Bearer",
        }),
        Protocol::AppService => json(&AppServiceToken {
            access_token: issued.access_token,
            expires_on: issued.expires_on.to_string(),
            resource: issued.resource,
            token_type: "Bearer",
            client_id: issued.client_id,
        }),
    }
}

/// A refusal in `protocol`'s shape.
pub fn error_body(protocol: Protocol, refusal: &Refusal) -> Vec<u8> {
    match protocol {
        Protocol::Imds => json(&ImdsError {
            error: &refusal.error,
            error_description: &refusal.description,
            error_codes: &refusal.codes,
        }),
        Protocol::AppService => json(&AppServiceError {
            status_code: refusal.status,
            message: format!("{}: {}", refusal.error, refusal.description),
        }),
    }
}

/// What to answer when no token could be had.
pub fn refusal_of(error: &ClientError) -> Refusal {
    match error {
        ClientError::Entra {
            status,
            error: code,
            codes,
            ..
        } => {
            // Entra's own refusal is final: a status the SDKs do not retry (404, 410 and
            // 5xx they retry for a minute), except throttling, which they should wait out.
            let status = match *status {
                400 | 401 | 403 | 429 => *status,
                500.. => return unavailable(error),
                _ => 400,
            };
            Refusal {
                status,
                error: code.clone(),
                description: error.to_string(),
                codes: codes.clone(),
            }
        }
        _ => unavailable(error),
    }
}

/// Real IMDS's answer when Entra cannot be reached: 500, which SDKs retry with back-off.
fn unavailable(error: &ClientError) -> Refusal {
    Refusal::new(
        500,
        "unknown",
        format!(
            "Failed to retrieve token from the Active directory: {}",
            error_chain(error)
        ),
    )
}

/// The answer when no token came within the proxy's deadline.
pub fn timed_out(deadline: std::time::Duration) -> Refusal {
    Refusal::new(
        500,
        "unknown",
        format!(
            "Failed to retrieve token from the Active directory: no answer within {deadline:?} (the exchange goes on; ask again)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn parse(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap_or_default()
    }

    const ISSUED: Issued<'static> = Issued {
        access_token: "at",
        client_id: "c-1",
        resource: "https://vault.azure.net",
        expires_on: 1_700_086_400,
        obtained_on: 1_700_000_001,
    };

    #[test]
    fn imds_answers_with_strings_only() {
        let body = parse(&token_body(Protocol::Imds, &ISSUED, 1_700_000_500));
        assert_eq!(
            body,
            json!({"access_token": "at", "client_id": "c-1", "expires_in": "85900", "expires_on": "1700086400",
                   "ext_expires_in": "86399", "not_before": "1700000001", "resource": "https://vault.azure.net",
                   "token_type": "Bearer"})
        );
        let late = parse(&token_body(Protocol::Imds, &ISSUED, 1_800_000_000));
        assert_eq!(late["expires_in"], "0");
    }

    #[test]
    fn app_service_answers_in_its_2019_08_01_shape() {
        assert_eq!(
            parse(&token_body(Protocol::AppService, &ISSUED, 0)),
            json!({"access_token": "at", "expires_on": "1700086400", "resource": "https://vault.azure.net",
                   "token_type": "Bearer", "client_id": "c-1"})
        );
        let refusal = Refusal::new(401, "unauthorized", "no");
        assert_eq!(
            parse(&error_body(Protocol::AppService, &refusal)),
            json!({"statusCode": 401, "message": "unauthorized: no"})
        );
    }

    fn entra(status: u16) -> ClientError {
        ClientError::Entra {
            status,
            error: "invalid_client".into(),
            codes: vec![700213],
            description: "AADSTS700213: No matching federated identity record found".into(),
            diagnosis: Some("subject namespace differs".into()),
        }
    }

    #[test]
    fn entras_refusal_is_passed_through_with_a_status_sdks_do_not_retry() {
        let refusal = refusal_of(&entra(401));
        assert_eq!(refusal.status, 401);
        assert_eq!(
            parse(&error_body(Protocol::Imds, &refusal)),
            json!({"error": "invalid_client",
                   "error_description": "AADSTS700213: No matching federated identity record found (wif diagnosis: subject namespace differs)",
                   "error_codes": [700213]})
        );
        assert_eq!(refusal_of(&entra(400)).status, 400);
        assert_eq!(
            refusal_of(&entra(404)).status,
            400,
            "404 would be retried as 'IMDS updating'"
        );
        assert_eq!(refusal_of(&entra(410)).status, 400);
        assert_eq!(refusal_of(&entra(429)).status, 429);
        let outage = refusal_of(&entra(503));
        assert_eq!((outage.status, outage.error.as_str()), (500, "unknown"));
        let unreadable = refusal_of(&ClientError::EmptyTokenFile { path: "/t".into() });
        assert_eq!(unreadable.status, 500);
        assert_eq!(
            unreadable.description,
            "Failed to retrieve token from the Active directory: token file /t is empty"
        );
        assert_eq!(
            parse(&error_body(Protocol::Imds, &Refusal::new(400, "invalid_request", "x"))),
            json!({"error": "invalid_request", "error_description": "x"})
        );
        assert!(
            timed_out(std::time::Duration::from_secs(10))
                .description
                .contains("no answer within 10s")
        );
    }
}
