//! `wif doctor` says what it did not check and the flags that check it, instead of "nothing
//! here stops workload identity federation" after looking at no credential.

use super::super::*;
use super::doctor;

pub const CREDENTIALS: &str = "  federated identity credentials, whether Entra ID accepts each workload's token (fic-* rules): pass --federated-credentials FILE (the emulator's directory) or CLIENT_ID=FILE (az identity federated-credential list -o json)\n";
const ISSUER: &str = "  the issuer's discovery document and keys, which Entra ID fetches (issuer-* rules): pass --check-issuer, with --issuer-url URL or --token FILE\n";
const WEBHOOK: &str = "  whether the API server calls the webhook for these pods (webhook-* rules): pass --cluster, or the MutatingWebhookConfiguration with the manifests\n";
pub const MANIFESTS: &str = "  the workloads and their ServiceAccounts (labels, annotations, containers): pass manifests with -f PATH (or -f - for standard input), or --cluster\n";

#[test]
fn manifests_alone_are_not_called_safe_the_report_names_what_was_not_checked() {
    let out = doctor(&["-f", &fixture("doctor/helm-output.yaml")], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("no findings in what was checked; not checked:\n{CREDENTIALS}{ISSUER}{WEBHOOK}")
    );
    // Credentials alone: no workload to hold them against, no issuer to compare theirs with.
    let out = doctor(&["--federated-credentials", &fixture("doctor/directory.yaml")], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "no findings in what was checked; not checked:\n{MANIFESTS}  the credentials' issuer against the cluster's (fic-issuer): pass --issuer-url URL (the API server's --service-account-issuer) or --token FILE\n{ISSUER}"
        )
    );
}
