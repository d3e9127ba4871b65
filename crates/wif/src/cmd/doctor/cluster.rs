//! `wif doctor --cluster`: the objects the doctor's rules read, from a live API server
//! instead of files (ServiceAccounts, workloads, Namespaces, MutatingWebhookConfigurations),
//! and the cluster's issuer from its own discovery document. Pods a controller owns are
//! left out of the manifest rules: their workload is judged instead, once. The labelled pods,
//! owned or not, are kept aside with the ServiceAccounts and ReplicaSets for the stranded-pod
//! check ([`wif_core::doctor::stranded_pods`]).

use anyhow::{Context, Result};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, ObjectList};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use wif_core::doctor::Document;

/// What was read.
pub struct ClusterObjects {
    pub documents: Vec<Document>,
    /// The `issuer` of the API server's `/.well-known/openid-configuration`, when served.
    pub issuer: Option<String>,
    /// The pods labelled `azure.workload.identity/use: "true"`, owned or not.
    pub labelled_pods: Vec<Value>,
    /// Every ServiceAccount (also among `documents`).
    pub service_accounts: Vec<Value>,
    /// Every ReplicaSet, owned or not: a stranded pod is reported under its Deployment.
    pub replica_sets: Vec<Value>,
}

const PAGE: u32 = 500;

/// The `source` of objects read from the API server (they have no file and no document).
pub const CLUSTER_SOURCE: &str = "the cluster";

/// Every page of one kind, in all namespaces; a kind the caller may not list is said plainly.
async fn list<K>(client: &kube::Client, kind: &str, server: &str) -> Result<Vec<Value>>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let api: Api<K> = Api::all(client.clone());
    let mut params = ListParams::default().limit(PAGE);
    let mut out = Vec::new();
    loop {
        let page: ObjectList<K> = api
            .list(&params)
            .await
            .with_context(|| format!("cannot list {kind} at {server}"))?;
        for item in page.items {
            let mut value = serde_json::to_value(&item)?;
            // List items come without their type; the rules read `kind`.
            value["apiVersion"] = Value::String(K::api_version(&()).into_owned());
            value["kind"] = Value::String(K::kind(&()).into_owned());
            out.push(value);
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}

/// Whether the webhook's objectSelector matches the pod (the label, exactly `true`).
fn labelled(pod: &Value) -> bool {
    pod.pointer("/metadata/labels")
        .and_then(|labels| labels.get(wif_core::contract::LABEL_USE))
        .and_then(Value::as_str)
        == Some(wif_core::contract::LABEL_USE_VALUE)
}

fn owned(value: &Value) -> bool {
    value["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|owners| owners.iter().any(|o| o["controller"] == Value::Bool(true)))
}

/// Reads the cluster `kubeconfig` names (or the inferred one).
pub fn read(kubeconfig: Option<&std::path::Path>) -> Result<ClusterObjects> {
    let runtime = wif_server::runtime::build(wif_server::runtime::RuntimeKind::Command)?;
    runtime.block_on(async {
        let client = crate::kube_client::connect(kubeconfig).await?;
        let server = kubeconfig.map_or_else(
            || "the cluster".to_owned(),
            |p| format!("the cluster of {}", p.display()),
        );
        let service_accounts = list::<ServiceAccount>(&client, "ServiceAccounts", &server).await?;
        let replica_sets = list::<ReplicaSet>(&client, "ReplicaSets", &server).await?;
        // One list of every pod serves both checks: the bare ones are workloads, the labelled
        // ones are looked at for what the webhook missed.
        let pods = list::<Pod>(&client, "Pods", &server).await?;
        let labelled_pods: Vec<Value> = pods.iter().filter(|p| labelled(p)).cloned().collect();
        let mut values = service_accounts.clone();
        values.extend(list::<Namespace>(&client, "Namespaces", &server).await?);
        values.extend(list::<MutatingWebhookConfiguration>(&client, "MutatingWebhookConfigurations", &server).await?);
        values.extend(pod_identity_crds(&client).await);
        for workloads in [
            list::<Deployment>(&client, "Deployments", &server).await?,
            list::<StatefulSet>(&client, "StatefulSets", &server).await?,
            list::<DaemonSet>(&client, "DaemonSets", &server).await?,
            replica_sets.clone(),
            list::<CronJob>(&client, "CronJobs", &server).await?,
            list::<Job>(&client, "Jobs", &server).await?,
            pods,
        ] {
            values.extend(workloads.into_iter().filter(|v| !owned(v)));
        }
        let issuer = issuer(&client).await;
        let documents = values
            .into_iter()
            .enumerate()
            .map(|(index, value)| Document {
                source: CLUSTER_SOURCE.into(),
                index,
                value,
            })
            .collect();
        Ok(ClusterObjects {
            documents,
            issuer,
            labelled_pods,
            service_accounts,
            replica_sets,
        })
    })
}

/// The service-account issuer, as the API server publishes it.
pub(crate) async fn issuer(client: &kube::Client) -> Option<String> {
    let request = http::Request::get("/.well-known/openid-configuration")
        .body(Vec::new())
        .ok()?;
    let text = client.request_text(request).await.ok()?;
    let document: Value = serde_json::from_str(&text).ok()?;
    document["issuer"].as_str().map(str::to_owned)
}

/// aad-pod-identity's CRDs, each asked for by name (not a list of every CRD with its schema). A
/// user who may not read CRDs still gets every other check, and is told this one was not made.
async fn pod_identity_crds(client: &kube::Client) -> Vec<Value> {
    const NAMES: [&str; 4] = [
        "azureidentities.aadpodidentity.k8s.io",
        "azureidentitybindings.aadpodidentity.k8s.io",
        "azurepodidentityexceptions.aadpodidentity.k8s.io",
        "azureassignedidentities.aadpodidentity.k8s.io",
    ];
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut found = Vec::new();
    for name in NAMES {
        match api.get_opt(name).await {
            Ok(Some(crd)) => {
                if let Ok(mut value) = serde_json::to_value(&crd) {
                    value["apiVersion"] = Value::String("apiextensions.k8s.io/v1".into());
                    value["kind"] = Value::String("CustomResourceDefinition".into());
                    found.push(value);
                }
            }
            Ok(None) => {}
            Err(error) => {
                eprintln!("wif doctor: not checked whether aad-pod-identity's CRDs are installed: {error}");
                break;
            }
        }
    }
    found
}
