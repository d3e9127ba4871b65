//! The rule on pods as the API server stores them. `testdata/stored-pod.json` is a pod of a
//! Deployment's ReplicaSet as `kubectl get pod -o json` shows it after wif's webhook mutated
//! it: written by hand from `testdata/admission-pod.json` (what the API server sends the
//! webhook: container defaults set, the ServiceAccount admission's `kube-api-access` volume,
//! no name yet) with the webhook's patch applied, then what the API server and kubelet add
//! (name, uid, `defaultMode: 420` on the token volume, status).
//! `the_stored_fixture_is_the_webhooks_output` checks that derivation.

use serde_json::json;

mod look;

use super::*;
use crate::mutation::MutationPlan;
use crate::settings::TokenLayout;

const CLIENT: &str = "11111111-0000-4000-8000-000000000001";
const OTHER_CLIENT: &str = "11111111-0000-4000-8000-000000000002";
const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const POD: &str = "demo/web-5d8f7c9b6d-x7k2p";

fn settings() -> WebhookSettings {
    WebhookSettings::new(TENANT)
}

fn account(annotations: &[(&str, &str)]) -> ServiceAccountInfo {
    ServiceAccountInfo {
        namespace: "demo".into(),
        name: "app".into(),
        annotations: annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn app() -> ServiceAccountInfo {
    account(&[(contract::ANNOTATION_CLIENT_ID, CLIENT)])
}

fn stored_pod() -> Value {
    serde_json::from_str(include_str!("../testdata/stored-pod.json")).expect("the fixture is JSON")
}

fn admission_pod() -> Value {
    serde_json::from_str(include_str!("../testdata/admission-pod.json")).expect("the fixture is JSON")
}

/// The stored pod as it would be had the webhook been down: none of its parts.
fn unmutated_pod() -> Value {
    let mut pod = stored_pod();
    let reserved = |v: &Value| {
        v["name"]
            .as_str()
            .is_some_and(|n| n.starts_with(contract::RESERVED_VOLUME_PREFIX))
    };
    pod["metadata"].as_object_mut().and_then(|m| m.remove("annotations"));
    pod["spec"]["volumes"].as_array_mut().unwrap().retain(|v| !reserved(v));
    let web = &mut pod["spec"]["containers"][0];
    web["env"]
        .as_array_mut()
        .unwrap()
        .retain(|e| !e["name"].as_str().unwrap().starts_with("AZURE_"));
    web["volumeMounts"].as_array_mut().unwrap().retain(|m| !reserved(m));
    pod
}

fn plan(pod: &Value, sa: &ServiceAccountInfo, settings: &WebhookSettings) -> MutationPlan {
    let view = PodView::from_value(pod).unwrap();
    let request = MutationRequest {
        pod: &view,
        namespace: "demo",
        service_account: sa,
        pod_name_hint: None,
    };
    plan_mutation(&request, settings).unwrap()
}

/// What the API server does to a pod the webhook patched, and what happens after: the
/// defaults of the fields the webhook added, a name, a phase.
fn admitted_and_stored(mut pod: Value, sa: &ServiceAccountInfo, settings: &WebhookSettings) -> Value {
    let plan = plan(&pod, sa, settings);
    json_patch::patch(&mut pod, &plan.patch()).unwrap();
    for volume in pod["spec"]["volumes"].as_array_mut().into_iter().flatten() {
        if let Some(projected) = volume["projected"].as_object_mut() {
            projected.entry("defaultMode").or_insert(json!(420));
        }
    }
    for list in ["initContainers", "containers"] {
        for container in pod["spec"][list].as_array_mut().into_iter().flatten() {
            let map = container.as_object_mut().unwrap();
            map.entry("terminationMessagePath")
                .or_insert(json!("/dev/termination-log"));
            map.entry("terminationMessagePolicy").or_insert(json!("File"));
            map.entry("imagePullPolicy").or_insert(json!("IfNotPresent"));
            map.entry("resources").or_insert(json!({}));
            for port in map.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
                port.as_object_mut().unwrap().entry("protocol").or_insert(json!("TCP"));
            }
        }
    }
    pod["metadata"]["name"] = json!("web-5d8f7c9b6d-x7k2p");
    pod["status"] = json!({ "phase": "Running" });
    pod
}

fn check(pod: &Value, sa: Option<&ServiceAccountInfo>) -> Option<Stranded> {
    check_with(pod, sa, &settings())
}

fn check_with(pod: &Value, sa: Option<&ServiceAccountInfo>, settings: &WebhookSettings) -> Option<Stranded> {
    let view = PodView::from_value(pod).unwrap();
    let text = pod.to_string();
    let from_text = PodView::from_json(&text).unwrap();
    let found = stranded(&view, "demo", sa, settings);
    assert_eq!(
        found,
        stranded(&from_text, "demo", sa, settings),
        "value and text agree"
    );
    found
}

fn web_env(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("env {n} in container web")).collect()
}

