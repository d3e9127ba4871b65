//! Property tests of the mutation planner over generated pods: the patch applies cleanly
//! with `json-patch`, the result is a valid k8s-openapi Pod, planning again yields nothing,
//! and the patch only adds: every field of the input is still in the output (lists keep
//! their items in order, possibly with ours around them), unknown fields included.

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use json_patch::PatchOperation;
use k8s_openapi::api::core::v1::Pod;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use wif_core::settings::TokenLayout;
use wif_core::{MutationRequest, PodView, ServiceAccountInfo, WebhookSettings, contract, plan_mutation};

const NAMES: &[&str] = &["app", "web", "worker", "sidecar", "busybox-1", "azwi-proxy"];
const ENV_NAMES: &[&str] = &[
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "LOG_LEVEL",
    "PORT",
    "AZURE_CLIENT_ID_READER",
];

fn unknown_field() -> impl Strategy<Value = Option<(String, Value)>> {
    proptest::option::of((
        "x[a-z]{1,6}",
        prop_oneof![
            Just(json!(1)),
            Just(json!("s")),
            Just(json!({ "nested": [1, { "k": null }] })),
            Just(json!([true]))
        ],
    ))
}

fn env_entry() -> impl Strategy<Value = Value> {
    (prop::sample::select(ENV_NAMES), any::<bool>(), "[a-z0-9]{0,8}").prop_map(|(name, from_field, value)| {
        if from_field {
            json!({ "name": name, "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } })
        } else {
            json!({ "name": name, "value": value })
        }
    })
}

fn dedup_by_name(items: Vec<Value>, key: &str) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i[key].as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn container(name: &'static str) -> impl Strategy<Value = Value> {
    (
        proptest::option::of(prop::collection::vec(env_entry(), 0..5)),
        proptest::option::of(prop::collection::vec(
            (
                prop::sample::select(&["data", "config", "cache"][..]),
                prop::sample::select(&["/data", "/etc/x", "/var/run/secrets/azure/tokens", "/cache"][..]),
            ),
            0..3,
        )),
        unknown_field(),
    )
        .prop_map(move |(env, mounts, unknown)| {
            let mut c = Map::new();
            c.insert("name".into(), json!(name));
            c.insert("image".into(), json!(format!("{name}:1")));
            if let Some(env) = env {
                c.insert("env".into(), Value::Array(dedup_by_name(env, "name")));
            }
            if let Some(mounts) = mounts {
                let mounts: Vec<Value> = mounts
                    .into_iter()
                    .map(|(n, p)| json!({ "name": n, "mountPath": p }))
                    .collect();
                c.insert(
                    "volumeMounts".into(),
                    Value::Array(dedup_by_name(dedup_by_name(mounts, "name"), "mountPath")),
                );
            }
            if let Some((k, v)) = unknown {
                c.insert(k, v);
            }
            Value::Object(c)
        })
}

fn containers(min: usize) -> impl Strategy<Value = Vec<Value>> {
    prop::sample::subsequence(NAMES, min..=4)
        .prop_flat_map(|names| names.into_iter().map(container).collect::<Vec<_>>())
}

#[derive(Debug, Clone)]
struct Case {
    pod: Value,
    service_account: ServiceAccountInfo,
    settings: WebhookSettings,
}

fn case() -> impl Strategy<Value = Case> {
    (
        containers(1),
        proptest::option::of(containers(0)),
        proptest::option::of(prop::collection::vec(
            prop::sample::select(&["data", "config", "cache", "extra"][..]),
            0..4,
        )),
        (
            any::<bool>(),
            proptest::option::of(prop::sample::select(&["3600", "7200", "86400", ""][..])),
            proptest::option::of(prop::sample::select(&["app", "busybox-1; web", "azwi-proxy"][..])),
        ),
        (
            proptest::option::of(prop::sample::select(&["", "11111111-1111-1111-1111-111111111111"][..])),
            proptest::option::of(prop::sample::select(&["", "contoso.onmicrosoft.com"][..])),
            any::<bool>(),
        ),
        (any::<bool>(), any::<bool>(), any::<bool>(), unknown_field()),
    )
        .prop_map(
            |(
                containers,
                init_containers,
                volumes,
                (proxy, expiration, skip),
                (client, tenant, alias),
                (legacy, native, named, unknown),
            )| {
                let mut annotations = Map::new();
                if proxy {
                    annotations.insert(contract::ANNOTATION_INJECT_PROXY_SIDECAR.into(), json!("true"));
                }
                if let Some(e) = expiration {
                    annotations.insert(contract::ANNOTATION_TOKEN_EXPIRATION.into(), json!(e));
                }
                if let Some(s) = skip {
                    annotations.insert(contract::ANNOTATION_SKIP_CONTAINERS.into(), json!(s));
                }
                let mut metadata = json!({ "namespace": "ns", "labels": { contract::LABEL_USE: "true" } });
                metadata[if named { "name" } else { "generateName" }] = json!("web-");
                if !annotations.is_empty() {
                    metadata["annotations"] = Value::Object(annotations);
                }
                let mut spec = json!({ "serviceAccountName": "sa", "containers": containers });
                if let Some(init) = init_containers {
                    spec["initContainers"] = Value::Array(init);
                }
                if let Some(volumes) = volumes {
                    let mut seen = BTreeSet::new();
                    spec["volumes"] = volumes
                        .into_iter()
                        .filter(|v| seen.insert(*v))
                        .map(|v| json!({ "name": v, "emptyDir": {} }))
                        .collect();
                }
                let mut pod = json!({ "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec });
                if let Some((k, v)) = unknown {
                    pod["spec"][k] = v;
                }
                let mut sa_annotations = BTreeMap::new();
                if let Some(c) = client {
                    sa_annotations.insert(contract::ANNOTATION_CLIENT_ID.to_owned(), c.to_owned());
                }
                if let Some(t) = tenant {
                    sa_annotations.insert(contract::ANNOTATION_TENANT_ID.to_owned(), t.to_owned());
                }
                if alias {
                    sa_annotations.insert(
                        "wif.dev/client-id.reader".to_owned(),
                        "55555555-5555-5555-5555-555555555555".to_owned(),
                    );
                }
                let mut settings = WebhookSettings::new("33333333-3333-3333-3333-333333333333");
                settings.token_layout = if legacy { TokenLayout::Legacy } else { TokenLayout::V1_6 };
                settings.native_sidecar = native;
                Case {
                    pod,
                    service_account: ServiceAccountInfo {
                        namespace: "ns".into(),
                        name: "sa".into(),
                        annotations: sa_annotations,
                    },
                    settings,
                }
            },
        )
}

/// `original` is contained in `result`: objects keep every key with a contained value, lists
/// keep every item in order (other items may come between).
fn contained(original: &Value, result: &Value) -> bool {
    match (original, result) {
        (Value::Object(a), Value::Object(b)) => a.iter().all(|(k, v)| b.get(k).is_some_and(|w| contained(v, w))),
        (Value::Array(a), Value::Array(b)) => {
            let mut rest = b.iter();
            a.iter()
                .all(|item| rest.by_ref().any(|candidate| contained(item, candidate)))
        }
        _ => original == result,
    }
}

fn names_unique(list: &Value, key: &str) -> bool {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    let names: Vec<&str> = items.iter().filter_map(|i| i[key].as_str()).collect();
    names.iter().collect::<BTreeSet<_>>().len() == names.len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn plans_apply_cleanly_and_only_add(case in case()) {
        let view = PodView::from_value(&case.pod).expect("generated pods have a pod's shape");
        let request = MutationRequest { pod: &view, namespace: "ns", service_account: &case.service_account, pod_name_hint: None };
        let plan = plan_mutation(&request, &case.settings).expect("generated pods are admitted");
        prop_assert!(plan.operations.iter().all(|op| matches!(op, PatchOperation::Add(_))), "{:#?}", plan.operations);

        let mut mutated = case.pod.clone();
        json_patch::patch(&mut mutated, &plan.operations).expect("the patch applies");
        prop_assert!(contained(&case.pod, &mutated), "input not contained in output");

        let typed: Pod = serde_json::from_value(mutated.clone()).expect("a valid Pod");
        let spec = typed.spec.expect("spec");
        for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
            let skipped = case.pod["metadata"]["annotations"][contract::ANNOTATION_SKIP_CONTAINERS]
                .as_str()
                .is_some_and(|s| s.split(';').any(|n| n.trim() == c.name));
            let env: Vec<&str> = c.env.iter().flatten().map(|e| e.name.as_str()).collect();
            prop_assert_eq!(env.iter().collect::<BTreeSet<_>>().len(), env.len(), "duplicate env in {}", c.name);
            if !skipped && c.name != contract::PROXY_INIT_CONTAINER_NAME {
                prop_assert!(env.contains(&contract::ENV_FEDERATED_TOKEN_FILE), "{} lacks the token file", c.name);
            }
        }
        prop_assert!(names_unique(&mutated["spec"]["volumes"], "name"));
        for list in ["containers", "initContainers"] {
            for c in mutated["spec"][list].as_array().map(Vec::as_slice).unwrap_or_default() {
                prop_assert!(names_unique(&c["volumeMounts"], "mountPath"), "duplicate mountPath in {c}");
            }
            prop_assert!(names_unique(&mutated["spec"][list], "name"));
        }

        let text = mutated.to_string();
        let mutated_view = PodView::from_json(&text).expect("the mutated pod has a pod's shape");
        let again = MutationRequest { pod: &mutated_view, ..request };
        let second = plan_mutation(&again, &case.settings).expect("still admitted");
        prop_assert!(second.operations.is_empty(), "second plan: {:#?}", second.operations);
    }

    #[test]
    fn any_json_is_planned_or_denied_never_a_panic(value in arb_json()) {
        let sa = ServiceAccountInfo::default();
        let settings = WebhookSettings::new("t");
        let text = value.to_string();
        let (from_value, from_json) = (PodView::from_value(&value), PodView::from_json(&text));
        prop_assert_eq!(from_value.as_ref().err(), from_json.as_ref().err(), "both readings refuse alike");
        if let Ok(view) = from_value {
            let request = MutationRequest { pod: &view, namespace: "ns", service_account: &sa, pod_name_hint: None };
            if let Ok(plan) = plan_mutation(&request, &settings) {
                let mut doc = value.clone();
                prop_assert!(json_patch::patch(&mut doc, &plan.operations).is_ok());
            }
        }
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z]{0,4}".prop_map(Value::String)
    ];
    let keys = prop::sample::select(
        &[
            "metadata",
            "spec",
            "containers",
            "initContainers",
            "env",
            "name",
            "value",
            "volumes",
            "volumeMounts",
            "annotations",
            "hostNetwork",
            "x",
        ][..],
    );
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// Replaces the value at one of the pod's paths (picked by `choice`) with `replacement`, a
/// value of another type: a pod that is almost right, the likeliest bad input.
fn with_type_change(pod: &Value, choice: usize, replacement: &Value) -> Value {
    fn paths(value: &Value, at: &mut Vec<String>, out: &mut Vec<String>) {
        out.push(at.join("/"));
        match value {
            Value::Object(map) => map.iter().for_each(|(k, v)| {
                at.push(k.replace('~', "~0").replace('/', "~1"));
                paths(v, at, out);
                at.pop();
            }),
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| {
                at.push(i.to_string());
                paths(v, at, out);
                at.pop();
            }),
            _ => {}
        }
    }
    let mut all = Vec::new();
    paths(pod, &mut Vec::new(), &mut all);
    let path = &all[choice % all.len()];
    let mut changed = pod.clone();
    if path.is_empty() {
        return replacement.clone();
    }
    if let Some(slot) = changed.pointer_mut(&format!("/{path}")) {
        *slot = replacement.clone();
    }
    changed
}

/// The "any JSON" property rarely reaches the patch (random JSON is seldom a pod). Pods with
/// one value of the wrong type reach it often: this runs 600 of them and requires that at
/// least a quarter are planned and their patch applied, so the check cannot quietly stop
/// running.
#[test]
fn pods_with_a_wrong_type_are_planned_or_denied_and_their_patches_apply() {
    use proptest::test_runner::{Config, TestRunner};
    let replacements = prop_oneof![
        Just(Value::Null),
        Just(json!(7)),
        Just(json!("x")),
        Just(json!([])),
        Just(json!({})),
        Just(json!(true))
    ];
    let mut runner = TestRunner::new(Config {
        cases: 600,
        ..Config::default()
    });
    let planned = std::cell::Cell::new(0u32);
    let total = std::cell::Cell::new(0u32);
    runner
        .run(
            &(case(), any::<usize>(), replacements),
            |(case, choice, replacement)| {
                total.set(total.get() + 1);
                let pod = with_type_change(&case.pod, choice, &replacement);
                let text = pod.to_string();
                let (from_value, from_json) = (PodView::from_value(&pod), PodView::from_json(&text));
                prop_assert_eq!(
                    from_value.as_ref().err(),
                    from_json.as_ref().err(),
                    "both readings refuse alike"
                );
                if let Ok(view) = from_value {
                    let request = MutationRequest {
                        pod: &view,
                        namespace: "ns",
                        service_account: &case.service_account,
                        pod_name_hint: None,
                    };
                    if let Ok(plan) = plan_mutation(&request, &case.settings) {
                        let mut doc = pod.clone();
                        prop_assert!(json_patch::patch(&mut doc, &plan.operations).is_ok(), "{pod}");
                        planned.set(planned.get() + 1);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    let (planned, total) = (planned.get(), total.get());
    assert!(
        planned * 4 >= total,
        "only {planned} of {total} changed pods reached the patch check"
    );
}
