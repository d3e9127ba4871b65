//! A rolling restart of the webhook's Deployment (`kubectl rollout restart`, as an upgrade does)
//! with pod creations streaming in: with `failurePolicy: Fail`, an admission lost while a replica
//! goes away is a pod creation refused, so every creation must succeed and come back mutated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use kube::api::ListParams;
use serde_json::json;

use crate::chart::{DEPLOYMENT, NAMESPACE};
use crate::emulator::READER;
use crate::pods::{BUSYBOX, USE_LABEL, namespace_with_app_account, phase};
use crate::{Env, figure};

/// What the stream of creations saw.
#[derive(Default)]
struct Tally {
    created: usize,
    unmutated: Vec<String>,
    refused: Vec<String>,
}

const CREATORS: usize = 4;

/// Creates labelled pods one after another until `rolling` turns false.
async fn create_while(env: &Env, ns: &str, creator: usize, rolling: &AtomicBool) -> Tally {
    let mut tally = Tally::default();
    let mut n = 0usize;
    while rolling.load(Ordering::Relaxed) {
        n += 1;
        let name = format!("during-rollout-{creator}-{n}");
        // Bound to a node that does not exist: admitted and stored, never started, so the
        // stream costs the node nothing.
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {USE_LABEL: "true"}},
            "spec": {"serviceAccountName": "app", "nodeName": "no-such-node",
                     "containers": [{"name": "main", "image": BUSYBOX, "imagePullPolicy": "Never"}]},
        });
        match env.cluster.create_pod(ns, pod).await {
            Ok(stored) => {
                tally.created += 1;
                let mutated = stored
                    .spec
                    .as_ref()
                    .and_then(|s| s.containers.first())
                    .and_then(|c| c.env.as_ref())
                    .is_some_and(|e| {
                        e.iter()
                            .any(|v| v.name == "AZURE_CLIENT_ID" && v.value.as_deref() == Some(READER))
                    });
                if !mutated {
                    tally.unmutated.push(name);
                }
            }
            Err(error) => tally.refused.push(format!("{name}: {error}")),
        }
    }
    tally
}

pub async fn rolling_restart_loses_no_admission(env: Arc<Env>) -> Result<()> {
    let ns = "node-rollout";
    namespace_with_app_account(&env.cluster, ns).await?;
    let before = webhook_pods(&env).await?;
    let rolling = Arc::new(AtomicBool::new(true));
    // Four creators at once, each as fast as the API server answers: a replica that stops
    // serving while the API server still routes to it shows up as a refused creation.
    let streams: Vec<_> = (0..CREATORS)
        .map(|creator| {
            let env = Arc::clone(&env);
            let rolling = Arc::clone(&rolling);
            tokio::spawn(async move { create_while(&env, ns, creator, &rolling).await })
        })
        .collect();
    let started = Instant::now();
    let restart = env
        .cluster
        .kubectl(&["rollout", "restart", "deployment", DEPLOYMENT, "-n", NAMESPACE])?;
    ensure!(
        restart.status.success(),
        "kubectl rollout restart: {}",
        String::from_utf8_lossy(&restart.stderr)
    );
    let status = env.cluster.kubectl(&[
        "rollout",
        "status",
        "deployment",
        DEPLOYMENT,
        "-n",
        NAMESPACE,
        "--timeout",
        "180s",
    ])?;
    let rollout_took = started.elapsed().as_secs_f64();
    // A moment more of creations against the new replicas only, then stop.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    rolling.store(false, Ordering::Relaxed);
    let mut tally = Tally::default();
    for stream in streams {
        let one = stream.await.context("a creation stream panicked")?;
        tally.created += one.created;
        tally.unmutated.extend(one.unmutated);
        tally.refused.extend(one.refused);
    }
    ensure!(
        status.status.success(),
        "the rollout did not finish: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let after = webhook_pods(&env).await?;
    ensure!(
        after.iter().all(|p| !before.contains(p)) && after.len() == 2,
        "the rollout did not replace both replicas: before {before:?}, after {after:?}"
    );
    figure(
        "rolling restart of the webhook (2 replicas)",
        format!("{rollout_took:.1} s"),
    );
    figure(
        "pod creations during the rollout",
        format!(
            "{} admitted and mutated, {} refused, {} unmutated",
            tally.created - tally.unmutated.len(),
            tally.refused.len(),
            tally.unmutated.len()
        ),
    );
    ensure!(
        tally.refused.is_empty(),
        "{} creations refused during the rollout: {:?}",
        tally.refused.len(),
        tally.refused
    );
    ensure!(tally.unmutated.is_empty(), "stored unmutated: {:?}", tally.unmutated);
    ensure!(
        tally.created >= 50,
        "only {} creations during the rollout",
        tally.created
    );
    Ok(())
}

/// The webhook's pods that are Running and not terminating, by name.
async fn webhook_pods(env: &Env) -> Result<Vec<String>> {
    let listed = env.cluster.pods(NAMESPACE).list(&ListParams::default()).await?;
    Ok(listed
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && phase(p) == "Running")
        .filter_map(|p| p.metadata.name)
        .collect())
}
