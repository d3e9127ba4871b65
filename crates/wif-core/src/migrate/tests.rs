//! The migration on fixtures written from aad-pod-identity's documented CRD shapes
//! (docs/research/pod-identity-migration): the shop namespace end to end, every edge case, and
//! every malformed object refused by name.

use serde_json::{Value, json};

use super::credentials::shell_word;
use super::*;

const IDENTITIES: &str = include_str!("../../../../docs/research/pod-identity-migration/fixtures/identities.yaml");
const WORKLOADS: &str = include_str!("../../../../docs/research/pod-identity-migration/fixtures/workloads.yaml");
const EDGE: &str = include_str!("../../../../docs/research/pod-identity-migration/fixtures/edge-cases.yaml");
const BAD: &str = include_str!("../../../../docs/research/pod-identity-migration/fixtures/bad-input.yaml");
const LEGACY: &str = include_str!("../../../../docs/research/pod-identity-migration/fixtures/legacy-pascalcase.yaml");

fn stream(texts: &[&str]) -> Vec<Value> {
    texts
        .iter()
        .flat_map(|t| crate::yaml::parse_stream(t).expect("the fixture parses"))
        .filter(|d| !d.is_null())
        .collect()
}

fn find<'d>(documents: &'d [Value], kind: &str, name: &str) -> &'d Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn the_shop_migrates_to_service_accounts_labels_and_three_credentials() {
    let input = stream(&[IDENTITIES, WORKLOADS]);
    let options = MigrateOptions {
        tenant_id: Some("8f0d6a52-3c2e-4f8b-9d0e-6a1b2c3d4e5f".into()),
        ..MigrateOptions::default()
    };
    let migration = migrate_pod_identity(&input, &options).expect("migrates");
    assert_eq!(
        migration.migrated,
        [
            "Deployment shop/orders-api",
            "CronJob shop/nightly-report",
            "StatefulSet shop/catalog-indexer"
        ]
    );
    let out = &migration.documents;
    assert_eq!(out.len(), input.len() + 2, "two new ServiceAccounts, nothing dropped");

    // orders-api ran as a `default` others share: a ServiceAccount of its own, just before it.
    let orders = find(out, "Deployment", "orders-api");
    let template = &orders["spec"]["template"];
    assert_eq!(template["spec"]["serviceAccountName"], "orders-api");
    assert_eq!(template["metadata"]["labels"]["azure.workload.identity/use"], "true");
    assert!(template["metadata"]["labels"].get("aadpodidbinding").is_none());
    assert!(
        orders["metadata"]["labels"].get("aadpodidbinding").is_none(),
        "the inert copy too"
    );
    assert_eq!(
        template["metadata"]["annotations"]["prometheus.io/scrape"], "true",
        "the rest is kept"
    );
    let position = |kind: &str, name: &str| {
        out.iter()
            .position(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .expect("present")
    };
    assert_eq!(
        position("ServiceAccount", "orders-api") + 1,
        position("Deployment", "orders-api")
    );
    let account = find(out, "ServiceAccount", "orders-api");
    assert_eq!(account["metadata"]["namespace"], "shop");
    assert_eq!(
        account["metadata"]["annotations"]["azure.workload.identity/client-id"],
        "0b6c1a9e-2f3d-4c5b-8a7e-9d0f1e2a3b4c"
    );
    assert_eq!(
        account["metadata"]["annotations"]["azure.workload.identity/tenant-id"],
        "8f0d6a52-3c2e-4f8b-9d0e-6a1b2c3d4e5f"
    );

    // catalog-indexer has its own ServiceAccount: annotated in place, all else kept.
    let indexer = find(out, "ServiceAccount", "catalog-indexer");
    assert_eq!(
        indexer["metadata"]["annotations"]["azure.workload.identity/client-id"],
        "3e9a7c21-5b4d-4f60-a1e2-7c8d9e0f1a2b"
    );
    assert_eq!(
        indexer["imagePullSecrets"],
        find(&input, "ServiceAccount", "catalog-indexer")["imagePullSecrets"]
    );
    assert_eq!(
        find(out, "StatefulSet", "catalog-indexer")["spec"]["template"]["spec"]["serviceAccountName"],
        "catalog-indexer"
    );

    // The CronJob's template, deep in its jobTemplate.
    let report = find(out, "CronJob", "nightly-report");
    assert_eq!(
        report["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"],
        "nightly-report"
    );

    // billing-sync (a service principal) and storefront-web (no identity) are unchanged.
    for (kind, name) in [
        ("Deployment", "billing-sync"),
        ("Deployment", "storefront-web"),
        ("DaemonSet", "metrics-agent"),
    ] {
        assert_eq!(find(out, kind, name), find(&input, kind, name), "{kind} {name}");
    }

    let subjects: Vec<(&str, &str)> = migration
        .credentials
        .iter()
        .map(|c| (c.identity.name.as_str(), c.subject.as_str()))
        .collect();
    assert_eq!(
        subjects,
        [
            ("id-orders-reader", "system:serviceaccount:shop:orders-api"),
            ("id-catalog-writer", "system:serviceaccount:shop:nightly-report"),
            ("id-catalog-writer", "system:serviceaccount:shop:catalog-indexer"),
        ]
    );
    assert_eq!(
        migration.credentials[0].az_command("https://oidc.example/"),
        "az identity federated-credential create --name shop-orders-api-bd170b85 --identity-name id-orders-reader --resource-group rg-shop-identities --subscription 5b0c3e4a-7d21-4f6e-9a38-2c1d0e9f8a7b --issuer https://oidc.example/ --subject system:serviceaccount:shop:orders-api --audience api://AzureADTokenExchange"
    );
    let texts: Vec<String> = migration.attention.iter().map(ToString::to_string).collect();
    assert!(
        matches!(
            migration.attention.as_slice(),
            [
                Attention::ServicePrincipal { kind: 1, .. },
                Attention::SharedIdentity { .. }
            ]
        ),
        "{texts:#?}"
    );
    assert!(
        texts[0].contains("Deployment shop/billing-sync") && texts[0].contains("Secret shop/billing-sp-secret"),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].contains("shop/catalog-writer") && texts[1].contains("CronJob shop/nightly-report"),
        "{}",
        texts[1]
    );
}

