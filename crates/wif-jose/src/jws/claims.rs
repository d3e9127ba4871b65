//! The registered claims: `exp`, `nbf` and `iat` as NumericDates within bounds, with the
//! leeway; `iss` and `aud` as the validation asks.

use serde_json::Value;

use super::error::JwtError;
use super::token::{UnverifiedToken, malformed};

/// Default clock skew tolerated on `exp` and `nbf` (Microsoft.IdentityModel's default).
pub const DEFAULT_LEEWAY_SECONDS: u64 = 300;

/// What a verified token must also satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// Exact `iss`, when set.
    pub issuer: Option<String>,
    /// An `aud` element that must be present, when set.
    pub audience: Option<String>,
    /// Exact `sub`, when set.
    pub subject: Option<String>,
    /// Skew on `exp` and `nbf`.
    pub leeway_seconds: u64,
    /// Refuse tokens without `exp`.
    pub require_exp: bool,
}

impl Default for Validation {
    fn default() -> Self {
        Validation {
            issuer: None,
            audience: None,
            subject: None,
            leeway_seconds: DEFAULT_LEEWAY_SECONDS,
            require_exp: true,
        }
    }
}

/// The latest NumericDate accepted: 9999-12-31T23:59:59Z. A later one (1e20, 2^63) is not a
/// date any issuer means; saturating it would make a token that never expires.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

fn numeric_claim(token: &UnverifiedToken, name: &str) -> Result<Option<i64>, JwtError> {
    let invalid = || {
        malformed(format!(
            "{name} is not a NumericDate (whole seconds since 1970, at most {MAX_NUMERIC_DATE})"
        ))
    };
    match token.claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let seconds = match n.as_i64() {
                Some(whole) => whole,
                // 1.7e9 written as a float is still whole seconds; 1.5 or 1e20 are not.
                None => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() <= MAX_NUMERIC_DATE as f64 => f as i64,
                    _ => return Err(invalid()),
                },
            };
            if (0..=MAX_NUMERIC_DATE).contains(&seconds) {
                Ok(Some(seconds))
            } else {
                Err(invalid())
            }
        }
        Some(_) => Err(malformed(format!("{name} must be a number"))),
    }
}

/// Checks `exp`/`nbf` against `now` (Unix seconds) and `iss`/`aud`/`sub` against `validation`.
pub fn check_claims(token: &UnverifiedToken, validation: &Validation, now: i64) -> Result<(), JwtError> {
    let leeway = validation.leeway_seconds;
    let skew = i64::try_from(leeway).unwrap_or(i64::MAX);
    match numeric_claim(token, "exp")? {
        Some(exp) if now > exp.saturating_add(skew) => return Err(JwtError::Expired { exp, now, leeway }),
        None if validation.require_exp => return Err(JwtError::MissingExp),
        _ => {}
    }
    if let Some(nbf) = numeric_claim(token, "nbf")?
        && nbf > now.saturating_add(skew)
    {
        return Err(JwtError::NotYetValid { nbf, now, leeway });
    }
    if let Some(expected) = &validation.issuer {
        let found = token.claim_str("iss");
        if found != Some(expected.as_str()) {
            return Err(JwtError::WrongIssuer {
                expected: expected.clone(),
                found: found.map(str::to_owned),
            });
        }
    }
    if let Some(expected) = &validation.audience {
        let found = token.audiences();
        if !found.iter().any(|a| a == expected) {
            return Err(JwtError::WrongAudience {
                expected: expected.clone(),
                found,
            });
        }
    }
    if let Some(expected) = &validation.subject {
        let found = token.claim_str("sub");
        if found != Some(expected.as_str()) {
            return Err(JwtError::WrongSubject {
                expected: expected.clone(),
                found: found.map(str::to_owned),
            });
        }
    }
    Ok(())
}
