//! The doctor: what makes workload identity federation fail, found in manifests, federated
//! identity credentials and a projected token before a pod fails in production, each finding
//! with the rule it breaks, why that breaks federation, and the fix with the exact value.
//! Pure: the CLI reads the files, the token and the issuer and hands their contents in.
//!
//! The checks reuse what the webhook and the emulator run: the mutation planner's warnings
//! and denials (so `kubectl` and the doctor say the same words) and the FIC match and its
//! diagnosis ([`crate::fic`]), the one the emulator's `wif_diagnosis` comes from.

mod credential_files;
mod federation;
mod fixes;
mod registration;
mod token;
mod workloads;

use serde_json::Value;

pub use credential_files::{CredentialFileError, parse_credentials};
pub use federation::ClientCredentials;
pub use token::{IssuerFacts, TokenFacts};

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

/// Every finding, errors first, then by object; the same finding about the same object is
/// reported once (two workloads with the same mistake are two findings).
pub fn diagnose(input: &Input<'_>) -> Vec<Finding> {
    let mut findings = workloads::check(input);
    findings.extend(registration::check(input));
    if let Some(token) = input.token {
        findings.extend(token::check_token(input, token));
    }
    if let Some(facts) = input.issuer_check {
        findings.extend(token::check_issuer(input, facts));
    }
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert((f.rule, f.object.clone(), f.message.clone())));
    findings.sort_by(|a, b| {
        b.severity()
            .cmp(&a.severity())
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.rule.cmp(&b.rule))
    });
    findings
}

/// `system:serviceaccount:NAMESPACE:NAME`.
pub fn subject_of(namespace: &str, service_account: &str) -> String {
    format!("system:serviceaccount:{namespace}:{service_account}")
}

#[cfg(test)]
mod tests;
