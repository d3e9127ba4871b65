//! The seed users' main path: a Deployment labelled in its template; kube-controller-manager
//! makes the ReplicaSet and its pods (generated names), and those pods are mutated.

use std::sync::Arc;

use anyhow::Result;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::admission::{CLIENT_ID, USE_LABEL, assert_mutated};
use crate::cluster::CLIENT_A;
use crate::{Env, namespace_for};

pub async fn deployment_pods_are_mutated(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("deployment")).await?;
    env.cluster
        .service_account(&ns, "web", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web", USE_LABEL: "true"}},
                "spec": {"serviceAccountName": "web", "containers": [{"name": "app", "image": "busybox"}]},
            },
        },
    }))?;
    Api::<Deployment>::namespaced(env.cluster.client.clone(), &ns)
        .create(&PostParams::default(), &deployment)
        .await?;
    let pod = env.cluster.first_pod(&ns, "app=web").await?;
    anyhow::ensure!(
        pod.metadata.name.as_deref().is_some_and(|n| n.starts_with("web-")),
        "not a ReplicaSet's pod: {:?}",
        pod.metadata.name
    );
    assert_mutated(&pod, "app", CLIENT_A, 3600)
}
