//! `wif render`'s opt-in advice beyond one pod template's own labels: the label left on a
//! ServiceAccount (the opt-in before v1.0) is warned about, naming the pod templates that run
//! as that account, in the doctor's words.

use serde_json::Value;

use super::super::*;
use super::{TENANT, parse};

#[test]
fn the_label_on_a_service_account_is_warned_about_naming_the_templates_that_use_it() {
    let file = fixture("preview-era.yaml");
    let advice = "the label azure.workload.identity/use is on the ServiceAccount, and the webhook reads it from pods only; it belongs on the pod template of Deployment seed/web (spec.template.metadata.labels), which runs as this ServiceAccount and is not mutated";
    let out = wif(&["render", "-f", &file, TENANT], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "warning: document 1, ServiceAccount seed/fed-sa: {advice}\nwif render: 1 of 2 pod templates mutated\n"
        )
    );
    let docs = parse(&stdout(&out));
    assert_eq!(docs.len(), 4, "every document written");
    assert_eq!(
        docs[0]["metadata"]["labels"]["azure.workload.identity/use"], "true",
        "left as it was"
    );
    let strict = wif(&["render", "-f", &file, TENANT, "--strict"], b"");
    assert!(!strict.status.success());
    assert_eq!(stdout(&strict), "");

    // The doctor says the same words about the ServiceAccount, beside the Deployment's own finding.
    let doctor = wif(&["doctor", "-f", &file, "-o", "json"], b"");
    let report: Value = serde_json::from_str(&stdout(&doctor)).unwrap();
    let findings: Vec<(&str, &str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default(),
                f["object"]["name"].as_str().unwrap_or_default(),
                f["message"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert_eq!(findings[0].0, "label-missing");
    assert_eq!(findings[0].1, "web");
    assert_eq!(findings[1], ("label-on-service-account", "fed-sa", advice));
}