const INJECTED: [&str; 4] = [
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
];

#[test]
fn the_stored_fixture_is_the_webhooks_output() {
    let derived = admitted_and_stored(admission_pod(), &app(), &settings());
    let stored = stored_pod();
    for part in [
        "/metadata/annotations",
        "/spec/volumes",
        "/spec/containers/0/env",
        "/spec/containers/0/volumeMounts",
    ] {
        assert_eq!(derived.pointer(part), stored.pointer(part), "{part}");
    }
}

#[test]
fn a_mutated_pod_as_stored_re_plans_empty_and_is_fine() {
    let stored = stored_pod();
    let replan = plan(&stored, &app(), &settings());
    assert!(replan.operations.is_empty(), "{:#?}", replan.operations);
    assert_eq!(check(&stored, Some(&app())), None);
    // Not labelled, being deleted, finished: never stranded, whatever they lack.
    let mut unlabelled = unmutated_pod();
    unlabelled["metadata"]["labels"][contract::LABEL_USE] = json!("True");
    assert_eq!(check(&unlabelled, Some(&app())), None);
    unlabelled["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove(contract::LABEL_USE);
    assert_eq!(check(&unlabelled, Some(&app())), None);
    let mut deleting = unmutated_pod();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-03-02T11:00:00Z");
    assert_eq!(check(&deleting, Some(&app())), None);
    for phase in ["Succeeded", "Failed"] {
        let mut finished = unmutated_pod();
        finished["status"]["phase"] = json!(phase);
        assert_eq!(check(&finished, Some(&app())), None, "{phase}");
    }
    let mut mirror = unmutated_pod();
    mirror["metadata"]["annotations"] = json!({ "kubernetes.io/config.mirror": "4f0c7e1d" });
    assert_eq!(check(&mirror, Some(&app())), None);
    let mut pending = unmutated_pod();
    pending["status"] = json!({ "phase": "Pending" });
    assert!(check(&pending, Some(&app())).is_some());
}

#[test]
fn never_mutated() {
    let pod = unmutated_pod();
    let found = check(&pod, Some(&app())).expect("stranded");
    assert_eq!(found.reason, StrandedReason::NeverMutated);
    let mut missing = web_env(&INJECTED);
    missing.extend(["token mount in container web".to_owned(), "token volume".to_owned()]);
    assert_eq!(found.missing, missing);
    assert_eq!(
        found.message,
        format!(
            "pod {POD} is stranded (never_mutated): the webhook never mutated it (it was admitted while the webhook was unreachable under failurePolicy: Ignore, or before the webhook was installed); missing: {}; recreate it through the webhook (restart its workload, or let wif webhook --heal=evict evict it)",
            summarize(&missing)
        )
    );
    // Recreated through the webhook, it is fine.
    assert_eq!(
        check(&admitted_and_stored(pod, &app(), &settings()), Some(&app())),
        None
    );
}

#[test]
fn a_pre_declared_legacy_volume_is_no_trace_of_the_webhook() {
    let mut legacy = settings();
    legacy.token_layout = TokenLayout::Legacy;
    let mut pod = unmutated_pod();
    pod["spec"]["volumes"].as_array_mut().unwrap().push(json!({"name": "azure-identity-token", "projected": {
        "sources": [{"serviceAccountToken": {"audience": "api://AzureADTokenExchange", "expirationSeconds": 3600, "path": "azure-identity-token"}}],
        "defaultMode": 420}}));
    pod["spec"]["containers"][0]["volumeMounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "azure-identity-token", "readOnly": true, "mountPath": contract::LEGACY_MOUNT_PATH}));
    let found = check_with(&pod, Some(&app()), &legacy).expect("stranded");
    assert_eq!(found.reason, StrandedReason::NeverMutated);
    assert_eq!(found.missing, web_env(&INJECTED));
    let mutated = admitted_and_stored(pod, &app(), &legacy);
    assert_eq!(check_with(&mutated, Some(&app()), &legacy), None);
    // A legacy volume the webhook added reads by its name.
    let found = check_with(&unmutated_pod(), Some(&app()), &legacy).unwrap();
    assert_eq!(
        found.missing.last().map(String::as_str),
        Some("token volume azure-identity-token")
    );
}

#[test]
fn container_missed() {
    let mut pod = stored_pod();
    pod["spec"]["containers"].as_array_mut().unwrap().push(json!({
        "name": "late", "image": "late:1", "resources": {},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"
    }));
    let found = check(&pod, Some(&app())).expect("stranded");
    assert_eq!(found.reason, StrandedReason::ContainerMissed);
    let mut missing: Vec<String> = INJECTED.iter().map(|n| format!("env {n} in container late")).collect();
    missing.push("token mount in container late".into());
    assert_eq!(found.missing, missing);
    assert!(
        found
            .message
            .contains("is stranded (container_missed): the webhook mutated it, but a container was added")
    );
    assert!(found.reason.healable());
    // A container the pod asks the webhook to skip misses nothing.
    pod["metadata"]["annotations"][contract::ANNOTATION_SKIP_CONTAINERS] = json!("late");
    assert_eq!(check(&pod, Some(&app())), None);
}

#[test]
fn service_account_changed() {
    // Mutated while the ServiceAccount had no client id; annotated since.
    let bare = admitted_and_stored(admission_pod(), &account(&[]), &settings());
    let found = check(&bare, Some(&app())).expect("stranded");
    assert_eq!(found.reason, StrandedReason::ServiceAccountChanged);
    assert_eq!(found.missing, web_env(&["AZURE_CLIENT_ID"]));
    assert!(
        found
            .message
            .contains("(ServiceAccount demo/app or the webhook's settings changed)"),
        "{}",
        found.message
    );
    // Another client id, a named identity gone, another token lifetime.
    let named = account(&[
        (contract::ANNOTATION_CLIENT_ID, CLIENT),
        ("wif.dev/client-id.reader", OTHER_CLIENT),
    ]);
    let with_reader = admitted_and_stored(admission_pod(), &named, &settings());
    let now = account(&[
        (contract::ANNOTATION_CLIENT_ID, OTHER_CLIENT),
        (contract::ANNOTATION_TOKEN_EXPIRATION, "7200"),
    ]);
    let found = check(&with_reader, Some(&now)).expect("stranded");
    assert_eq!(found.reason, StrandedReason::ServiceAccountChanged);
    assert_eq!(
        found.missing,
        [
            "env AZURE_CLIENT_ID in container web (stale value)",
            "env AZURE_CLIENT_ID_READER in container web (no longer injected)",
            "token volume (out of date)",
        ]
    );
    // The same pod with its ServiceAccount unchanged is fine.
    assert_eq!(check(&with_reader, Some(&named)), None);
}

#[test]
fn service_account_missing() {
    let found = check(&unmutated_pod(), None).expect("stranded");
    assert_eq!(found.reason, StrandedReason::ServiceAccountMissing);
    assert!(!found.reason.healable());
    // What any ServiceAccount gets, the client id aside.
    assert_eq!(found.missing[..3], web_env(&INJECTED[1..])[..]);
    assert!(
        found.message.contains("its ServiceAccount demo/app does not exist"),
        "{}",
        found.message
    );
    assert!(found.message.ends_with(
        "create ServiceAccount demo/app with its azure.workload.identity/client-id annotation, then recreate the pod"
    ));
    // A mutated pod whose ServiceAccount is gone has its token: not stranded.
    assert_eq!(check(&stored_pod(), None), None);
}

#[test]
fn would_be_denied() {
    let refusing = account(&[
        (contract::ANNOTATION_CLIENT_ID, CLIENT),
        (contract::ANNOTATION_TOKEN_EXPIRATION, "100"),
    ]);
    let found = check(&unmutated_pod(), Some(&refusing)).expect("stranded");
    assert_eq!(found.reason, StrandedReason::WouldBeDenied);
    assert!(!found.reason.healable());
    assert!(
        found.message.contains(
            "the webhook would refuse it now: token expiration 100 not valid. Expected value to be between 3600 and 86400"
        ),
        "{}",
        found.message
    );
    assert!(
        found
            .message
            .ends_with("fix what the webhook refuses, then recreate the pod")
    );
    assert_eq!(found.missing.last().map(String::as_str), Some("token volume"));
    // Mutated before the annotation went wrong: it has its token.
    assert_eq!(check(&stored_pod(), Some(&refusing)), None);
}

#[test]
fn proxy_containers_as_stored() {
    for native in [false, true] {
        let mut s = settings();
        s.native_sidecar = native;
        let mut pod = unmutated_pod();
        pod["metadata"]["annotations"] = json!({ contract::ANNOTATION_INJECT_PROXY_SIDECAR: "true" });
        let found = check_with(&pod, Some(&app()), &s).expect("stranded");
        assert_eq!(found.reason, StrandedReason::NeverMutated);
        // The containers the proxy brings come whole; the indexes after them still name `web`.
        let mut missing = vec![
            "container azwi-proxy".to_owned(),
            "container azwi-proxy-init".to_owned(),
        ];
        if !native {
            missing.reverse();
        }
        missing.extend(web_env(&INJECTED));
        missing.extend(["token mount in container web".to_owned(), "token volume".to_owned()]);
        assert_eq!(found.missing, missing, "native: {native}");
        let mutated = admitted_and_stored(pod, &app(), &s);
        assert_eq!(check_with(&mutated, Some(&app()), &s), None, "native: {native}");
    }
}

#[test]
fn a_pod_the_upstream_webhook_mutated_is_fine() {
    // Upstream writes no record annotation: the only operation left is the record's.
    let mut pod = stored_pod();
    pod["metadata"].as_object_mut().unwrap().remove("annotations");
    let replan = plan(&pod, &app(), &settings());
    assert_eq!(replan.operations.len(), 1, "{:#?}", replan.operations);
    assert_eq!(check(&pod, Some(&app())), None);
}

#[test]
fn odd_shapes_of_fields_the_planner_does_not_act_on_are_skipped() {
    let mut pod = unmutated_pod();
    pod["metadata"]["labels"] = json!({ contract::LABEL_USE: true });
    pod["status"] = json!("running");
    let view = PodView::from_value(&pod).expect("still a pod");
    assert_eq!(view.label(contract::LABEL_USE), None);
    assert_eq!(view.phase(), None);
    assert_eq!(stranded(&view, "demo", Some(&app()), &settings()), None);
}
