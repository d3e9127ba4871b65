//! What the doctor did not check, for want of an input: the credential rules without
//! credentials, the issuer without `--check-issuer`, the webhook's registration without the
//! cluster... so that "no findings" is never read as "nothing wrong" when nothing was looked
//! at, and the person knows which flag checks the rest. Pure: it reads the [`Input`] only.
//! The rules themselves are the other modules'.

use super::input::Input;
use super::registration;

/// A part of a setup the doctor did not look at, and the flags that make it look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Unchecked {
    /// No manifests and no cluster: no workload, ServiceAccount or label was read.
    Manifests,
    /// No federated identity credentials: whether Entra ID accepts a token (the `fic-*` rules).
    Credentials,
    /// Credentials, but no issuer to compare theirs with: each credential's own issuer was
    /// taken as the token's.
    CredentialIssuer,
    /// The issuer's discovery document and keys were not fetched (the `issuer-*` rules).
    IssuerDocuments,
    /// Manifests without a MutatingWebhookConfiguration, and no cluster: whether the API
    /// server calls the webhook (the `webhook-*` rules).
    WebhookRegistration,
}

impl Unchecked {
    /// What was not checked, for a person.
    pub fn what(self) -> &'static str {
        match self {
            Unchecked::Manifests => "the workloads and their ServiceAccounts (labels, annotations, containers)",
            Unchecked::Credentials => {
                "federated identity credentials, whether Entra ID accepts each workload's token (fic-* rules)"
            }
            Unchecked::CredentialIssuer => "the credentials' issuer against the cluster's (fic-issuer)",
            Unchecked::IssuerDocuments => {
                "the issuer's discovery document and keys, which Entra ID fetches (issuer-* rules)"
            }
            Unchecked::WebhookRegistration => {
                "whether the API server calls the webhook for these pods (webhook-* rules)"
            }
        }
    }

    /// How to check it: the flags to pass.
    pub fn how(self) -> &'static str {
        match self {
            Unchecked::Manifests => "pass manifests with -f PATH (or -f - for standard input), or --cluster",
            Unchecked::Credentials => {
                "pass --federated-credentials FILE (the emulator's directory) or CLIENT_ID=FILE (az identity federated-credential list -o json)"
            }
            Unchecked::CredentialIssuer => {
                "pass --issuer-url URL (the API server's --service-account-issuer) or --token FILE"
            }
            Unchecked::IssuerDocuments => "pass --check-issuer, with --issuer-url URL or --token FILE",
            Unchecked::WebhookRegistration => "pass --cluster, or the MutatingWebhookConfiguration with the manifests",
        }
    }
}

/// What the doctor does not check with `input`, in the order of [`Unchecked`].
pub fn unchecked(input: &Input<'_>) -> Vec<Unchecked> {
    let mut out = Vec::new();
    if input.documents.is_empty() && !input.cluster {
        out.push(Unchecked::Manifests);
    }
    if input.credentials.is_none() {
        out.push(Unchecked::Credentials);
    } else if input.issuer.is_none() {
        out.push(Unchecked::CredentialIssuer);
    }
    if input.issuer_check.is_none() {
        out.push(Unchecked::IssuerDocuments);
    }
    if !input.documents.is_empty() && !registration::judged(input) {
        out.push(Unchecked::WebhookRegistration);
    }
    out
}
