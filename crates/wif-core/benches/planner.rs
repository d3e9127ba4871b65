//! Benchmark of the mutation planner on a realistic pod: 3 containers and 1 init container,
//! 20 env vars each, with mounts and volumes, plus the cost of applying the patch. The
//! `clone_pod` case is the floor: copying the pod once, which any mutation must at least do.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use wif_core::{MutationRequest, PodView, ServiceAccountInfo, WebhookSettings, contract, plan_mutation};

fn container(name: &str) -> Value {
    let env: Vec<Value> = (0..20)
        .map(|i| json!({ "name": format!("VAR_{i}"), "value": format!("value-{i}") }))
        .collect();
    json!({
        "name": name,
        "image": format!("registry.example/{name}:1.2.3"),
        "ports": [{ "containerPort": 8080 }],
        "env": env,
        "resources": { "requests": { "cpu": "100m", "memory": "128Mi" } },
        "volumeMounts": [{ "name": "data", "mountPath": "/data" }, { "name": "config", "mountPath": "/etc/app" }]
    })
}

fn realistic_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "web-7d9f8c5b4-",
            "namespace": "prod",
            "labels": { "app": "web", contract::LABEL_USE: "true" },
            "annotations": { "prometheus.io/scrape": "true" }
        },
        "spec": {
            "serviceAccountName": "web",
            "initContainers": [container("migrate")],
            "containers": [container("web"), container("worker"), container("metrics")],
            "volumes": [{ "name": "data", "emptyDir": {} }, { "name": "config", "configMap": { "name": "web" } }]
        }
    })
}

fn bench(c: &mut Criterion) {
    let pod = realistic_pod();
    let sa = ServiceAccountInfo {
        namespace: "prod".into(),
        name: "web".into(),
        annotations: BTreeMap::from([
            (
                contract::ANNOTATION_CLIENT_ID.to_owned(),
                "11111111-1111-1111-1111-111111111111".to_owned(),
            ),
            (
                contract::ANNOTATION_TENANT_ID.to_owned(),
                "22222222-2222-2222-2222-222222222222".to_owned(),
            ),
        ]),
    };
    let settings = WebhookSettings::new("33333333-3333-3333-3333-333333333333");
    let view = PodView::from_value(&pod).expect("a pod");
    let request = MutationRequest {
        pod: &view,
        namespace: "prod",
        service_account: &sa,
        pod_name_hint: None,
    };
    let plan = plan_mutation(&request, &settings).expect("the realistic pod is admitted");
    assert_eq!(
        plan.operations.len(),
        22,
        "4 env adds + 1 mount for each of 4 containers, the volume, the record"
    );

    let mut group = c.benchmark_group("planner");
    group.bench_function("clone_pod (floor)", |b| b.iter(|| black_box(pod.clone())));
    let text = pod.to_string();
    group.bench_function("read from JSON text", |b| {
        b.iter(|| PodView::from_json(black_box(&text)).expect("a pod"))
    });
    group.bench_function("plan", |b| b.iter(|| plan_mutation(black_box(&request), &settings)));
    group.bench_function("plan_and_apply", |b| {
        b.iter(|| {
            let plan = plan_mutation(black_box(&request), &settings).expect("admitted");
            let mut doc = pod.clone();
            json_patch::patch(&mut doc, &plan.operations).expect("applies");
            doc
        })
    });
    let mutated = {
        let mut doc = pod.clone();
        json_patch::patch(&mut doc, &plan.operations).expect("applies");
        doc
    };
    let mutated_view = PodView::from_value(&mutated).expect("a pod");
    let again = MutationRequest {
        pod: &mutated_view,
        ..request
    };
    group.bench_function("plan_already_mutated", |b| {
        b.iter(|| plan_mutation(black_box(&again), &settings))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