#[test]
fn each_edge_case_is_migrated_or_reported_as_aad_pod_identity_behaved() {
    let input = stream(&[EDGE]);
    let migration = migrate_pod_identity(&input, &MigrateOptions::default()).expect("migrates");
    let texts: Vec<String> = migration.attention.iter().map(ToString::to_string).collect();
    let said = |needle: &str| texts.iter().any(|t| t.contains(needle));
    // E1: a binding of another namespace selects the pod (cluster-wide by default).
    assert!(
        migration.migrated.contains(&"Deployment edge/kv-consumer".to_owned()),
        "{:?}",
        migration.migrated
    );
    assert!(
        migration
            .credentials
            .iter()
            .any(|c| c.subject == "system:serviceaccount:edge:kv-consumer"
                || c.subject.starts_with("system:serviceaccount:edge:"))
    );
    // E2: several identities: the first annotated, a credential for each.
    assert!(said("Deployment edge/multi-user had several identities"), "{texts:#?}");
    // E3, E4: nothing selects, a binding to nothing.
    assert!(
        said("no AzureIdentityBinding selects aadpodidbinding=ghost"),
        "{texts:#?}"
    );
    assert!(said("binding edge/dangling-binding names AzureIdentity"), "{texts:#?}");
    // E5: a certificate service principal is read as one (no workload binds it); E6: no type is 0.
    let objects = read_objects(&input, "default").expect("reads");
    let kind_of = |name: &str| {
        objects
            .identities
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.kind.clone())
    };
    assert!(matches!(
        kind_of("cert-sp"),
        Some(IdentityKind::ServicePrincipal { kind: 2, .. })
    ));
    assert!(matches!(kind_of("no-type"), Some(IdentityKind::UserAssigned(_))));
    // E7: the label stays where the selector needs it.
    assert!(said("selector-pinned keeps its aadpodidbinding label"), "{texts:#?}");
    let pinned = find(&migration.documents, "Deployment", "selector-pinned");
    assert_eq!(
        pinned["spec"]["template"]["metadata"]["labels"]["aadpodidbinding"],
        "selector-in-matchlabels"
    );
    assert_eq!(
        pinned["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"],
        "true"
    );

    // Namespaced (the AKS add-on): the other namespace's binding no longer selects kv-consumer.
    let namespaced = MigrateOptions {
        namespaced: true,
        ..MigrateOptions::default()
    };
    let confined = migrate_pod_identity(&input, &namespaced).expect("migrates");
    assert!(!confined.migrated.contains(&"Deployment edge/kv-consumer".to_owned()));
}

