//! The signature check: a JWK made ready to verify, the algorithm it fits (its type, curve
//! and declared `alg`; RSA moduli of 2048 bits and more), and the check of a token against a
//! key set, by `kid` when the token names one.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;

use super::error::{JwtError, KeyProblem};
use super::token::{LENIENT_B64, UnverifiedToken, header_algorithm};
use crate::algorithm::Algorithm;
use crate::der::Curve;
use crate::jwk::{Jwk, JwkSet};

/// A JWK made ready to verify: its type decides which algorithms it accepts.
enum KeyMaterial {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { curve: Curve, point: Vec<u8> },
}

/// The smallest RSA modulus accepted, as aws-lc-rs's verifiers and Entra require.
pub const MIN_RSA_BITS: usize = 2048;

fn modulus_bits(n: &[u8]) -> usize {
    let significant = n.iter().position(|b| *b != 0).map_or(&[][..], |i| &n[i..]);
    match significant.first() {
        Some(first) => significant.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

fn key_material(jwk: &Jwk) -> Result<KeyMaterial, KeyProblem> {
    let field = |name: &'static str, value: &Option<String>| -> Result<Vec<u8>, KeyProblem> {
        let text = value.as_deref().ok_or(KeyProblem::Missing(name))?;
        LENIENT_B64
            .decode(text)
            .map_err(|source| KeyProblem::NotBase64 { field: name, source })
    };
    match jwk.kty.as_str() {
        "RSA" => {
            let n = field("n", &jwk.n)?;
            let bits = modulus_bits(&n);
            if bits < MIN_RSA_BITS {
                return Err(KeyProblem::RsaTooSmall {
                    bits,
                    required: MIN_RSA_BITS,
                });
            }
            Ok(KeyMaterial::Rsa {
                n,
                e: field("e", &jwk.e)?,
            })
        }
        "EC" => {
            let curve = jwk.crv.as_deref().and_then(Curve::from_name).ok_or(KeyProblem::Curve)?;
            let (x, y) = (field("x", &jwk.x)?, field("y", &jwk.y)?);
            let len = curve.coordinate_len();
            if x.len() != len || y.len() != len {
                return Err(KeyProblem::Coordinates {
                    len,
                    curve: curve.name(),
                });
            }
            Ok(KeyMaterial::Ec {
                curve,
                point: [&[0x04][..], &x, &y].concat(),
            })
        }
        "oct" => Err(KeyProblem::Symmetric),
        other => Err(KeyProblem::Kty(other.to_owned())),
    }
}

fn check_fit(alg: Algorithm, jwk: &Jwk, material: &KeyMaterial) -> Result<(), JwtError> {
    let mismatch = |key: String| JwtError::AlgorithmKeyMismatch {
        alg,
        kid: jwk.kid.clone(),
        key,
    };
    match material {
        KeyMaterial::Rsa { .. } if alg.rsa_parameters().is_none() => return Err(mismatch("an RSA key".into())),
        KeyMaterial::Ec { curve, .. } if alg.curve() != Some(*curve) => {
            return Err(mismatch(format!("an EC key on {}", curve.name())));
        }
        _ => {}
    }
    match jwk.alg.as_deref() {
        Some(declared) if declared != alg.name() => Err(mismatch(format!("declared for {declared}"))),
        _ => Ok(()),
    }
}

fn verify_signature(alg: Algorithm, material: &KeyMaterial, message: &[u8], sig: &[u8]) -> bool {
    match material {
        KeyMaterial::Rsa { n, e } => alg
            .rsa_parameters()
            .is_some_and(|params| RsaPublicKeyComponents { n, e }.verify(params, message, sig).is_ok()),
        KeyMaterial::Ec { curve, point } => {
            let verifier: &'static signature::EcdsaVerificationAlgorithm = match curve {
                Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
                Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
                Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
            };
            UnparsedPublicKey::new(verifier, point).verify(message, sig).is_ok()
        }
    }
}

/// Checks the signature against the JWKS: the key with the token's `kid`, or, for a token
/// without `kid`, any key whose type fits its `alg`.
pub fn verify_signature_with(token: &UnverifiedToken, keys: &JwkSet) -> Result<Algorithm, JwtError> {
    let alg = header_algorithm(token)?;
    let kid = token.kid();
    let unknown = || JwtError::UnknownKid {
        kid: kid.map(str::to_owned),
        available: keys.keys.len(),
        known: keys.keys.iter().filter_map(|k| k.kid.clone()).collect(),
        skipped: keys.skipped.clone(),
    };
    let message = token.signing_input.as_bytes();
    match kid {
        Some(kid) => {
            let mut last_error = None;
            for jwk in keys.find(kid) {
                let material = match key_material(jwk) {
                    Ok(m) => m,
                    Err(reason) => {
                        last_error = Some(JwtError::UnusableKey {
                            kid: jwk.kid.clone(),
                            reason,
                        });
                        continue;
                    }
                };
                if let Err(e) = check_fit(alg, jwk, &material) {
                    last_error = Some(e);
                    continue;
                }
                if verify_signature(alg, &material, message, &token.signature) {
                    return Ok(alg);
                }
                last_error = Some(JwtError::BadSignature { kid: jwk.kid.clone() });
            }
            Err(last_error.unwrap_or_else(unknown))
        }
        None => {
            let mut tried = false;
            for jwk in &keys.keys {
                let Ok(material) = key_material(jwk) else { continue };
                if check_fit(alg, jwk, &material).is_err() {
                    continue;
                }
                tried = true;
                if verify_signature(alg, &material, message, &token.signature) {
                    return Ok(alg);
                }
            }
            Err(if tried {
                JwtError::BadSignature { kid: None }
            } else {
                unknown()
            })
        }
    }
}
