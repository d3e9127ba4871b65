//! The cheap look on metadata, the reasons' labels, and the summaries of what is missing.

use super::*;

#[test]
fn worth_a_look_on_metadata() {
    let labelled = BTreeMap::from([(contract::LABEL_USE.to_owned(), "true".to_owned())]);
    let metadata = |pod: &Value| -> BTreeMap<String, String> {
        serde_json::from_value(pod["metadata"]["annotations"].clone()).unwrap_or_default()
    };
    let s = settings();
    let mutated = metadata(&stored_pod());
    assert!(!worth_a_look(&labelled, &mutated, Some(&app()), &s));
    assert!(worth_a_look(&labelled, &BTreeMap::new(), Some(&app()), &s));
    assert!(worth_a_look(&labelled, &mutated, None, &s));
    assert!(worth_a_look(&labelled, &mutated, Some(&account(&[])), &s));
    let named = account(&[
        (contract::ANNOTATION_CLIENT_ID, CLIENT),
        ("wif.dev/client-id.reader", OTHER_CLIENT),
    ]);
    assert!(worth_a_look(&labelled, &mutated, Some(&named), &s));
    let refusing = account(&[
        (contract::ANNOTATION_CLIENT_ID, CLIENT),
        (contract::ANNOTATION_TOKEN_EXPIRATION, "x"),
    ]);
    assert!(worth_a_look(&labelled, &mutated, Some(&refusing), &s));
    // The token lifetime is not in the record: only the full look sees it.
    let longer = account(&[
        (contract::ANNOTATION_CLIENT_ID, CLIENT),
        (contract::ANNOTATION_TOKEN_EXPIRATION, "7200"),
    ]);
    assert!(!worth_a_look(&labelled, &mutated, Some(&longer), &s));
    for labels in [
        BTreeMap::new(),
        BTreeMap::from([(contract::LABEL_USE.to_owned(), "yes".to_owned())]),
    ] {
        assert!(!worth_a_look(&labels, &BTreeMap::new(), Some(&app()), &s));
        assert!(!worth_a_look(&labels, &BTreeMap::new(), None, &s));
    }
}

#[test]
fn reasons_have_labels_and_say_whether_recreating_heals() {
    let table: Vec<(&str, bool)> = StrandedReason::ALL.iter().map(|r| (r.label(), r.healable())).collect();
    assert_eq!(
        table,
        [
            ("never_mutated", true),
            ("container_missed", true),
            ("service_account_changed", true),
            ("service_account_missing", false),
            ("would_be_denied", false),
        ]
    );
    assert_eq!(StrandedReason::NeverMutated.to_string(), "never_mutated");
}

#[test]
fn summaries_name_a_few_parts() {
    let items = |list: &[&str]| -> Vec<String> { list.iter().map(|s| (*s).to_owned()).collect() };
    assert_eq!(summarize(&[]), "");
    assert_eq!(summarize(&items(&["token volume"])), "token volume");
    let mut missing = web_env(&INJECTED);
    missing.extend(items(&["token mount in container web", "token volume"]));
    assert_eq!(
        summarize(&missing),
        "env AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST and token mount in container web, and token volume"
    );
    let changed = items(&[
        "env AZURE_CLIENT_ID in container web (stale value)",
        "env AZURE_CLIENT_ID_READER in container web (no longer injected)",
        "token mount in container late",
    ]);
    assert_eq!(
        summarize(&changed),
        "env AZURE_CLIENT_ID in container web (stale value), env AZURE_CLIENT_ID_READER in container web (no longer injected), and token mount in container late"
    );
    let many: Vec<String> = (1..=9).map(|i| format!("container c{i}")).collect();
    assert_eq!(
        summarize(&many),
        "container c1, container c2, container c3, container c4, container c5, container c6, and 3 more"
    );
}
