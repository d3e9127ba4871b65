//! Table tests of the planner: upstream's scenarios (spec/upstream-azwi.md §5.1, numbered
//! as there) and the cases upstream lacks.

use std::collections::BTreeMap;

use json_patch::PatchOperation;
use serde_json::{Value, json};

use super::*;
use crate::settings::{CaSource, CustomTokenEndpoint, WebhookSettings};

const CLIENT: &str = "11111111-1111-1111-1111-111111111111";
const TENANT: &str = "22222222-2222-2222-2222-222222222222";
const DEFAULT_TENANT: &str = "33333333-3333-3333-3333-333333333333";

fn settings() -> WebhookSettings {
    WebhookSettings::new(DEFAULT_TENANT)
}

fn sa(annotations: &[(&str, &str)]) -> ServiceAccountInfo {
    ServiceAccountInfo {
        namespace: "default".into(),
        name: "sa".into(),
        annotations: annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn annotated_sa() -> ServiceAccountInfo {
    sa(&[
        (contract::ANNOTATION_CLIENT_ID, CLIENT),
        (contract::ANNOTATION_TENANT_ID, TENANT),
    ])
}

fn pod(spec: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": "pod", "namespace": "default", "labels": { "azure.workload.identity/use": "true" } },
        "spec": spec
    })
}

fn simple_pod() -> Value {
    pod(json!({ "serviceAccountName": "sa", "containers": [{ "name": "app", "image": "app:1" }] }))
}

/// Plans from the parsed value (render's path) and from the JSON text (the webhook's path),
/// and checks that both agree.
fn plan_with(pod: &Value, sa: &ServiceAccountInfo, settings: &WebhookSettings) -> Result<MutationPlan, Denial> {
    plan_hinted(pod, sa, settings, None)
}

fn plan_hinted(
    pod: &Value,
    sa: &ServiceAccountInfo,
    settings: &WebhookSettings,
    pod_name_hint: Option<&str>,
) -> Result<MutationPlan, Denial> {
    let plan = |view: &PodView<'_>| {
        plan_mutation(
            &MutationRequest {
                pod: view,
                namespace: "default",
                service_account: sa,
                pod_name_hint,
            },
            settings,
        )
    };
    let text = pod.to_string();
    let from_value = PodView::from_value(pod).and_then(|view| plan(&view));
    let from_json = PodView::from_json(&text).and_then(|view| plan(&view));
    assert_eq!(
        from_value, from_json,
        "the value and the JSON text of {text} plan alike"
    );
    from_value
}

fn apply(pod: &Value, plan: &MutationPlan) -> Value {
    let mut doc = pod.clone();
    json_patch::patch(&mut doc, &plan.operations).expect("the plan applies");
    doc
}

/// Plans, applies, checks the second plan is empty, returns the mutated pod.
fn mutate(pod: &Value, sa: &ServiceAccountInfo, settings: &WebhookSettings) -> (Value, MutationPlan) {
    let plan = plan_with(pod, sa, settings).expect("allowed");
    let mutated = apply(pod, &plan);
    let again = plan_with(&mutated, sa, settings).expect("allowed again");
    assert!(
        again.operations.is_empty(),
        "second plan not empty: {:#?}",
        again.operations
    );
    (mutated, plan)
}

fn env_of(container: &Value) -> Vec<(String, String)> {
    container["env"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap_or("").to_owned(),
                        e["value"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|l| l.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default()
}

fn four_vars(client: &str, tenant: &str) -> Vec<(String, String)> {
    vec![
        ("AZURE_CLIENT_ID".into(), client.into()),
        ("AZURE_TENANT_ID".into(), tenant.into()),
        ("AZURE_FEDERATED_TOKEN_FILE".into(), contract::V1_6_TOKEN_FILE.into()),
        (
            "AZURE_AUTHORITY_HOST".into(),
            "https://login.microsoftonline.com/".into(),
        ),
    ]
}

fn has_remove(plan: &MutationPlan) -> bool {
    plan.operations.iter().any(|op| matches!(op, PatchOperation::Remove(_)))
}

const POD_VOLUME: &str = "azure-workload-identity-reserved-425c89ed5bb78a7623fae60fd8a6f6";

fn proxy_pod(port: &str, extra: Value) -> Value {
    let mut p = pod(extra);
    p["metadata"]["annotations"] = json!({
        contract::ANNOTATION_INJECT_PROXY_SIDECAR: "true",
        contract::ANNOTATION_PROXY_SIDECAR_PORT: port
    });
    p
}

mod beyond;
mod upstream;
