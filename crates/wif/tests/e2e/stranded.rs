//! No pod left behind: with `failurePolicy: Ignore` and the webhook down, kube-controller-manager
//! creates a Deployment's pods and the API server stores them unmutated; a bare pod and a pod a
//! PodDisruptionBudget guards are stored so too. Then two webhook replicas come back with
//! `--heal=evict`: the Deployment's pods are reported (Events on the pods and their ReplicaSet,
//! `wif_webhook_stranded_pods`), evicted, and replaced by mutated pods; the bare pod is reported
//! and left alone; the guarded pod's eviction is refused by its budget, reported and retried;
//! the two replicas together evict each pod once; and `wif doctor --cluster` names the pods
//! still stranded.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::admission::{CLIENT_ID, USE_LABEL, assert_mutated};
use crate::cluster::{CLIENT_A, OWN_WEBHOOK_LABEL, TENANT, env_value, eventually, metric};
use crate::webhook::{Webhook, WebhookLaunch, register, unregister};
use crate::{Env, namespace_for};

async fn deployment(env: &Env, ns: &str, name: &str, replicas: i32) -> Result<()> {
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, USE_LABEL: "true"}},
                "spec": {"serviceAccountName": "web", "containers": [{"name": "app", "image": "busybox"}]},
            },
        },
    }))?;
    Api::<Deployment>::namespaced(env.cluster.client.clone(), ns)
        .create(&PostParams::default(), &deployment)
        .await?;
    Ok(())
}

/// The live pods of `app`.
async fn live_pods(env: &Env, ns: &str, app: &str) -> Result<Vec<Pod>> {
    let pods = env
        .cluster
        .pods(ns)
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await?
        .items;
    Ok(pods
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect())
}

/// The live pods of `app`, once there are `count` of them.
async fn pods_of(env: &Env, ns: &str, app: &str, count: usize) -> Result<Vec<Pod>> {
    eventually(&format!("{count} pod(s) of {app}"), || async {
        Ok(live_pods(env, ns, app).await?.len() == count)
    })
    .await?;
    live_pods(env, ns, app).await
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

/// The Events in `ns` with `reason` about the object named `name`.
async fn events(env: &Env, ns: &str, reason: &str, name: &str) -> Result<Vec<Event>> {
    let api: Api<Event> = Api::namespaced(env.cluster.client.clone(), ns);
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .collect())
}

/// The sum of one sample over both replicas.
async fn summed(replicas: &[&Webhook], sample: &str) -> Result<f64> {
    let mut total = 0.0;
    for replica in replicas {
        total += metric(&replica.metrics_text().await?, sample).unwrap_or(0.0);
    }
    Ok(total)
}

/// Binds the guarded pod to a Node with no kubelet and says it runs: a pending pod is evicted
/// whatever its budget says, a running one is not.
async fn make_running(env: &Env, ns: &str, pod: &str) -> Result<()> {
    let node_name = format!("e2e-no-kubelet-{}", std::process::id());
    let nodes: Api<Node> = Api::all(env.cluster.client.clone());
    if nodes.get_opt(&node_name).await?.is_none() {
        let node: Node =
            serde_json::from_value(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node_name}}))?;
        nodes.create(&PostParams::default(), &node).await?;
    }
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod}, "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}});
    env.cluster
        .pods(ns)
        .create_subresource::<serde_json::Value, serde_json::Value>("binding", pod, &PostParams::default(), &binding)
        .await
        .context("binding the guarded pod")?;
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let status = json!({"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
    ]}});
    env.cluster
        .pods(ns)
        .patch_status(pod, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .context("the guarded pod's status")?;
    Ok(())
}

