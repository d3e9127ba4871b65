//! End-to-end tests against a real control plane: etcd, kube-apiserver and
//! kube-controller-manager built from their Go modules and started on loopback by
//! `scripts/e2e` (through `scripts/control-plane`). The webhook is judged by what the API
//! server stores; tokens come from the API server's own signer.
//!
//! Not part of a plain `cargo test` (`test = false`): `scripts/e2e` runs it with the control
//! plane's variables set, and without them every scenario fails with the command to run.
//! Its own runner (`harness = false`): one shared webhook for the whole run, scenarios in
//! order, each in its own namespace, every process it started stopped by PID at the end.
//!
//! usage: cargo test -p wif --test e2e -- [SUBSTRING ...]

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]
// Fixtures holding processes and clients, never printed.
#![allow(missing_debug_implementations)]

mod accounts;
mod admission;
mod cluster;
mod deployment;
mod differences;
mod differential;
mod doctor;
mod migrate;
mod reinvocation;
mod render;
mod rotation;
mod stranded;
#[macro_use]
mod runner;
mod tokens;
mod upstream;
mod webhook;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::json;

use cluster::Cluster;
use webhook::{Webhook, WebhookLaunch};

/// What every scenario shares: the control plane and the webhook registered with it.
pub struct Env {
    /// The control plane.
    pub cluster: Cluster,
    /// The webhook every scenario's namespace is admitted by (unless it brings its own).
    pub webhook: Webhook,
    /// Where scenarios write their files.
    pub work: PathBuf,
}

type Scenario = runner::Scenario<Env>;

const SCENARIOS: &[(&str, Scenario)] = scenarios![
    admission::labelled_pod_gets_env_volume_and_mount,
    admission::unlabelled_pod_is_untouched,
    admission::skip_containers_are_left_alone,
    admission::expiration_annotation_sets_the_token_lifetime,
    admission::denials_reach_the_client_in_upstreams_words,
    admission::proxy_is_a_native_sidecar_the_api_server_accepts,
    admission::proxy_as_a_plain_container_the_api_server_accepts,
    admission::server_side_dry_run_is_mutated_and_not_stored,
    deployment::deployment_pods_are_mutated,
    reinvocation::containers_added_by_a_later_webhook_get_the_env,
    render::offline_render_equals_what_the_api_server_stored,
    accounts::account_created_after_start_arrives_by_watch,
    accounts::account_created_just_before_its_pod_is_found_by_get,
    accounts::annotation_change_reaches_the_cache,
    accounts::readyz_waits_for_the_first_list,
    accounts::rss_with_ten_thousand_accounts,
    tokens::token_request_is_exchanged_at_the_emulator,
    tokens::namespace_typo_gets_aadsts700213_and_the_diagnosis,
    tokens::azidentity_gets_tokens_in_two_tenants_from_one_token,
    tokens::azidentity_default_credential_with_the_pods_env,
    doctor::doctor_reads_the_cluster,
    migrate::migrate_reads_pod_identity_from_the_cluster_and_writes_nothing_there,
    differential::same_pods_same_result_as_upstream,
    rotation::replicas_racing_end_with_one_certificate_set,
    stranded::pods_admitted_while_the_webhook_was_down_are_healed,
];

/// The shared webhook's namespaces: the scenarios', less those a scenario gives a webhook of
/// its own.
pub fn shared_selector() -> serde_json::Value {
    json!({"matchExpressions": [
        {"key": cluster::OWN_WEBHOOK_LABEL, "operator": "DoesNotExist"},
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "kube-public", "kube-node-lease"]},
    ]})
}

/// Starts the shared webhook, registers it and waits until the API server calls it.
async fn setup() -> Result<Env> {
    let cluster = Cluster::from_env().await?;
    let work = cluster.dir.join("e2e");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let webhook = Webhook::start(WebhookLaunch {
        name: "webhook",
        kubeconfig: &cluster.kubeconfig,
        work: &work,
        extra_args: Vec::new(),
        env: Vec::new(),
    })?;
    webhook.ready().await?;
    webhook::register(
        &cluster,
        wif_core::contract::WEBHOOK_CONFIGURATION_NAME,
        &webhook.url,
        &webhook.ca_pem,
        Some(shared_selector()),
    )
    .await?;
    let env = Env { cluster, webhook, work };
    admission::wait_until_called(&env).await?;
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
            eprintln!("e2e: cannot start: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let (passed, failed) = runner::run(&runtime, &env, SCENARIOS, &filters);
    drop(env);
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    runner::summary("e2e", passed, &failed)
}

/// A scenario's namespace name from its own name.
pub fn namespace_for(scenario: &str) -> String {
    let mut name: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(44);
    // A run of its own each time, so a second run against one control plane starts clean.
    format!("e2e-{}-{:x}", name.trim_matches('-'), std::process::id())
}

/// Reads a file the test itself wrote.
pub fn read(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| path.display().to_string())
}
