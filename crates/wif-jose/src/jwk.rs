//! JSON Web Keys: the JWK and JWKS documents, as kube-apiserver and `azwi jwks` write them and
//! Entra reads them. (The keys themselves, and the JWKs made from them, are [`crate::keys`]'s.)

use serde::{Deserialize, Serialize};

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