pub async fn pods_admitted_while_the_webhook_was_down_are_healed(env: Arc<Env>) -> Result<()> {
    let ns = env
        .cluster
        .namespace_labelled(&namespace_for("stranded"), &[(OWN_WEBHOOK_LABEL, "true")])
        .await?;
    let configuration = format!("wif-e2e-stranded-{}", std::process::id());
    let selector = json!({"matchLabels": {"kubernetes.io/metadata.name": ns}});
    // The webhook is down: its configuration names a port nobody listens on, failurePolicy Ignore.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    register(
        &env.cluster,
        &configuration,
        &format!("https://{dead}"),
        &env.webhook.ca_pem,
        Some(selector.clone()),
    )
    .await?;
    failure_policy_ignore(&env, &configuration).await?;

    env.cluster
        .service_account(&ns, "web", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    deployment(&env, &ns, "web", 2).await?;
    deployment(&env, &ns, "guarded", 1).await?;
    let budget: PodDisruptionBudget = serde_json::from_value(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "guarded"},
        "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "guarded"}}},
    }))?;
    Api::<PodDisruptionBudget>::namespaced(env.cluster.client.clone(), &ns)
        .create(&PostParams::default(), &budget)
        .await?;
    env.cluster
        .create_pod(
            &ns,
            json!({
                "metadata": {"name": "bare", "labels": {"app": "bare", USE_LABEL: "true"}},
                "spec": {"serviceAccountName": "web", "containers": [{"name": "app", "image": "busybox"}]},
            }),
        )
        .await?;
    let stranded_web = pods_of(&env, &ns, "web", 2).await?;
    let guarded = pods_of(&env, &ns, "guarded", 1).await?.remove(0);
    let bare = pods_of(&env, &ns, "bare", 1).await?.remove(0);
    for pod in stranded_web.iter().chain([&guarded, &bare]) {
        ensure!(
            env_value(pod, "app", "AZURE_FEDERATED_TOKEN_FILE").is_none(),
            "stored mutated while the webhook was down: {:?}",
            pod.metadata.name
        );
    }
    let guarded_name = guarded.metadata.name.clone().context("a name")?;
    make_running(&env, &ns, &guarded_name).await?;

    // The webhook comes back (the shared one answers admissions here), and the API server
    // calls it before any replica heals: as in a cluster, where the configuration is in place
    // when the webhook's pods start. Healing while the API server still calls the dead address
    // would make stranded replacements (and the reconciler then stops healing that owner).
    register(
        &env.cluster,
        &configuration,
        &env.webhook.url,
        &env.webhook.ca_pem,
        Some(selector),
    )
    .await?;
    failure_policy_ignore(&env, &configuration).await?;
    let probe: Pod = serde_json::from_value(json!({
        "metadata": {"generateName": "probe-", "labels": {"app": "probe", USE_LABEL: "true"}},
        "spec": {"serviceAccountName": "web", "containers": [{"name": "app", "image": "busybox"}]},
    }))?;
    eventually("the API server calling the webhook again", || async {
        let created = env.cluster.dry_run(&ns, &probe).await?;
        Ok(env_value(&created, "app", "AZURE_FEDERATED_TOKEN_FILE").is_some())
    })
    .await?;

    // Two replicas, healing, this namespace only, their own Lease.
    let replicas: Vec<Webhook> = ["stranded-a", "stranded-b"]
        .iter()
        .map(|name| {
            Webhook::start(WebhookLaunch {
                name,
                kubeconfig: &env.cluster.kubeconfig,
                work: &env.work,
                extra_args: [
                    "--heal=evict",
                    "--stranded-pods-namespace",
                    &ns,
                    "--leader-election-namespace",
                    &ns,
                    "--stranded-pods-interval",
                    "1s",
                    "--eviction-interval",
                    "1s",
                ]
                .map(str::to_owned)
                .to_vec(),
                env: Vec::new(),
            })
        })
        .collect::<Result<_>>()?;
    for replica in &replicas {
        replica.ready().await?;
    }
    let (a, b) = (&replicas[0], &replicas[1]);
    let both = [a, b];

    // The Deployment's pods: reported, evicted, made again through the webhook, mutated.
    let before: BTreeSet<String> = stranded_web.iter().map(uid).collect();
    let api = env.cluster.pods(&ns);
    eventually("the Deployment's stranded pods replaced by mutated ones", || async {
        let live = live_pods(&env, &ns, "web").await?;
        Ok(live.len() == 2
            && live.iter().all(|p| !before.contains(&uid(p)))
            && live.iter().all(|p| assert_mutated(p, "app", CLIENT_A, 3600).is_ok()))
    })
    .await?;
    for pod in &stranded_web {
        let name = pod.metadata.name.clone().unwrap_or_default();
        ensure!(
            !events(&env, &ns, "WorkloadIdentityMissing", &name).await?.is_empty(),
            "no report on {name}"
        );
        ensure!(
            !events(&env, &ns, "WorkloadIdentityEvicted", &name).await?.is_empty(),
            "no eviction Event on {name}"
        );
    }
    let owner = stranded_web[0]
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| o.name.clone())
        .context("the pods' ReplicaSet")?;
    ensure!(
        !events(&env, &ns, "WorkloadIdentityMissing", &owner).await?.is_empty(),
        "no report on the ReplicaSet {owner}"
    );

    // The guarded pod: its budget refuses, which is reported and tried again.
    eventually("the guarded pod's eviction refused twice", || async {
        Ok(summed(&both, "wif_webhook_stranded_evictions_total{outcome=\"blocked\"}").await? >= 2.0)
    })
    .await?;
    ensure!(
        !events(&env, &ns, "WorkloadIdentityEvictionBlocked", &guarded_name)
            .await?
            .is_empty(),
        "the refusal is not reported on {guarded_name}"
    );
    // The bare pod: reported, left alone.
    eventually("the bare pod reported", || async {
        Ok(!events(&env, &ns, "WorkloadIdentityMissing", "bare").await?.is_empty())
    })
    .await?;
    eventually("two pods still stranded (the bare and the guarded one)", || async {
        Ok(summed(&both, "wif_webhook_stranded_pods{reason=\"never_mutated\"}").await? == 2.0)
    })
    .await?;
    for (pod, name) in [(&guarded, guarded_name.as_str()), (&bare, "bare")] {
        let now = api.get(name).await?;
        ensure!(
            uid(&now) == uid(pod) && now.metadata.deletion_timestamp.is_none(),
            "{name} was evicted"
        );
    }
    // The two replicas, together, evicted each of the Deployment's pods once.
    let evicted = summed(&both, "wif_webhook_stranded_evictions_total{outcome=\"evicted\"}").await?;
    ensure!(evicted == 2.0, "{evicted} evictions for 2 pods");
    let leaders = summed(&both, "wif_webhook_stranded_leader").await?;
    ensure!(leaders == 1.0, "{leaders} leaders");

    // The doctor names what is still stranded.
    let out = Command::new(env!("CARGO_BIN_EXE_wif"))
        .args(["doctor", "--cluster", "--tenant-id", TENANT])
        .arg("--kubeconfig")
        .arg(&env.cluster.kubeconfig)
        .output()?;
    let report = String::from_utf8_lossy(&out.stdout);
    ensure!(
        report.contains("stranded") && report.contains("never_mutated") && report.contains(&format!("{ns}/bare")),
        "the doctor does not name the bare pod: {report}"
    );
    unregister(&env.cluster, &configuration).await;
    Ok(())
}

/// Sets the configuration's failure policy to Ignore (deploy/base's is Fail).
async fn failure_policy_ignore(env: &Env, name: &str) -> Result<()> {
    let api: Api<k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration> =
        Api::all(env.cluster.client.clone());
    let patch = json!([{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"}]);
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::<()>::Json(serde_json::from_value(patch)?),
    )
    .await?;
    Ok(())
}
