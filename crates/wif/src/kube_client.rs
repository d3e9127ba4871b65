//! The Kubernetes client of the commands that talk to a cluster (`wif webhook`, `wif doctor
//! --cluster`): from a kubeconfig named on the command line, else the in-cluster service
//! account or `KUBECONFIG`, as kubectl chooses.

use std::path::Path;

use anyhow::{Context, Result};

/// A client for the cluster `kubeconfig` names (its current context), or the inferred one.
pub async fn connect(kubeconfig: Option<&Path>) -> Result<kube::Client> {
    kube::Client::try_from(config(kubeconfig).await?).context("cannot make a Kubernetes client")
}

/// As [`connect`], but answers of 429, 503 and 504 come back at once instead of being retried
/// for minutes: an eviction a PodDisruptionBudget refuses is an answer to act on.
pub async fn connect_without_retries(kubeconfig: Option<&Path>) -> Result<kube::Client> {
    let mut config = config(kubeconfig).await?;
    config.default_retry = false;
    kube::Client::try_from(config).context("cannot make a Kubernetes client")
}

async fn config(kubeconfig: Option<&Path>) -> Result<kube::Config> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .with_context(|| format!("the kubeconfig {} names no usable cluster", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .context("no cluster: not in a pod and no kubeconfig (pass --kubeconfig FILE or set KUBECONFIG)")?,
    };
    Ok(config)
}
