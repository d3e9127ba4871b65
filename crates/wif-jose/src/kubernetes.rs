//! Projected service-account tokens shaped exactly as kube-apiserver issues them: header
//! `{"alg","kid"}` with no `typ`, `aud` always a list, `iat` = `nbf`, `jti`, and the
//! `kubernetes.io` block naming the namespace, service account and (when bound) the pod.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value, json};

use crate::jws::sign;
use crate::keys::{KeyError, SigningKey};

/// A pod a token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundPod {
    /// Pod name.
    pub name: String,
    /// Pod uid.
    pub uid: String,
}

/// What to put in a projected token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectedToken {
    /// `iss`.
    pub issuer: String,
    /// Namespace of the service account.
    pub namespace: String,
    /// Service account name.
    pub service_account: String,
    /// Service account uid.
    pub service_account_uid: String,
    /// `aud`.
    pub audiences: Vec<String>,
    /// Issue time, Unix seconds.
    pub issued_at: i64,
    /// Lifetime in seconds (`expirationSeconds`).
    pub expiration_seconds: i64,
    /// The bound pod, if any (`kubectl create token` has none).
    pub pod: Option<BoundPod>,
    /// `jti`.
    pub jti: String,
}

/// The audience Entra ID expects of a federated assertion (public cloud).
pub const WORKLOAD_IDENTITY_AUDIENCE: &str = "api://AzureADTokenExchange";

impl ProjectedToken {
    /// The token kubelet would project for `namespace/service_account` of `issuer`, issued
    /// at `issued_at`: the workload-identity audience, an hour's lifetime, no bound pod, and
    /// fresh random uid and `jti` (an RNG failure is the error).
    pub fn for_service_account(
        issuer: &str,
        namespace: &str,
        service_account: &str,
        issued_at: i64,
    ) -> Result<Self, KeyError> {
        Ok(ProjectedToken {
            issuer: issuer.to_owned(),
            namespace: namespace.to_owned(),
            service_account: service_account.to_owned(),
            service_account_uid: random_uuid()?,
            audiences: vec![WORKLOAD_IDENTITY_AUDIENCE.to_owned()],
            issued_at,
            expiration_seconds: 3600,
            pod: None,
            jti: random_uuid()?,
        })
    }

    /// `system:serviceaccount:NS:NAME`.
    pub fn subject(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.service_account)
    }

    /// The claims, in kube-apiserver's field order.
    pub fn claims(&self) -> Value {
        let mut kubernetes = Map::new();
        kubernetes.insert("namespace".into(), json!(self.namespace));
        if let Some(pod) = &self.pod {
            kubernetes.insert("pod".into(), json!({ "name": pod.name, "uid": pod.uid }));
        }
        kubernetes.insert(
            "serviceaccount".into(),
            json!({ "name": self.service_account, "uid": self.service_account_uid }),
        );
        json!({
            "aud": self.audiences,
            "exp": self.issued_at + self.expiration_seconds,
            "iat": self.issued_at,
            "iss": self.issuer,
            "jti": self.jti,
            "kubernetes.io": kubernetes,
            "nbf": self.issued_at,
            "sub": self.subject()
        })
    }

    /// The signed token.
    pub fn sign(&self, key: &SigningKey) -> Result<String, KeyError> {
        sign(key, &Map::new(), &self.claims())
    }
}

/// A random (version 4) UUID, for `jti`, uids and request ids. The bytes come from
/// aws-lc-rs's system random source, so that its failure is an error here (the `uuid` crate's
/// own generator would panic); `uuid` sets the version bits and writes it.
pub fn random_uuid() -> Result<String, KeyError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).map_err(|_| KeyError::Crypto)?;
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, Validation, decode_unverified, jwks_of, verify};

    #[test]
    fn shaped_like_kube_apiserver() {
        let key = SigningKey::generate(Algorithm::RS256).unwrap();
        let spec = ProjectedToken {
            issuer: "https://127.0.0.1:8443/".into(),
            namespace: "demo".into(),
            service_account: "app".into(),
            service_account_uid: random_uuid().unwrap(),
            audiences: vec!["api://AzureADTokenExchange".into()],
            issued_at: 1_750_000_000,
            expiration_seconds: 3600,
            pod: Some(BoundPod {
                name: "web-0".into(),
                uid: random_uuid().unwrap(),
            }),
            jti: random_uuid().unwrap(),
        };
        let token = spec.sign(&key).unwrap();
        let decoded = decode_unverified(&token).unwrap();
        let header_keys: Vec<&String> = decoded.header.keys().collect();
        assert_eq!(header_keys, ["alg", "kid"]);
        let claim_keys: Vec<&String> = decoded.claims.keys().collect();
        assert_eq!(
            claim_keys,
            ["aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"]
        );
        assert_eq!(decoded.claims["sub"], "system:serviceaccount:demo:app");
        assert_eq!(decoded.claims["kubernetes.io"]["pod"]["name"], "web-0");
        assert!(decoded.claims["aud"].is_array());
        let validation = Validation {
            issuer: Some(spec.issuer.clone()),
            audience: Some(spec.audiences[0].clone()),
            ..Validation::default()
        };
        assert!(
            verify(
                &token,
                &jwks_of(&[key.public_key().clone()]),
                &validation,
                1_750_000_100
            )
            .is_ok()
        );
    }

    #[test]
    fn uuids_are_v4() {
        let a = random_uuid().unwrap();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(a, random_uuid().unwrap());
    }
}
