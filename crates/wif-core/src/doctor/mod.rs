//! The doctor: what makes workload identity federation fail, found in manifests, federated
//! identity credentials and a projected token before a pod fails in production, each finding
//! with the rule it breaks, why that breaks federation, and the fix with the exact value.
//! Pure: the CLI reads the files, the token and the issuer and hands their contents in.
//!
//! The checks reuse what the webhook and the emulator run: the mutation planner's warnings
//! and denials (so `kubectl` and the doctor say the same words) and the FIC match and its
//! diagnosis ([`crate::fic`]), the one the emulator's `wif_diagnosis` comes from; a live
//! cluster's stranded pods ([`stranded_pods`]) are judged by the reconciler's rule,
//! [`crate::stranded`].

mod containers;
mod coverage;
mod credential_files;
mod facts;
mod federation;
mod fixes;
mod input;
mod pod_identity;
mod refusals;
mod registration;
mod stranded_pods;
mod token;
mod workloads;

pub use coverage::{Unchecked, unchecked};
pub use credential_files::{CredentialFileError, parse_credentials};
pub use facts::{ClientCredentials, IssuerFacts, TokenFacts};
pub use input::{Document, Finding, Input, ObjectRef, subject_of};
pub use stranded_pods::{LivePods, stranded_pods};

/// Every finding, errors first, then by object; the same finding about the same object is
/// reported once (two workloads with the same mistake are two findings).
pub fn diagnose(input: &Input<'_>) -> Vec<Finding> {
    let mut findings = workloads::check(input);
    findings.extend(registration::check(input));
    findings.extend(pod_identity::check(input));
    if let Some(token) = input.token {
        findings.extend(token::check_token(input, token));
    }
    if let Some(facts) = input.issuer_check {
        findings.extend(token::check_issuer(input, facts));
    }
    settle(&mut findings);
    findings
}

/// Puts findings in report order, errors first, then by object, and reports the same finding
/// about the same object once: what [`diagnose`] returns, and what a caller that adds
/// findings of its own ([`stranded_pods`]) does after.
pub fn settle(findings: &mut Vec<Finding>) {
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert((f.rule, f.object.clone(), f.message.clone())));
    findings.sort_by(|a, b| {
        b.severity()
            .cmp(&a.severity())
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.rule.cmp(&b.rule))
    });
}

#[cfg(test)]
mod tests;
