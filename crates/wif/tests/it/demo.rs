//! `wif demo` runs every step (the proxy's last) and exits 0.

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
    let summary = text.lines().last().unwrap_or_default();
    let (done, total) = summary.split_once(" of ").expect("summary line");
    assert_eq!(done, total.split_whitespace().next().unwrap_or_default(), "{summary}");
}
