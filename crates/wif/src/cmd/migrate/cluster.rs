//! `--cluster`: aad-pod-identity's objects, the workloads (those no controller owns) and the
//! ServiceAccounts, read from a live API server, as the objects a manifest would hold (no
//! status, no server-set metadata), and the cluster's issuer from its discovery document.
//! Nothing is written to the cluster.

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// aad-pod-identity's kinds a migration reads.
const KINDS: [&str; 3] = ["AzureIdentity", "AzureIdentityBinding", "AzurePodIdentityException"];
/// The metadata the API server sets, left out of what the migration writes.
const SERVER_SET: [&str; 7] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "ownerReferences",
];

/// What was read: the objects and the cluster's issuer (when its API server serves one).
pub struct ClusterInput {
    pub documents: Vec<Value>,
    pub issuer: Option<String>,
}

fn as_manifest(mut value: Value, api_version: &str, kind: &str) -> Value {
    value["apiVersion"] = Value::String(api_version.to_owned());
    value["kind"] = Value::String(kind.to_owned());
    if let Some(object) = value.as_object_mut() {
        object.remove("status");
    }
    if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in SERVER_SET {
            metadata.remove(key);
        }
        if let Some(annotations) = metadata.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    value
}

async fn typed<K>(client: &kube::Client, namespace: Option<&str>, what: &str) -> Result<Vec<Value>>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let items = api
        .list(&ListParams::default())
        .await
        .with_context(|| format!("cannot list {what}"))?
        .items;
    let mut out = Vec::new();
    for item in items {
        let value = serde_json::to_value(&item)?;
        let owned = value["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|owners| owners.iter().any(|o| o["controller"] == Value::Bool(true)));
        if !owned {
            out.push(as_manifest(value, &K::api_version(&()), &K::kind(&())));
        }
    }
    Ok(out)
}

/// Reads the cluster `kubeconfig` names (or the inferred one), in `namespace` or all.
pub fn read(kubeconfig: Option<&std::path::Path>, namespace: Option<&str>) -> Result<ClusterInput> {
    let runtime = wif_server::runtime::build(wif_server::runtime::RuntimeKind::Command)?;
    runtime.block_on(async {
        let client = crate::kube_client::connect(kubeconfig).await?;
        let mut documents = Vec::new();
        for kind in KINDS {
            let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("aadpodidentity.k8s.io", "v1", kind));
            // Every namespace's, even with -n: a binding elsewhere may select its pods.
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
            match api.list(&ListParams::default()).await {
                Ok(list) => {
                    for item in list.items {
                        documents.push(as_manifest(serde_json::to_value(&item)?, "aadpodidentity.k8s.io/v1", kind));
                    }
                }
                Err(kube::Error::Api(status)) if status.code == 404 => {
                    bail!("aad-pod-identity's CRDs are not installed in this cluster ({kind}s: 404): there is nothing to migrate");
                }
                Err(error) => return Err(error).with_context(|| format!("cannot list {kind}s")),
            }
        }
        documents.extend(typed::<ServiceAccount>(&client, namespace, "ServiceAccounts").await?);
        documents.extend(typed::<Deployment>(&client, namespace, "Deployments").await?);
        documents.extend(typed::<StatefulSet>(&client, namespace, "StatefulSets").await?);
        documents.extend(typed::<DaemonSet>(&client, namespace, "DaemonSets").await?);
        documents.extend(typed::<CronJob>(&client, namespace, "CronJobs").await?);
        documents.extend(typed::<Job>(&client, namespace, "Jobs").await?);
        documents.extend(typed::<Pod>(&client, namespace, "Pods").await?);
        let issuer = crate::cmd::doctor::cluster_issuer(&client).await;
        Ok(ClusterInput { documents, issuer })
    })
}
