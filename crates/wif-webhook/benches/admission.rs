//! One admission in-process, by stage, for the two pods of scripts/bench-vs-upstream: the small
//! one (one container, nothing else) and the heavy one (3+1 containers × 20 env, a volume):
//! decoding the AdmissionReview, the ServiceAccount lookup and plan, encoding the answer, and
//! all three together; next to parsing the same bytes into a `serde_json::Value` (the floor of
//! any decode).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use wif_core::{WebhookSettings, contract};
use wif_webhook::accounts::account;
use wif_webhook::{StaticServiceAccounts, WebhookMetrics, WebhookState, review};

/// The AdmissionReview bench-vs-upstream sends, with this pod spec.
fn review_bytes(spec: Value) -> Vec<u8> {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "generateName": "web-7d9f8c5b4-", "namespace": "bench", "labels": { "app": "web", contract::LABEL_USE: "true" } },
        "spec": spec
    });
    json!({ "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": { "uid": "0b8a5a4e-0000-4000-8000-000000000001", "namespace": "bench", "operation": "CREATE",
                         "kind": { "group": "", "version": "v1", "kind": "Pod" },
                         "resource": { "group": "", "version": "v1", "resource": "pods" },
                         "userInfo": { "username": "bench" }, "object": pod } })
    .to_string()
    .into_bytes()
}

fn small() -> Vec<u8> {
    review_bytes(
        json!({ "serviceAccountName": "sa-5000", "containers": [{ "name": "web", "image": "registry.example/web:1.2.3" }] }),
    )
}

fn heavy() -> Vec<u8> {
    let env: Vec<Value> = (0..20)
        .map(|i| json!({ "name": format!("VAR_{i}"), "value": format!("value-{i}") }))
        .collect();
    let container = |n: &str| json!({ "name": n, "image": format!("registry.example/{n}:1.2.3"), "env": env, "volumeMounts": [{ "name": "data", "mountPath": "/data" }] });
    review_bytes(
        json!({ "serviceAccountName": "sa-5000", "initContainers": [container("migrate")],
                         "containers": [container("web"), container("worker"), container("metrics")], "volumes": [{ "name": "data", "emptyDir": {} }] }),
    )
}

fn bench(c: &mut Criterion) {
    let runtime = wif_server::runtime::build(wif_server::runtime::RuntimeKind::Command).expect("runtime");
    let accounts = StaticServiceAccounts::from_accounts((0..10_000).map(|i| {
        account(
            "bench",
            &format!("sa-{i}"),
            &[(contract::ANNOTATION_CLIENT_ID, "11111111-0000-4000-8000-000000000001")],
        )
    }));
    let mut registry = Registry::default();
    let state = WebhookState {
        settings: WebhookSettings::new("t"),
        accounts: Arc::new(accounts),
        metrics: WebhookMetrics::new(&mut registry),
    };
    for (name, bytes) in [("small", small()), ("heavy", heavy())] {
        let admission = review::decode(&bytes).expect("decodes");
        let outcome = runtime.block_on(wif_webhook::server::admit(&state, &admission));
        assert!(outcome.as_ref().is_ok_and(|p| !p.operations.is_empty()));

        let mut group = c.benchmark_group(format!("admission/{name}"));
        group.bench_function("parse into Value (floor)", |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(&bytes)).expect("json"))
        });
        group.bench_function("decode", |b| {
            b.iter(|| review::decode(black_box(&bytes)).expect("decodes"))
        });
        group.bench_function("lookup and plan", |b| {
            b.iter(|| runtime.block_on(wif_webhook::server::admit(&state, black_box(&admission))))
        });
        group.bench_function("respond", |b| {
            b.iter(|| review::respond(&admission, black_box(&outcome)))
        });
        group.bench_function("decode, plan and respond", |b| {
            b.iter(|| {
                let admission = review::decode(black_box(&bytes)).expect("decodes");
                let outcome = runtime.block_on(wif_webhook::server::admit(&state, &admission));
                review::respond(&admission, &outcome)
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
