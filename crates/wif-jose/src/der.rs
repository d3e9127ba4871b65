//! Reading the X.509 and SPKI structures this crate needs, with RustCrypto's `x509-cert`,
//! `spki` and `pkcs1` (strict DER decoders kept by the people who keep the PKCS and X.509
//! crates of the Rust ecosystem): a certificate's SubjectPublicKeyInfo, an SPKI's
//! algorithm, curve and key, and the SPKI of a PKCS#1 RSA key. Anything cryptographic is
//! aws-lc-rs's job; a certificate's validity is TLS's concern (`wif_server::pki`).

use der::asn1::{BitStringRef, ObjectIdentifier, UintRef};
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

/// A malformed or unsupported structure; `what` says where, `detail` what the decoder saw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DER: {what}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
pub struct DerError {
    /// What could not be read.
    pub what: &'static str,
    /// The decoder's own words, when it had any.
    pub detail: Option<String>,
}

impl DerError {
    fn at(what: &'static str) -> Self {
        DerError { what, detail: None }
    }

    fn decoding(what: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |e| DerError {
            what,
            detail: Some(e.to_string()),
        }
    }
}

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// An elliptic curve JOSE knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// P-256 (ES256).
    P256,
    /// P-384 (ES384).
    P384,
    /// P-521 (ES512).
    P521,
}

impl Curve {
    /// The JWK `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// From a JWK `crv`.
    pub fn from_name(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            _ => None,
        }
    }

    /// Bytes of one coordinate.
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            Curve::P256 => OID_P256,
            Curve::P384 => OID_P384,
            Curve::P521 => OID_P521,
        }
    }
}

/// The public key inside an SPKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpkiKey {
    /// RSA: modulus and exponent, big-endian, without leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// EC: the curve and the uncompressed point `04 || x || y`.
    Ec {
        /// Curve.
        curve: Curve,
        /// Uncompressed point.
        point: Vec<u8>,
    },
}

fn certificate(cert: &[u8]) -> Result<x509_cert::Certificate, DerError> {
    x509_cert::Certificate::from_der(cert).map_err(DerError::decoding("certificate"))
}

/// The SubjectPublicKeyInfo (whole encoding) of an X.509 certificate.
pub fn certificate_spki(cert: &[u8]) -> Result<Vec<u8>, DerError> {
    certificate(cert)?
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(DerError::decoding("subjectPublicKeyInfo"))
}

fn unsigned(int: UintRef<'_>) -> Vec<u8> {
    // DER integers carry no redundant zeros; an empty one is zero.
    match int.as_bytes() {
        [] => vec![0],
        bytes => bytes.to_vec(),
    }
}

/// Reads an SPKI: RSA or EC on P-256/384/521; anything else is refused.
pub fn parse_spki(spki: &[u8]) -> Result<SpkiKey, DerError> {
    let info = SubjectPublicKeyInfoRef::from_der(spki).map_err(DerError::decoding("subjectPublicKeyInfo"))?;
    let key = info
        .subject_public_key
        .as_bytes()
        .ok_or(DerError::at("public key bit string"))?;
    let AlgorithmIdentifierRef { oid, parameters } = info.algorithm;
    if oid == OID_RSA_ENCRYPTION {
        if parameters.is_some_and(|p| !p.is_null()) {
            return Err(DerError::at("rsa parameters"));
        }
        let rsa = pkcs1::RsaPublicKey::<UintRef<'_>>::from_der(key).map_err(DerError::decoding("RSAPublicKey"))?;
        return Ok(SpkiKey::Rsa {
            n: unsigned(rsa.modulus),
            e: unsigned(rsa.public_exponent),
        });
    }
    if oid == OID_EC_PUBLIC_KEY {
        let curve_oid: ObjectIdentifier = parameters
            .ok_or(DerError::at("named curve"))?
            .decode_as()
            .map_err(DerError::decoding("named curve"))?;
        let curve = [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| c.oid() == curve_oid)
            .ok_or(DerError::at("unknown private key curve, must be 256, 384, or 521"))?;
        if key.len() != 1 + 2 * curve.coordinate_len() || key.first() != Some(&0x04) {
            return Err(DerError::at("EC point (only uncompressed points are supported)"));
        }
        return Ok(SpkiKey::Ec {
            curve,
            point: key.to_vec(),
        });
    }
    Err(DerError::at("key algorithm (only RSA and EC keys are supported)"))
}

/// The SPKI of an RSA key given as PKCS#1 `RSAPublicKey` DER; the key must parse as one.
pub fn rsa_spki_from_pkcs1(pkcs1: &[u8]) -> Result<Vec<u8>, DerError> {
    pkcs1::RsaPublicKey::<UintRef<'_>>::from_der(pkcs1).map_err(DerError::decoding("RSAPublicKey"))?;
    let info = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid: OID_RSA_ENCRYPTION,
            parameters: Some(der::asn1::AnyRef::NULL),
        },
        subject_public_key: BitStringRef::from_bytes(pkcs1).map_err(DerError::decoding("public key bit string"))?,
    };
    info.to_der().map_err(DerError::decoding("subjectPublicKeyInfo"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_garbage_input_is_an_error() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 1],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x02, 0x01, 0x00],
        ] {
            assert!(
                parse_spki(bad).is_err_and(|e| e.what == "subjectPublicKeyInfo"),
                "{bad:?}"
            );
            assert!(certificate_spki(bad).is_err_and(|e| e.what == "certificate"), "{bad:?}");
            assert!(
                rsa_spki_from_pkcs1(bad).is_err_and(|e| e.what == "RSAPublicKey"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_rsa_key_round_trips_through_pkcs1() {
        let key = crate::SigningKey::generate(crate::Algorithm::RS256).unwrap();
        let spki = key.public_key().spki().to_vec();
        let SpkiKey::Rsa { n, e } = parse_spki(&spki).unwrap() else {
            panic!("an RSA key")
        };
        assert_eq!(e, [1, 0, 1]);
        assert_eq!(n.len(), 256);
        let info = SubjectPublicKeyInfoRef::from_der(&spki).unwrap();
        let pkcs1 = info.subject_public_key.as_bytes().unwrap();
        assert_eq!(rsa_spki_from_pkcs1(pkcs1).unwrap(), spki);
    }
}