#[test]
fn every_malformed_object_is_refused_by_name() {
    let expected = [
        ("bad-type-string", "spec.type must be an integer"),
        ("bad-type-value", "spec.type 7 is no identity type"),
        ("bad-no-client-id", "spec.clientID is missing"),
        ("bad-resource-id", "is not a user-assigned identity's id"),
        ("bad-client-id", "is not a client id (a GUID)"),
        ("bad-no-selector", "spec.selector is missing"),
        ("bad-no-identity", "spec.azureIdentity is missing"),
        ("bad-spec-shape", "spec must be a map"),
        ("(unnamed)", "no metadata.name"),
        ("bad-api-version", "exist in aadpodidentity.k8s.io/v1 only"),
    ];
    let documents = stream(&[BAD]);
    let objects: Vec<&Value> = documents.iter().filter(|d| is_pod_identity_object(d)).collect();
    assert_eq!(objects.len(), expected.len(), "one object per bad case");
    for (doc, (name, message)) in objects.into_iter().zip(expected) {
        let error = migrate_pod_identity(std::slice::from_ref(doc), &MigrateOptions::default()).expect_err(name);
        assert!(error.object.ends_with(&format!("/{name}")), "{error}");
        assert!(error.message.contains(message), "{name}: {error}");
    }
    let legacy = migrate_pod_identity(&stream(&[LEGACY]), &MigrateOptions::default()).expect_err("legacy keys");
    assert!(legacy.message.contains("pre-1.6 spelling"), "{legacy}");
}

#[test]
fn two_workloads_with_different_identities_cannot_share_one_service_account() {
    let identity = |name: &str, client: &str| {
        json!({"apiVersion": API_VERSION, "kind": "AzureIdentity", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"clientID": client,
                "resourceID": format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")}})
    };
    let binding = |name: &str| {
        json!({"apiVersion": API_VERSION, "kind": "AzureIdentityBinding", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"azureIdentity": name, "selector": name}})
    };
    let deployment = |name: &str, selector: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"template": {"metadata": {"labels": {"aadpodidbinding": selector}},
                "spec": {"serviceAccountName": "shared", "containers": [{"name": "c", "image": "i"}]}}}})
    };
    let input = [
        identity("a", "00000000-0000-4000-8000-00000000000a"),
        identity("b", "00000000-0000-4000-8000-00000000000b"),
        binding("a"),
        binding("b"),
        deployment("one", "a"),
        deployment("two", "b"),
    ];
    let migration = migrate_pod_identity(&input, &MigrateOptions::default()).expect("migrates");
    assert_eq!(migration.migrated, ["Deployment ns/one"]);
    assert!(
        matches!(&migration.attention[..], [Attention::ServiceAccountConflict { workload, .. }] if workload == "Deployment ns/two")
    );
    assert_eq!(
        find(&migration.documents, "Deployment", "two"),
        &input[5],
        "left as it was"
    );
}

#[test]
fn names_and_words_are_what_entra_and_a_shell_take() {
    use crate::fic::name_for_service_account;
    assert_eq!(name_for_service_account("shop", "orders.api"), "shop-orders-api");
    assert_eq!(name_for_service_account("a", &"x".repeat(200)).len(), 120);
    assert_eq!(name_for_service_account("-ns", "a"), "ns-a");
    assert_eq!(shell_word("https://oidc.example/"), "https://oidc.example/");
    assert_eq!(shell_word("it's"), r"'it'\''s'");
    assert_eq!(shell_word(""), "''");
}

fn identity_doc(namespace: &str, name: &str, client: &str) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "AzureIdentity", "metadata": {"name": name, "namespace": namespace},
        "spec": {"clientID": client,
            "resourceID": format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")}})
}

fn binding_doc(namespace: &str, identity: &str, selector: &str) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "AzureIdentityBinding",
        "metadata": {"name": format!("{identity}-{selector}"), "namespace": namespace},
        "spec": {"azureIdentity": identity, "selector": selector}})
}

fn workload_doc(kind: &str, name: &str, selector: &str, account: Option<&str>) -> Value {
    let mut spec = json!({"containers": [{"name": "c", "image": "i"}]});
    if let Some(account) = account {
        spec["serviceAccountName"] = json!(account);
    }
    let template = json!({"metadata": {"labels": {"aadpodidbinding": selector}}, "spec": spec});
    let body = if kind == "CronJob" {
        json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}})
    } else {
        json!({"selector": {"matchLabels": {"app": name}}, "template": template})
    };
    json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "ns"}, "spec": body})
}

const A: &str = "00000000-0000-4000-8000-00000000000a";
const B: &str = "00000000-0000-4000-8000-00000000000b";

#[test]
fn a_list_is_its_items_and_an_account_keeps_the_client_id_it_has() {
    let account = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "api", "namespace": "ns", "annotations": {"azure.workload.identity/client-id": B}}});
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        identity_doc("ns", "a", A), binding_doc("ns", "a", "a"), account, workload_doc("Deployment", "api", "a", Some("api")),
    ]});
    let migration = migrate_pod_identity(&[list], &MigrateOptions::default()).expect("migrates");
    assert_eq!(migration.documents.len(), 4, "the List's items, one document each");
    assert!(migration.migrated.is_empty());
    assert!(
        matches!(&migration.attention[..], [Attention::ServiceAccountConflict { other_client_id, .. }] if other_client_id == B),
        "{:?}",
        migration.attention
    );
    assert_eq!(
        migration.documents[2]["metadata"]["annotations"]["azure.workload.identity/client-id"], B,
        "never overwritten"
    );
}

