//! Signing keys: generated, or read from PEM (PKCS#8, PKCS#1 RSA, SEC1 EC), written back as
//! PKCS#8; and the JWS signatures they make.

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, RsaKeyPair};

use crate::der::DerError;
use crate::jwk::PublicKey;
use crate::jws::Algorithm;
use crate::pem::{PemError, encode_pem, parse_pem};

/// A key file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM itself is broken.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// A key or certificate structure is broken or of an unsupported kind.
    #[error(transparent)]
    Der(DerError),
    /// A private key aws-lc-rs refuses (too small, corrupt, encrypted, unsupported curve).
    #[error("unusable {label}: {reason}")]
    Rejected {
        /// PEM label.
        label: String,
        /// aws-lc-rs's reason.
        reason: String,
    },
    /// No key in the file.
    #[error("no public or private key found")]
    NoKeys,
    /// No private key in the file.
    #[error("no private key found (expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)")]
    NoPrivateKey,
    /// Signing is not offered for this algorithm.
    #[error("cannot sign with {0}: only RS256, ES256, ES384 and ES512 keys are made and used for signing")]
    UnsupportedSigningAlgorithm(&'static str),
    /// The random source or the key operation failed.
    #[error("key operation failed")]
    Crypto,
    /// An extra header field would replace one the key decides (`alg`, `kid`): a header
    /// naming another algorithm than the signature's is how alg-confusion tokens are made.
    #[error("the extra header may not set {0:?}: the signing key decides it")]
    ReservedHeader(String),
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A private key that signs JWTs, with its public half and Kubernetes `kid`.
pub struct SigningKey {
    pair: Pair,
    algorithm: Algorithm,
    public: PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

const EC_SIGNING: [(Algorithm, &EcdsaSigningAlgorithm); 3] = [
    (Algorithm::ES256, &signature::ECDSA_P256_SHA256_FIXED_SIGNING),
    (Algorithm::ES384, &signature::ECDSA_P384_SHA384_FIXED_SIGNING),
    (Algorithm::ES512, &signature::ECDSA_P521_SHA512_FIXED_SIGNING),
];

impl SigningKey {
    /// A new key: RSA 2048 for RS256, the matching curve for ES256/384/512.
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeyError> {
        let pair = if algorithm == Algorithm::RS256 {
            Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Crypto)?)
        } else {
            let (_, alg) = EC_SIGNING
                .iter()
                .find(|(a, _)| *a == algorithm)
                .ok_or(KeyError::UnsupportedSigningAlgorithm(algorithm.name()))?;
            Pair::Ec(EcdsaKeyPair::generate(alg).map_err(|_| KeyError::Crypto)?)
        };
        Self::new(pair)
    }

    fn new(pair: Pair) -> Result<Self, KeyError> {
        let spki: PublicKeyX509Der<'static> = match &pair {
            Pair::Rsa(k) => k.public_key().as_der(),
            Pair::Ec(k) => k.public_key().as_der(),
        }
        .map_err(|_| KeyError::Crypto)?;
        let public = PublicKey::from_spki(spki.as_ref())?;
        Ok(SigningKey {
            algorithm: public.algorithm(),
            pair,
            public,
        })
    }

    /// The first private key in a PEM file.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        for block in parse_pem(pem)? {
            if matches!(
                block.label.as_str(),
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY"
            ) {
                return Self::from_der(&block.label, &block.der);
            }
            if block.label == "ENCRYPTED PRIVATE KEY" {
                return Err(KeyError::Rejected {
                    label: block.label,
                    reason: "encrypted keys are not supported".into(),
                });
            }
        }
        Err(KeyError::NoPrivateKey)
    }

    /// A private key given as DER under its PEM label.
    pub fn from_der(label: &str, der: &[u8]) -> Result<Self, KeyError> {
        let rejected = |reason: String| KeyError::Rejected {
            label: label.to_owned(),
            reason,
        };
        let ec =
            |parse: &dyn Fn(&'static EcdsaSigningAlgorithm) -> Result<EcdsaKeyPair, aws_lc_rs::error::KeyRejected>| {
                EC_SIGNING.iter().find_map(|(_, alg)| parse(alg).ok())
            };
        let pair = match label {
            "RSA PRIVATE KEY" => Pair::Rsa(RsaKeyPair::from_der(der).map_err(|e| rejected(e.to_string()))?),
            "EC PRIVATE KEY" => Pair::Ec(
                ec(&|alg| EcdsaKeyPair::from_private_key_der(alg, der))
                    .ok_or_else(|| rejected("not an EC key on P-256, P-384 or P-521".into()))?,
            ),
            _ => match RsaKeyPair::from_pkcs8(der) {
                Ok(rsa) => Pair::Rsa(rsa),
                Err(rsa_error) => Pair::Ec(
                    ec(&|alg| EcdsaKeyPair::from_pkcs8(alg, der))
                        .ok_or_else(|| rejected(format!("neither an RSA ({rsa_error}) nor a P-256/384/521 EC key")))?,
                ),
            },
        };
        Self::new(pair)
    }

    /// The algorithm this key signs with (RS256 for RSA).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The Kubernetes key id.
    pub fn kid(&self) -> String {
        self.public.kid()
    }

    /// The private key as PKCS#8 PEM (`PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let der: Vec<u8> = match &self.pair {
            Pair::Rsa(k) => AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(k)
                .map_err(|_| KeyError::Crypto)?
                .as_ref()
                .to_vec(),
            Pair::Ec(k) => k.to_pkcs8v1().map_err(|_| KeyError::Crypto)?.as_ref().to_vec(),
        };
        Ok(encode_pem("PRIVATE KEY", &der))
    }

    /// The public key as SPKI PEM (`PUBLIC KEY`), for `--service-account-key-file`.
    pub fn public_key_pem(&self) -> String {
        encode_pem("PUBLIC KEY", self.public.spki())
    }

    /// Signs `message` (the JWS signing input) in JWS form (`r || s` for ECDSA).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| KeyError::Crypto)?;
                Ok(sig)
            }
            Pair::Ec(k) => Ok(k.sign(&rng, message).map_err(|_| KeyError::Crypto)?.as_ref().to_vec()),
        }
    }
}
