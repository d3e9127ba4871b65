//! Random bytes from the system's source (aws-lc-rs): login keys, nonces, session ids, CSRF
//! tokens and role assignment names.

/// Randomness failed (the system's source).
#[derive(Debug, thiserror::Error)]
#[error("the system's random source failed")]
pub struct RandomFailed;

/// `N` random bytes.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], RandomFailed> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| RandomFailed)?;
    Ok(bytes)
}
