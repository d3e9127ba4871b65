//! The other way in: the chart uninstalled (`helm uninstall --wait`), then deploy/base applied
//! with kubectl's kustomize through an overlay that sets the tenant, as its kustomization.yaml
//! tells users to. The webhook comes up, makes its certificate again, and a labelled pod runs
//! with the env and kubelet's token. Last of the scenarios: it takes the chart away.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use serde_json::json;

use crate::chart::{NAMESPACE, RELEASE, ROLLOUT_STATUS, helm};
use crate::emulator::{READER, READER_TENANT};
use crate::pods::{BUSYBOX, TOKEN_FILE, USE_LABEL, claims, exec, namespace_with_app_account, run_until, running};
use crate::{Env, figure};

pub async fn the_kustomize_base_serves_after_the_chart_is_uninstalled(env: Arc<Env>) -> Result<()> {
    helm(
        &env,
        &[
            "uninstall",
            RELEASE,
            "--namespace",
            NAMESPACE,
            "--wait",
            "--timeout",
            "120s",
        ],
    )?;
    // An overlay beside a copy of the base, as a user's repository holds it.
    let root = env.work.join("kustomize");
    let base = root.join("base");
    std::fs::create_dir_all(&base)?;
    let source = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/base"));
    for entry in std::fs::read_dir(source)? {
        let path = entry?.path();
        std::fs::copy(&path, base.join(path.file_name().context("a file name")?))?;
    }
    let overlay = root.join("cluster");
    std::fs::create_dir_all(&overlay)?;
    std::fs::write(
        overlay.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../base]\npatches:\n  - target: {{kind: ConfigMap, name: azure-wi-webhook-config}}\n    patch: |-\n      [{{\"op\": \"replace\", \"path\": \"/data/AZURE_TENANT_ID\", \"value\": \"{READER_TENANT}\"}}]\n"
        ),
    )?;
    let started = Instant::now();
    let overlay_path = overlay.display().to_string();
    let applied = env.cluster.kubectl(&["apply", "-k", &overlay_path])?;
    ensure!(
        applied.status.success(),
        "kubectl apply -k: {}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let rollout = env.cluster.kubectl(&ROLLOUT_STATUS)?;
    ensure!(
        rollout.status.success(),
        "the kustomize base's webhook did not become available: {}",
        String::from_utf8_lossy(&rollout.stderr)
    );
    figure(
        "kubectl apply -k (deploy/base) to Deployment available",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    let ns = "node-kustomize";
    namespace_with_app_account(&env.cluster, ns).await?;
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "reader", "labels": {USE_LABEL: "true"}},
        "spec": {"serviceAccountName": "app",
                 "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "fsGroup": 2000},
                 "containers": [{"name": "main", "image": BUSYBOX, "imagePullPolicy": "Never", "command": ["sleep", "3600"]}]},
    });
    // The API server may call the new webhook a moment after its configuration is written:
    // a refusal then is retried, a pod admitted unmutated is a failure below.
    let mut attempts = 0;
    let pod = loop {
        attempts += 1;
        match run_until(&env.cluster, ns, pod.clone(), "Running", running).await {
            Ok(pod) => break pod,
            Err(error) if attempts < 20 && format!("{error:#}").contains("failed calling webhook") => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error),
        }
    };
    let environment = exec(&env.cluster, ns, "reader", &["env"])?;
    for expected in [
        format!("AZURE_CLIENT_ID={READER}"),
        format!("AZURE_TENANT_ID={READER_TENANT}"),
        "AZURE_AUTHORITY_HOST=https://login.microsoftonline.com/".to_owned(),
    ] {
        ensure!(
            environment.lines().any(|l| l == expected),
            "{expected} missing from the container's env:\n{environment}"
        );
    }
    let token = exec(&env.cluster, ns, "reader", &["cat", TOKEN_FILE])?;
    let uid = pod.metadata.uid.context("no uid")?;
    ensure!(
        claims(&token)?["kubernetes.io"]["pod"]["uid"] == uid.as_str(),
        "the token is not bound to the pod"
    );
    Ok(())
}
