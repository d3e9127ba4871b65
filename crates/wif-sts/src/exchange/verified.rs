//! The one way to a verified assertion: [`verify`], which checks its signature. Everything
//! that grants (the time window, the credential match, the token) takes a [`Verified`], so
//! the signature-before-grant order is the type system's, not the caller's.

use wif_jose::{Algorithm, JwkSet, JwtError};

use super::stages::Prepared;

/// A prepared exchange whose assertion's signature verified with a trusted issuer's keys.
/// Its field is private to this module: no other code can make one.
#[derive(Debug)]
pub struct Verified<'p, 'd> {
    prepared: &'p Prepared<'d>,
    algorithm: Algorithm,
}

impl<'p, 'd> Verified<'p, 'd> {
    /// What was verified.
    pub fn prepared(&self) -> &'p Prepared<'d> {
        self.prepared
    }

    /// The algorithm the assertion was signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// Checks the assertion's signature against `keys` (those of [`Prepared::key_issuer`]). An
/// unknown `kid` is returned as such, so the caller can re-fetch the JWKS once and call again.
pub fn verify<'p, 'd>(prepared: &'p Prepared<'d>, keys: &JwkSet) -> Result<Verified<'p, 'd>, JwtError> {
    let algorithm = wif_jose::jws::verify_signature_with(&prepared.assertion, keys)?;
    Ok(Verified { prepared, algorithm })
}
