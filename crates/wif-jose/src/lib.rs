//! wif-jose: the JOSE layer of wif, strict by default. It verifies compact JWS tokens
//! (RS256/384/512, PS256/384/512, ES256/384/512) against a JWKS with the algorithm taken from
//! the key, signs with RS256/ES256/ES384/ES512, reads public and private keys from PEM into
//! JWKs with the key id kube-apiserver computes, and builds the OIDC discovery document and
//! projected-token claims of a Kubernetes issuer. No I/O: bytes and values in and out.

pub mod algorithm;
pub mod der;
pub mod discovery;
pub mod jwk;
pub mod jws;
pub mod keys;
pub mod kubernetes;
pub mod pem;

pub use jwk::{Jwk, JwkSet};
pub use jws::{Algorithm, JwtError, UnverifiedToken, Validation, VerifiedToken, decode_unverified, sign, verify};
pub use keys::{KeyError, PublicKey, SigningKey, jwks_of, key_id, public_keys_from_pem};
