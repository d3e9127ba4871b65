//! wif as users run it, on a real node: the control plane with kubelet, containerd and runc
//! that `scripts/e2e-node` starts (through `scripts/control-plane up --node` and `scripts/node`),
//! the images `scripts/images` built from the Dockerfile here, the Helm chart installed from
//! deploy/helm. Every scenario looks at what a user would: pods Running, the token file kubelet
//! wrote, the application's log, the proxy answering in the pod, admissions during a rollout.
//!
//! Not part of a plain `cargo test` (`test = false`): `scripts/e2e-node` runs it inside the
//! namespaces it made, and without its variables every scenario fails with the command to run.
//! Its own runner (`harness = false`): one emulator and one chart for the whole run, scenarios in
//! order, each in its own namespace; figures are printed as `figure: NAME = VALUE`.
//!
//! usage: cargo test -p wif --test node -- [SUBSTRING ...]

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]
// Fixtures holding processes and clients, never printed.
#![allow(missing_debug_implementations)]

// The e2e tests' control-plane client and process guards; not every item is used here.
mod chart;
#[allow(dead_code)]
#[path = "../e2e/cluster.rs"]
mod cluster;
mod emulator;
mod kustomize;
mod pods;
mod proxy;
mod rollout;
#[path = "../e2e/runner.rs"]
#[macro_use]
mod runner;
mod upstream;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use cluster::Cluster;
use emulator::Emulator;

/// What every scenario shares: the control plane with its node, the emulator pods reach, the
/// chart installed.
pub struct Env {
    /// The control plane the node is registered with.
    pub cluster: Cluster,
    /// `wif sts` on the node's address.
    pub emulator: Emulator,
    /// Where scenarios write their files.
    pub work: PathBuf,
    /// The node's address: pods reach the emulator there.
    pub node_ip: String,
}

type Scenario = runner::Scenario<Env>;

const SCENARIOS: &[(&str, Scenario)] = scenarios![
    chart::the_chart_runs_two_replicas_and_patched_its_ca_bundle,
    pods::labelled_pod_runs_with_kubelets_token_readable_by_its_user,
    pods::application_gets_two_tenants_and_reads_the_secret,
    proxy::imds_only_client_gets_its_token_through_the_proxy,
    rollout::rolling_restart_loses_no_admission,
    upstream::upstream_beside_wif_same_pods_running,
    upstream::upstreams_proxy_asks_microsoft_about_the_authority_and_fails_where_wifs_served,
    kustomize::the_kustomize_base_serves_after_the_chart_is_uninstalled,
];

/// A variable `scripts/e2e-node` sets.
pub fn var(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| {
        anyhow::anyhow!(
            "{name} is not set: the node tests run on the node scripts/e2e-node starts; run scripts/e2e-node"
        )
    })
}

/// Prints one measured figure where the run's log shows it.
pub fn figure(name: &str, value: impl std::fmt::Display) {
    println!("figure: {name} = {value}");
}

/// Starts the emulator where pods reach it and installs the chart as a user would.
async fn setup() -> Result<Env> {
    let cluster = Cluster::from_env().await?;
    let work = PathBuf::from(var("WIF_E2E_NODE_RUN")?).join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let node_ip = var("NODE_IP")?;
    let emulator = Emulator::start(&cluster, &work, &node_ip).context("starting wif sts on the node's address")?;
    let env = Env {
        cluster,
        emulator,
        work,
        node_ip,
    };
    chart::install(&env).await.context("installing deploy/helm")?;
    Ok(env)
}

fn main() -> std::process::ExitCode {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let env = match runtime.block_on(setup()) {
        Ok(env) => Arc::new(env),
        Err(error) => {
            eprintln!("node: cannot start: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let (passed, failed) = runner::run(&runtime, &env, SCENARIOS, &filters);
    // What a user looks at first, for the run's log (less the rollout's thousands of pods).
    let listing = [
        "get",
        "pods",
        "-A",
        "-o",
        "wide",
        "--field-selector",
        "metadata.namespace!=node-rollout",
    ];
    if let Ok(out) = env.cluster.kubectl(&listing) {
        println!(
            "\n$ kubectl {}\n{}",
            listing.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    drop(env);
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    runner::summary("node", passed, &failed)
}
