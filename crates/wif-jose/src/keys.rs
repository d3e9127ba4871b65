//! Keys, private and public. Signing keys: generated, or read from PEM (PKCS#8, PKCS#1 RSA,
//! SEC1 EC), written back as PKCS#8, and the JWS signatures they make. Public keys: from an
//! SPKI, a certificate or a private key in PEM, with the Kubernetes key id, as the JWKs
//! kube-apiserver and `azwi jwks` publish.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::algorithm::Algorithm;
use crate::der::{self, Curve, DerError, SpkiKey};
use crate::jwk::{Jwk, JwkSet};
use crate::pem::{PemError, encode_pem, parse_pem};

/// A key file that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM itself is broken.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// A key or certificate structure is broken or of an unsupported kind.
    #[error(transparent)]
    Der(DerError),
    /// A private key of a kind not supported (encrypted, an EC key on another curve).
    #[error("unusable {label}: {reason}")]
    Rejected {
        /// PEM label.
        label: String,
        /// Why.
        reason: &'static str,
    },
    /// A private key aws-lc-rs refuses (too small, corrupt); its reason is the source.
    #[error("unusable {label}")]
    RejectedByCrypto {
        /// PEM label.
        label: String,
        /// aws-lc-rs's reason.
        #[source]
        cause: aws_lc_rs::error::KeyRejected,
    },
    /// A PKCS#8 private key that is neither an RSA key (aws-lc-rs's reason for refusing it as
    /// one is the source) nor an EC key on P-256, P-384 or P-521.
    #[error("unusable {label}: neither an RSA key nor a P-256, P-384 or P-521 EC key")]
    NeitherRsaNorEc {
        /// PEM label.
        label: String,
        /// Why it is not an RSA key.
        #[source]
        rsa: aws_lc_rs::error::KeyRejected,
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
                    reason: "encrypted keys are not supported",
                });
            }
        }
        Err(KeyError::NoPrivateKey)
    }

    /// A private key given as DER under its PEM label.
    pub fn from_der(label: &str, der: &[u8]) -> Result<Self, KeyError> {
        let ec =
            |parse: &dyn Fn(&'static EcdsaSigningAlgorithm) -> Result<EcdsaKeyPair, aws_lc_rs::error::KeyRejected>| {
                EC_SIGNING.iter().find_map(|(_, alg)| parse(alg).ok())
            };
        let pair = match label {
            "RSA PRIVATE KEY" => Pair::Rsa(RsaKeyPair::from_der(der).map_err(|cause| KeyError::RejectedByCrypto {
                label: label.to_owned(),
                cause,
            })?),
            "EC PRIVATE KEY" => {
                Pair::Ec(
                    ec(&|alg| EcdsaKeyPair::from_private_key_der(alg, der)).ok_or_else(|| KeyError::Rejected {
                        label: label.to_owned(),
                        reason: "not an EC key on P-256, P-384 or P-521",
                    })?,
                )
            }
            _ => match RsaKeyPair::from_pkcs8(der) {
                Ok(rsa) => Pair::Rsa(rsa),
                Err(rsa) => Pair::Ec(ec(&|alg| EcdsaKeyPair::from_pkcs8(alg, der)).ok_or_else(|| {
                    KeyError::NeitherRsaNorEc {
                        label: label.to_owned(),
                        rsa,
                    }
                })?),
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

/// Kubernetes' key id: unpadded base64url of SHA-256 over the DER SubjectPublicKeyInfo.
pub fn key_id(spki_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, spki_der))
}

/// A public key, with the SPKI it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    spki: Vec<u8>,
    key: SpkiKey,
}

impl PublicKey {
    /// From SubjectPublicKeyInfo DER.
    pub fn from_spki(spki: &[u8]) -> Result<Self, KeyError> {
        let key = der::parse_spki(spki).map_err(KeyError::Der)?;
        Ok(PublicKey {
            spki: spki.to_vec(),
            key,
        })
    }

    /// The SPKI DER.
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// The key id kube-apiserver gives this key.
    pub fn kid(&self) -> String {
        key_id(&self.spki)
    }

    /// The algorithm kube-apiserver signs with for this key: RS256 for RSA, ES256/384/512 by curve.
    pub fn algorithm(&self) -> Algorithm {
        match &self.key {
            SpkiKey::Rsa { .. } => Algorithm::RS256,
            SpkiKey::Ec { curve: Curve::P256, .. } => Algorithm::ES256,
            SpkiKey::Ec { curve: Curve::P384, .. } => Algorithm::ES384,
            SpkiKey::Ec { curve: Curve::P521, .. } => Algorithm::ES512,
        }
    }

    /// The JWK, as `azwi jwks` and kube-apiserver publish it.
    pub fn to_jwk(&self) -> Jwk {
        let b64 = |bytes: &[u8]| Some(URL_SAFE_NO_PAD.encode(bytes));
        let mut jwk = Jwk {
            use_: Some("sig".into()),
            kid: Some(self.kid()),
            alg: Some(self.algorithm().name().into()),
            ..Jwk::default()
        };
        match &self.key {
            SpkiKey::Rsa { n, e } => {
                jwk.kty = "RSA".into();
                jwk.n = b64(n);
                jwk.e = b64(e);
            }
            SpkiKey::Ec { curve, point } => {
                let len = curve.coordinate_len();
                jwk.kty = "EC".into();
                jwk.crv = Some(curve.name().into());
                jwk.x = b64(&point[1..=len]);
                jwk.y = b64(&point[1 + len..]);
            }
        }
        jwk
    }
}

/// Every public key in a PEM file: public keys (`PUBLIC KEY`, `RSA PUBLIC KEY`), certificates,
/// and the public half of private keys (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`),
/// as kube-apiserver's `--service-account-key-file` accepts them.
pub fn public_keys_from_pem(pem: &[u8]) -> Result<Vec<PublicKey>, KeyError> {
    let mut keys = Vec::new();
    for block in parse_pem(pem)? {
        let key = match block.label.as_str() {
            "PUBLIC KEY" => PublicKey::from_spki(&block.der)?,
            "RSA PUBLIC KEY" => PublicKey::from_spki(&der::rsa_spki_from_pkcs1(&block.der).map_err(KeyError::Der)?)?,
            "CERTIFICATE" => PublicKey::from_spki(&der::certificate_spki(&block.der).map_err(KeyError::Der)?)?,
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                SigningKey::from_der(&block.label, &block.der)?.public_key().clone()
            }
            _ => continue,
        };
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(KeyError::NoKeys);
    }
    Ok(keys)
}

/// A JWKS of the given keys, duplicates (same kid) dropped.
pub fn jwks_of(keys: &[PublicKey]) -> JwkSet {
    let mut set = JwkSet::default();
    for key in keys {
        let jwk = key.to_jwk();
        if !set.keys.iter().any(|k| k.kid == jwk.kid) {
            set.keys.push(jwk);
        }
    }
    set
}

#[cfg(test)]
mod tests;
