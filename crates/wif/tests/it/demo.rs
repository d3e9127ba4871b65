//! `wif demo` runs every step (seed 000's blobs last) and exits 0.

use super::*;

#[test]
fn demo_succeeds_and_reports_each_step() {
    let out = wif(&["demo"], b"");
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("== step 1:"), "{text}");
    assert!(
        text.contains("+       - name: AZURE_CLIENT_ID") || text.contains("+     - name: AZURE_CLIENT_ID"),
        "{text}"
    );
    assert!(
        text.contains("App Service (IDENTITY_ENDPOINT), client_id=writer: the named identity"),
        "the proxy step: {text}"
    );
    assert!(
        text.contains("403 Forbidden (ForbiddenByRbac)") && text.contains("200 db-password = "),
        "the vault step: {text}"
    );
    assert!(
        text.contains("403 AuthorizationPermissionMismatch")
            && text.contains("201 Created")
            && text.contains("401 InvalidAuthenticationInfo"),
        "the storage step: {text}"
    );
    for (n, title) in [
        "the webhook's mutation of a Deployment, rendered offline (wif render)",
        "the webhook over TLS, answering the AdmissionReview kube-apiserver sends for a pod (wif webhook)",
        "a cluster OIDC issuer on loopback, and the projected token it signs (wif issuer)",
        "the projected token exchanged at a local Entra ID for two identities in two tenants (wif sts, wif-client)",
        "an app that only speaks managed identity gets its tokens from the IMDS proxy (wif proxy)",
        "the app reads a Key Vault secret, Azure RBAC deciding, on the local Azure plane (wif sts)",
        "seed 000: the reader reads a blob in tenant A and may not write, the writer writes in tenant B (Blob Storage, Azure RBAC)",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            text.contains(&format!("== step {}: {title}\n", n + 1)),
            "step {}: {text}",
            n + 1
        );
    }
    assert_eq!(
        text.matches("\n   ok\n").count(),
        7,
        "each step checked its result: {text}"
    );
    assert!(!text.contains("FAILED"), "{text}");
    let summary = text.lines().last().unwrap_or_default();
    let (done, total) = summary.split_once(" of ").expect("summary line");
    assert_eq!(done, total.split_whitespace().next().unwrap_or_default(), "{summary}");
}
