//! The signature algorithms JOSE names and this crate verifies and signs with: RS256/384/512,
//! PS256/384/512 and ES256/384/512, with the curve or RSA parameters each one means.

use std::fmt;

use aws_lc_rs::signature;

use crate::der::Curve;

/// The signature algorithms verified here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// ECDSA P-521 with SHA-512.
    ES512,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 9] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
    ];

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
        }
    }

    /// From a JOSE name.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    pub(crate) fn curve(self) -> Option<Curve> {
        match self {
            Algorithm::ES256 => Some(Curve::P256),
            Algorithm::ES384 => Some(Curve::P384),
            Algorithm::ES512 => Some(Curve::P521),
            _ => None,
        }
    }

    pub(crate) fn rsa_parameters(self) -> Option<&'static signature::RsaParameters> {
        match self {
            Algorithm::RS256 => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
            Algorithm::RS384 => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
            Algorithm::RS512 => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
            Algorithm::PS256 => Some(&signature::RSA_PSS_2048_8192_SHA256),
            Algorithm::PS384 => Some(&signature::RSA_PSS_2048_8192_SHA384),
            Algorithm::PS512 => Some(&signature::RSA_PSS_2048_8192_SHA512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
