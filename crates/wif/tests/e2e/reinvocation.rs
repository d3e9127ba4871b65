//! Re-invocation for real: a second mutating webhook of the test's, called after ours (the
//! API server orders configurations by name), adds a container; with `reinvocationPolicy:
//! IfNeeded` the API server calls ours again and the added container gets the env too.

use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use axum::Json;
use axum::routing::post;
use base64::Engine;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use wif_server::{LocalOptions, LocalServer};

use crate::admission::{CLIENT_ID, assert_mutated, labelled_pod, probe_until_mutated};
use crate::cluster::CLIENT_A;
use crate::{Env, namespace_for};

/// Adds a container named `late` to any pod that lacks one.
async fn add_container(Json(review): Json<Value>) -> Json<Value> {
    let request = &review["request"];
    let containers = request["object"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut response = json!({"uid": request["uid"], "allowed": true});
    if !containers.iter().any(|c| c["name"] == "late") {
        let patch = json!([{"op": "add", "path": "/spec/containers/-", "value": {"name": "late", "image": "busybox"}}]);
        response["patchType"] = json!("JSONPatch");
        response["patch"] = json!(base64::engine::general_purpose::STANDARD.encode(patch.to_string()));
    }
    Json(json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}))
}

pub async fn containers_added_by_a_later_webhook_get_the_env(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("reinvocation")).await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    env.cluster
        .service_account(&ns, "probe", &[(CLIENT_ID, CLIENT_A)])
        .await?;

    let router = axum::Router::new().route("/mutate-v1-pod", post(add_container));
    let server = LocalServer::start(router, Registry::default(), LocalOptions::default()).await?;
    let url = server.url();

    let later = "zz-e2e-adds-container";
    let registered = crate::webhook::register(
        &env.cluster,
        later,
        &url,
        &server.ca_pem,
        Some(json!({"matchLabels": {"kubernetes.io/metadata.name": ns}})),
    )
    .await;
    let outcome = async {
        registered?;
        // Wait until the API server calls the later webhook too (a dry-run pod with `late`).
        let probe: k8s_openapi::api::core::v1::Pod =
            serde_json::from_value(labelled_pod("probe", "probe", &["c"], &[]))?;
        probe_until_mutated(&env, &ns).await?;
        crate::cluster::eventually("the API server calling the later webhook", || async {
            let answered = env.cluster.dry_run(&ns, &probe).await?;
            Ok(answered
                .spec
                .is_some_and(|s| s.containers.iter().any(|c| c.name == "late")))
        })
        .await?;

        let stored = env
            .cluster
            .create_pod(&ns, labelled_pod("p", "app", &["main"], &[]))
            .await?;
        let names: Vec<_> = stored
            .spec
            .as_ref()
            .context("spec")?
            .containers
            .iter()
            .map(|c| c.name.clone())
            .collect();
        ensure!(names == ["main", "late"], "containers {names:?}");
        assert_mutated(&stored, "main", CLIENT_A, 3600)?;
        assert_mutated(&stored, "late", CLIENT_A, 3600)
    }
    .await;
    crate::webhook::unregister(&env.cluster, later).await;
    server.stop();
    outcome
}
