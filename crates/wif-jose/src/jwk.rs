//! JSON Web Keys: the JWK and JWKS documents (as kube-apiserver and `azwi jwks` write them),
//! public keys read from PEM files, and the Kubernetes key id.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::der::{self, Curve, SpkiKey};
use crate::jws::Algorithm;
use crate::keys::{KeyError, SigningKey};
use crate::pem::parse_pem;

/// One JSON Web Key. Field order is `azwi jwks`'s: `use, kty, kid, crv, alg, n|x, e|y`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// `RSA`, `EC` (and `oct`, which is never usable here).
    #[serde(default)]
    pub kty: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// EC curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Algorithm the key is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// RSA modulus (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// EC x coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA exponent (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// A JWK Set: `{"keys": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys, in document order.
    pub keys: Vec<Jwk>,
    /// Keys of the document that were left out, and why (a member of the wrong type, a key
    /// for encryption): kept so that a refusal can say so.
    #[serde(skip)]
    pub skipped: Vec<String>,
}

#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

impl JwkSet {
    /// Parses a JWKS document. A key that does not read as a JWK (`"kid": 5`) or that is
    /// marked `"use": "enc"` is left out and named in [`JwkSet::skipped`], as Microsoft's
    /// validation skips it, so one odd key does not hide the others; keys of unknown types
    /// are kept (and refused when used). Only a document that is not `{"keys": [...]}` is
    /// an error.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawJwkSet = serde_json::from_slice(bytes)?;
        let mut set = JwkSet::default();
        for (index, value) in raw.keys.into_iter().enumerate() {
            let kid = match value.get("kid") {
                Some(serde_json::Value::String(kid)) => format!("key {index} (kid {kid:?})"),
                _ => format!("key {index}"),
            };
            match serde_json::from_value::<Jwk>(value) {
                Ok(jwk) if jwk.use_.as_deref() == Some("enc") => set.skipped.push(format!(
                    "{kid} is marked \"use\": \"enc\" (for encryption, not signatures)"
                )),
                Ok(jwk) => set.keys.push(jwk),
                Err(e) => set.skipped.push(format!("{kid} is not a valid JWK: {e}")),
            }
        }
        Ok(set)
    }

    /// Pretty JSON with two-space indent and no trailing newline, as `azwi jwks` writes.
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The keys whose `kid` is `kid`.
    pub fn find<'a>(&'a self, kid: &'a str) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys.iter().filter(move |k| k.kid.as_deref() == Some(kid))
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
mod tests {
    use super::*;

    // azwi's golden vector is checked once, through `wif jwks` (crates/wif/tests/it/issuer.rs).

    #[test]
    fn every_key_kind_in_one_file() {
        let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
        let p256 = SigningKey::generate(Algorithm::ES256).unwrap();
        let p384 = SigningKey::generate(Algorithm::ES384).unwrap();
        let p521 = SigningKey::generate(Algorithm::ES512).unwrap();
        let pem = [
            rsa.to_pkcs8_pem().unwrap(),
            p256.public_key_pem(),
            p384.to_pkcs8_pem().unwrap(),
            p521.public_key_pem(),
        ]
        .concat();
        let keys = public_keys_from_pem(pem.as_bytes()).unwrap();
        let algs: Vec<&str> = keys.iter().map(|k| k.algorithm().name()).collect();
        assert_eq!(algs, ["RS256", "ES256", "ES384", "ES512"]);
        assert_eq!(keys[0].kid(), rsa.kid());
        let jwk = keys[3].to_jwk();
        assert_eq!(jwk.crv.as_deref(), Some("P-521"));
        assert_eq!(URL_SAFE_NO_PAD.decode(jwk.x.unwrap()).unwrap().len(), 66);
    }

    #[test]
    fn pem_without_keys_is_an_error() {
        let csr = crate::pem::encode_pem("CERTIFICATE REQUEST", &[1, 2, 3]);
        assert!(matches!(public_keys_from_pem(csr.as_bytes()), Err(KeyError::NoKeys)));
        assert!(matches!(
            public_keys_from_pem(b"garbage"),
            Err(KeyError::Pem(crate::pem::PemError::NoBlocks))
        ));
        let bad = crate::pem::encode_pem("PUBLIC KEY", &[0x30, 0x03, 1, 2, 3]);
        assert!(matches!(
            public_keys_from_pem(bad.as_bytes()),
            Err(KeyError::Der(crate::der::DerError {
                what: "subjectPublicKeyInfo",
                ..
            }))
        ));
    }
}