#[test]
fn a_new_service_account_never_takes_a_name_in_use_and_is_written_once() {
    let taken = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "ns"}});
    let input = [
        identity_doc("ns", "a", A),
        binding_doc("ns", "a", "a"),
        taken,
        workload_doc("Deployment", "other", "none", Some("api")),
        workload_doc("Deployment", "api", "a", None),
        workload_doc("CronJob", "api", "a", None),
        workload_doc("Deployment", "web", "zzz", None),
    ];
    let migration = migrate_pod_identity(&input, &MigrateOptions::default()).expect("migrates");
    let accounts: Vec<&str> = migration
        .documents
        .iter()
        .filter(|d| d["kind"] == "ServiceAccount")
        .filter_map(|d| d["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        accounts,
        ["api", "api-deployment", "api-cronjob"],
        "api is taken: each gets a free name, once"
    );
    let subjects: Vec<&str> = migration.credentials.iter().map(|c| c.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "system:serviceaccount:ns:api-deployment",
            "system:serviceaccount:ns:api-cronjob"
        ]
    );
    assert_eq!(migration.credentials[0].name, "ns-api-deployment");
}

#[test]
fn a_service_principal_beside_a_user_assigned_identity_leaves_the_workload_alone() {
    let principal = json!({"apiVersion": API_VERSION, "kind": "AzureIdentity", "metadata": {"name": "sp", "namespace": "ns"},
        "spec": {"type": 1, "clientID": B, "tenantID": "t"}});
    let input = [
        identity_doc("ns", "a", A),
        principal,
        binding_doc("ns", "a", "both"),
        binding_doc("ns", "sp", "both"),
        workload_doc("Deployment", "api", "both", Some("api")),
    ];
    let migration = migrate_pod_identity(&input, &MigrateOptions::default()).expect("migrates");
    assert!(migration.migrated.is_empty());
    assert_eq!(
        migration.documents[4], input[4],
        "its label stays: the service principal needs it"
    );
    assert!(matches!(
        &migration.attention[..],
        [Attention::ServicePrincipal { kind: 1, .. }]
    ));
}

#[test]
fn a_selector_expression_on_the_label_keeps_it_and_names_are_told_apart() {
    let mut pinned = workload_doc("Deployment", "api", "a", Some("api"));
    pinned["spec"]["selector"] =
        json!({"matchExpressions": [{"key": "aadpodidbinding", "operator": "In", "values": ["a"]}]});
    let input = [
        identity_doc("ns", "a", A),
        binding_doc("ns", "a", "a"),
        pinned,
        // `ns`/`x-y` and `ns-x`/`y` join alike: on one identity, two names.
        workload_doc("Deployment", "b", "a", Some("x-y")),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "c", "namespace": "ns-x"},
            "spec": {"template": {"metadata": {"labels": {"aadpodidbinding": "a"}}, "spec": {"serviceAccountName": "y"}}}}),
    ];
    let migration = migrate_pod_identity(&input, &MigrateOptions::default()).expect("migrates");
    assert_eq!(
        find(&migration.documents, "Deployment", "api")["spec"]["template"]["metadata"]["labels"]["aadpodidbinding"],
        "a"
    );
    assert!(
        migration
            .attention
            .iter()
            .any(|a| matches!(a, Attention::SelectorKeepsLabel { .. }))
    );
    let names: Vec<&str> = migration.credentials.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ns-api", "ns-x-y", "ns-x-y-2"]);
    assert!(
        migration
            .attention
            .iter()
            .any(|a| matches!(a, Attention::CrossNamespace { .. })),
        "ns-x is bound from ns"
    );
    // With the issuer: distinct per issuer, within Entra's 120 characters.
    let one = migration.credentials[1].name_for("https://a.example/");
    assert!(one.starts_with("ns-x-y-") && one != migration.credentials[1].name_for("https://b.example/"));
}

#[test]
fn a_workload_twice_or_without_a_name_is_reported_and_left() {
    let mut unnamed = workload_doc("Deployment", "x", "a", Some("api"));
    unnamed["metadata"] = json!({"generateName": "job-", "namespace": "ns"});
    let input = [
        identity_doc("ns", "a", A),
        binding_doc("ns", "a", "a"),
        workload_doc("Deployment", "api", "a", Some("api")),
        workload_doc("Deployment", "api", "a", Some("api")),
        unnamed,
    ];
    let migration = migrate_pod_identity(&input, &MigrateOptions::default()).expect("migrates");
    assert_eq!(migration.migrated, ["Deployment ns/api"]);
    assert!(
        matches!(
            &migration.attention[..],
            [Attention::ListedTwice { .. }, Attention::Unnamed { .. }]
        ),
        "{:?}",
        migration.attention
    );
}
