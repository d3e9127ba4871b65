//! `wif doctor --cluster`: ServiceAccounts, workloads, Namespaces and the
//! MutatingWebhookConfigurations read from the API server, and the issuer from its
//! discovery document, judged by the same rules as manifests.

use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::admission::{CLIENT_ID, USE_LABEL};
use crate::cluster::{CLIENT_A, OWN_WEBHOOK_LABEL, TENANT};
use crate::{Env, namespace_for};

async fn deployment(env: &Env, ns: &str, name: &str, account: &str, opt_in: &str) -> Result<()> {
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, USE_LABEL: opt_in}},
                "spec": {"serviceAccountName": account, "containers": [{"name": "app", "image": "busybox"}]},
            },
        },
    }))?;
    Api::<Deployment>::namespaced(env.cluster.client.clone(), ns)
        .create(&PostParams::default(), &deployment)
        .await?;
    Ok(())
}

pub async fn doctor_reads_the_cluster(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("doctor")).await?;
    let excluded = env
        .cluster
        .namespace_labelled(&namespace_for("doctor-excluded"), &[(OWN_WEBHOOK_LABEL, "true")])
        .await?;
    env.cluster
        .service_account(&ns, "api", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    env.cluster
        .service_account(&ns, "bad", &[(CLIENT_ID, "not-a-guid")])
        .await?;
    env.cluster
        .service_account(&excluded, "api", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    deployment(&env, &ns, "good", "api", "true").await?;
    deployment(&env, &ns, "capital", "api", "True").await?;
    deployment(&env, &ns, "garbled", "bad", "true").await?;
    deployment(&env, &excluded, "api", "api", "true").await?;
    // The credential names the issuer with a trailing slash the API server's does not have.
    let credentials = env.work.join("doctor-fics.json");
    let fic = json!([{
        "name": "good", "issuer": format!("{}/", env.cluster.server),
        "subject": format!("system:serviceaccount:{ns}:api"), "audiences": ["api://AzureADTokenExchange"],
    }]);
    std::fs::write(&credentials, fic.to_string())?;

    let out = Command::new(env!("CARGO_BIN_EXE_wif"))
        .args(["doctor", "--cluster", "--tenant-id", TENANT, "-o", "json"])
        .arg("--kubeconfig")
        .arg(&env.cluster.kubeconfig)
        .arg("--federated-credentials")
        .arg(format!("{CLIENT_A}={}", credentials.display()))
        .output()?;
    ensure!(
        out.status.code() == Some(1),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).context("the JSON report")?;
    let findings = report["findings"].as_array().context("no findings")?;
    // A credential is named with the identity it belongs to: `good (on the identity of ...)`.
    let found = |rule: &str, namespace: &str, name: &str| {
        findings.iter().any(|f| {
            let object = &f["object"]["name"].as_str().unwrap_or_default();
            f["rule"] == rule
                && f["object"]["namespace"] == namespace
                && (*object == name || object.starts_with(&format!("{name} (")))
        })
    };
    let expected = [
        ("webhook-namespace-excluded", excluded.as_str(), "api"),
        ("label-value", ns.as_str(), "capital"),
        ("client-id-not-guid", ns.as_str(), "bad"),
        ("fic-issuer", "", "good"),
    ];
    for (rule, namespace, name) in expected {
        ensure!(
            found(rule, namespace, name),
            "no {rule} for {namespace}/{name} in {:#}",
            report["findings"]
        );
    }
    // Pods the ReplicaSets made are their workloads' findings, not findings of their own;
    // the good Deployment in a selected namespace draws no registration finding.
    let ours = |f: &&Value| f["object"]["namespace"] == ns.as_str() || f["object"]["namespace"] == excluded.as_str();
    ensure!(
        findings
            .iter()
            .filter(ours)
            .all(|f| f["object"]["kind"] == "Deployment" || f["object"]["kind"] == "ServiceAccount"),
        "owned objects reported: {:#}",
        report["findings"]
    );
    ensure!(
        !found("webhook-namespace-excluded", &ns, "good"),
        "the selected namespace reported excluded"
    );
    Ok(())
}
