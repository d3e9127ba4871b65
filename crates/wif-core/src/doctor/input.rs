//! What the doctor reads and what it says: the manifests ([`Document`]) with the facts gathered
//! from outside ([`Input`]), and each finding about an object ([`Finding`], [`ObjectRef`]).

use serde_json::Value;

use super::facts::{ClientCredentials, IssuerFacts, TokenFacts};
use crate::rules::{Rule, Severity};
use crate::settings::WebhookSettings;

/// One manifest document, and where it came from.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file (or `standard input`).
    pub source: String,
    /// Its index in that file, 0-based.
    pub index: usize,
    /// The object.
    pub value: Value,
}

/// What a finding concerns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// `Deployment`, `ServiceAccount`, `FederatedIdentityCredential`, `Token`...
    pub kind: String,
    /// Namespace, empty for objects outside Kubernetes.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The file it came from, when it came from one.
    pub source: Option<String>,
    /// Its document in that file (0-based).
    pub document: Option<usize>,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One thing wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule it breaks.
    pub rule: Rule,
    /// The object it concerns.
    pub object: ObjectRef,
    /// What is wrong, with the values involved.
    pub message: String,
    /// What to do, with the exact value to use.
    pub fix: String,
}

impl Finding {
    /// A finding about `object`.
    pub fn new(rule: Rule, object: ObjectRef, message: String, fix: impl Into<String>) -> Self {
        Finding {
            rule,
            object,
            message,
            fix: fix.into(),
        }
    }

    /// The rule's severity.
    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }
}

/// Everything the doctor looks at.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The manifests.
    pub documents: &'a [Document],
    /// Namespace of objects that name none.
    pub default_namespace: &'a str,
    /// The webhook's settings (default tenant, audience...).
    pub settings: &'a WebhookSettings,
    /// The credentials, `None` when none were given (the credential rules are skipped).
    pub credentials: Option<&'a [ClientCredentials]>,
    /// The cluster's issuer, when known (`--issuer-url`, else the token's `iss`).
    pub issuer: Option<&'a str>,
    /// A projected token's claims.
    pub token: Option<&'a TokenFacts>,
    /// What the issuer serves, when it was fetched.
    pub issuer_check: Option<&'a IssuerFacts>,
    /// Now, Unix seconds.
    pub now: i64,
    /// The documents are a live cluster's (`wif doctor --cluster`): what is not among them
    /// does not exist, so a missing MutatingWebhookConfiguration is a finding.
    pub cluster: bool,
}

/// `system:serviceaccount:NAMESPACE:NAME`.
pub fn subject_of(namespace: &str, service_account: &str) -> String {
    format!("system:serviceaccount:{namespace}:{service_account}")
}
