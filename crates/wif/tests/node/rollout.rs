//! A rolling restart of the webhook's Deployment (`kubectl rollout restart`, as an upgrade does)
//! with pod creations streaming in: with `failurePolicy: Fail`, an admission lost while a replica
//! goes away is a pod creation refused, so every creation must succeed and come back mutated.
//! The creations are server-side dry runs: the API server calls the webhook for them exactly as
//! for stored pods (its `sideEffects: None` allows it) and keeps none of the thousands.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::chart::{DEPLOYMENT, NAMESPACE, ROLLOUT_STATUS};
use crate::emulator::READER;
use crate::pods::{BUSYBOX, USE_LABEL, namespace_with_app_account, phase};
use crate::{Env, figure};

/// Creators at once, each as fast as the API server answers.
const CREATORS: usize = 4;
/// How long the old replicas may take to go (their 5 s shutdown delay, then the drain).
const OLD_REPLICAS_GONE: Duration = Duration::from_secs(90);

/// What the stream of creations saw.
#[derive(Default)]
struct Tally {
    created: usize,
    unmutated: Vec<String>,
    refused: Vec<String>,
}

/// The creators, stopped and aborted however the scenario ends.
struct Creators {
    rolling: Arc<AtomicBool>,
    handles: Vec<JoinHandle<Tally>>,
}

impl Creators {
    fn start(env: &Arc<Env>, ns: &'static str) -> Creators {
        let rolling = Arc::new(AtomicBool::new(true));
        let handles = (0..CREATORS)
            .map(|creator| {
                let env = Arc::clone(env);
                let rolling = Arc::clone(&rolling);
                tokio::spawn(async move { create_while(&env, ns, creator, &rolling).await })
            })
            .collect();
        Creators { rolling, handles }
    }

    async fn stop(mut self) -> Result<Tally> {
        self.rolling.store(false, Ordering::Relaxed);
        let mut tally = Tally::default();
        for handle in std::mem::take(&mut self.handles) {
            let one = handle.await.context("a creation stream panicked")?;
            tally.created += one.created;
            tally.unmutated.extend(one.unmutated);
            tally.refused.extend(one.refused);
        }
        Ok(tally)
    }
}

impl Drop for Creators {
    fn drop(&mut self) {
        self.rolling.store(false, Ordering::Relaxed);
        for handle in &self.handles {
            handle.abort();
        }
    }
}

/// Creates (dry run) labelled pods one after another until `rolling` turns false.
async fn create_while(env: &Env, ns: &str, creator: usize, rolling: &AtomicBool) -> Tally {
    let mut tally = Tally::default();
    let mut n = 0usize;
    while rolling.load(Ordering::Relaxed) {
        n += 1;
        let name = format!("during-rollout-{creator}-{n}");
        let pod: Pod = match serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {USE_LABEL: "true"}},
            "spec": {"serviceAccountName": "app",
                     "containers": [{"name": "main", "image": BUSYBOX, "imagePullPolicy": "Never"}]},
        })) {
            Ok(pod) => pod,
            Err(error) => {
                tally.refused.push(format!("{name}: not a pod: {error}"));
                break;
            }
        };
        match env.cluster.dry_run(ns, &pod).await {
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
    ensure!(before.len() == 2, "webhook pods before the rollout: {before:?}");
    let creators = Creators::start(&env, ns);
    let started = Instant::now();
    let restart = env
        .cluster
        .kubectl(&["rollout", "restart", "deployment", DEPLOYMENT, "-n", NAMESPACE])?;
    ensure!(
        restart.status.success(),
        "kubectl rollout restart: {}",
        String::from_utf8_lossy(&restart.stderr)
    );
    // kubectl blocks: on a thread of its own, so the creators keep both runtime workers.
    let kubectl = (env.cluster.kubectl.clone(), env.cluster.kubeconfig.clone());
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&kubectl.0)
            .arg("--kubeconfig")
            .arg(&kubectl.1)
            .args(ROLLOUT_STATUS)
            .output()
    })
    .await??;
    ensure!(
        status.status.success(),
        "the rollout did not finish: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let rollout_took = started.elapsed().as_secs_f64();
    // The rollout is done when the new replicas are ready; the old ones are still in their
    // shutdown delay then, and the moment their ports close is what this scenario is about:
    // keep creating until both are gone, and a moment more.
    let pods = env.cluster.pods(NAMESPACE);
    for name in &before {
        let uid = pods.get(name).await.ok().and_then(|p| p.metadata.uid);
        if let Some(uid) = uid {
            tokio::time::timeout(
                OLD_REPLICAS_GONE,
                await_condition(pods.clone(), name, conditions::is_deleted(&uid)),
            )
            .await
            .with_context(|| format!("the old replica {name} was not gone within {OLD_REPLICAS_GONE:?}"))??;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tally = creators.stop().await?;
    let after = webhook_pods(&env).await?;
    ensure!(
        after.iter().all(|p| !before.contains(p)) && after.len() == 2,
        "the rollout did not replace both replicas: before {before:?}, after {after:?}"
    );
    figure(
        "rolling restart of the webhook (2 replicas), to both new replicas ready",
        format!("{rollout_took:.1} s"),
    );
    figure(
        "pod creations (dry run) from the restart until both old replicas were gone",
        format!(
            "{} admitted and mutated, {} refused, {} unmutated in {:.1} s",
            tally.created - tally.unmutated.len(),
            tally.refused.len(),
            tally.unmutated.len(),
            started.elapsed().as_secs_f64()
        ),
    );
    ensure!(
        tally.refused.is_empty(),
        "{} creations refused during the rollout: {:?}",
        tally.refused.len(),
        tally.refused
    );
    ensure!(tally.unmutated.is_empty(), "admitted unmutated: {:?}", tally.unmutated);
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
