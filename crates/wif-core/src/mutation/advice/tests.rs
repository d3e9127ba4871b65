//! The advice's words: annotation typos, opt-ins that miss, identities that cannot work.

use super::*;

fn ann<'a>(pairs: &[(&'a str, &'a str)]) -> Annotations<'a> {
    pairs.iter().copied().collect()
}

#[test]
fn guids() {
    assert!(is_guid("11111111-2222-3333-4444-555555555555"));
    assert!(is_guid("ABCDEF01-abcd-0000-aaaa-0123456789ab"));
    assert!(!is_guid("client-id"));
    assert!(!is_guid("11111111-2222-3333-4444-55555555555"));
    assert!(!is_guid("1111111g-2222-3333-4444-555555555555"));
}

#[test]
fn typos_of_our_keys_are_named_with_the_fix() {
    let cases = [
        ("azure.workload.identity/client_id", contract::ANNOTATION_CLIENT_ID),
        ("azure.workload.identity/clientid", contract::ANNOTATION_CLIENT_ID),
        ("azure.workload.identity/client-Id", contract::ANNOTATION_CLIENT_ID),
        ("azure.workload.identity.io/client-id", contract::ANNOTATION_CLIENT_ID),
        ("azure-workload-identity/tenant-id", contract::ANNOTATION_TENANT_ID),
        ("azure.workload.identity/tenantid", contract::ANNOTATION_TENANT_ID),
    ];
    for (typo, fix) in cases {
        let w = annotation_warnings(Target::ServiceAccount, "ns/sa", &ann(&[(typo, "x")]), &[]);
        assert_eq!(w.len(), 1, "{typo}: {w:?}");
        assert!(w[0].contains(&format!("did you mean {fix:?}")), "{typo}: {w:?}");
    }
}

#[test]
fn keys_on_the_wrong_object_are_named() {
    let w = annotation_warnings(Target::Pod, "ns/p", &ann(&[(contract::ANNOTATION_CLIENT_ID, "x")]), &[]);
    assert!(w[0].contains("read from the ServiceAccount, not the pod"), "{w:?}");
    let w = annotation_warnings(
        Target::ServiceAccount,
        "ns/sa",
        &ann(&[(contract::ANNOTATION_SKIP_CONTAINERS, "x")]),
        &[],
    );
    assert!(w[0].contains("read from the pod"), "{w:?}");
}

#[test]
fn correct_and_foreign_keys_are_quiet() {
    let sa = ann(&[
        (contract::ANNOTATION_CLIENT_ID, "x"),
        (contract::ANNOTATION_TENANT_ID, "y"),
        ("kubernetes.io/enforce-mountable-secrets", "true"),
        ("eks.amazonaws.com/role-arn", "arn"),
    ]);
    assert!(annotation_warnings(Target::ServiceAccount, "ns/sa", &sa, &[]).is_empty());
    let pod = ann(&[
        (contract::ANNOTATION_SKIP_CONTAINERS, "a"),
        ("azure.workload.identity/use-identity-binding", "true"),
    ]);
    assert!(
        annotation_warnings(
            Target::Pod,
            "ns/p",
            &pod,
            &["azure.workload.identity/use-identity-binding"]
        )
        .is_empty()
    );
}

#[test]
fn unknown_key_under_our_prefix_is_flagged() {
    let w = annotation_warnings(
        Target::Pod,
        "ns/p",
        &ann(&[("azure.workload.identity/audience", "x")]),
        &[],
    );
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("not one the webhook reads"));
}

#[test]
fn identity_advice() {
    let w = identity_warnings("ns/sa", "", "11111111-2222-3333-4444-555555555555", false);
    assert!(w[0].contains("AZURE_CLIENT_ID is not injected"));
    assert!(identity_warnings("ns/sa", "", "t", true).len() == 1);
    let w = identity_warnings("ns/sa", "not-a-guid", "contoso.onmicrosoft.com", false);
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("AADSTS700016"));
    let w = identity_warnings("ns/sa", "11111111-2222-3333-4444-555555555555", "bad tenant!", false);
    assert!(w[0].contains("AADSTS90002"));
}

#[test]
fn near_misses_of_the_opt_in() {
    let map = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
    let rules = |workload: Option<serde_json::Value>, labels: serde_json::Value, annotations: serde_json::Value| {
        let (w, l, a) = (workload.map(map), map(labels), map(annotations));
        opt_in_advice(w.as_ref(), Some(&l), Some(&a))
            .into_iter()
            .map(|a| a.rule)
            .collect::<Vec<_>>()
    };
    use serde_json::json;
    let none = json!({});
    assert_eq!(rules(None, json!({contract::LABEL_USE: "true"}), none.clone()), []);
    assert_eq!(
        rules(None, json!({"app": "x"}), none.clone()),
        [],
        "nothing suggests an opt-in"
    );
    assert_eq!(
        rules(None, json!({contract::LABEL_USE: true}), none.clone()),
        [Rule::LabelNotString]
    );
    for value in ["True", "yes", "1"] {
        assert_eq!(
            rules(None, json!({contract::LABEL_USE: value}), none.clone()),
            [Rule::LabelValue],
            "{value}"
        );
    }
    for typo in [
        "azure.workload.identity/used",
        "azure.workload.identity/Use",
        "azure-workload-identity/use",
        "azure.workload.identity/use2",
    ] {
        let found = rules(None, json!({typo: "true"}), none.clone());
        assert_eq!(found, [Rule::LabelTypo], "{typo}");
    }
    assert_eq!(
        rules(
            None,
            json!({"azure.workload.identity/other-thing": "true"}),
            none.clone()
        ),
        []
    );
    assert_eq!(
        rules(None, none.clone(), json!({contract::LABEL_USE: "true"})),
        [Rule::LabelAsAnnotation]
    );
    assert_eq!(
        rules(Some(json!({contract::LABEL_USE: "true"})), none.clone(), none.clone()),
        [Rule::LabelOnWorkload]
    );
    let message = &opt_in_advice(None, Some(&map(json!({"azure.workload.identity/used": "true"}))), None)[0].message;
    assert_eq!(
        message,
        "label \"azure.workload.identity/used\" is not \"azure.workload.identity/use\", which the webhook matches; did you mean azure.workload.identity/use: \"true\"? Not mutated."
    );
}

#[test]
fn proxy_off_values_warn() {
    assert!(proxy_value_warning("ns/p", "false").is_some());
    assert!(proxy_value_warning("ns/p", "FALSE").is_some());
    assert!(proxy_value_warning("ns/p", "true").is_none());
    assert!(proxy_value_warning("ns/p", "").is_none());
}

#[test]
fn edit_distance() {
    assert_eq!(levenshtein("kitten", "sitting"), 3);
    assert_eq!(levenshtein("", "abc"), 3);
    assert_eq!(levenshtein("same", "same"), 0);
}
