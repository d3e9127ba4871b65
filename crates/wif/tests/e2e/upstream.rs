//! azure-workload-identity v1.6.0's webhook, built from its Go module by `scripts/upstream
//! build`, run against the same API server as wif's: its fixed port 9443 on every address
//! (scripts/e2e runs the whole suite in a network namespace of its own, with only `lo`), a
//! certificate from a CA the test makes, cert rotation off, the same tenant and log level.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::Env;
use crate::cluster::{Process, TENANT, eventually, http_get, spawn};

/// upstream's webhook port: a constant in its source, not a flag.
pub const UPSTREAM_WEBHOOK_PORT: u16 = 9443;

/// A running upstream webhook.
pub struct UpstreamWebhook {
    /// Held so the process is stopped when the fixture is dropped.
    pub _process: Process,
    pub url: String,
    pub ca_pem: String,
    pub health: String,
}

fn upstream_bin(name: &str) -> Result<PathBuf> {
    let dir = std::env::var("UPSTREAM_BIN_DIR").map_err(|_| {
        anyhow::anyhow!("UPSTREAM_BIN_DIR is not set: scripts/e2e builds upstream (scripts/upstream build) and sets it")
    })?;
    let path = PathBuf::from(dir).join(name);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: run scripts/upstream build",
        path.display()
    );
    Ok(path)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl UpstreamWebhook {
    /// Starts it and waits for its /readyz.
    pub async fn start(env: &Env) -> Result<UpstreamWebhook> {
        let certs = env.work.join("upstream-certs");
        std::fs::create_dir_all(&certs)?;
        let ca = wif_server::pki::LocalCa::new("upstream-e2e-ca")?;
        let serving = ca.issue(&["127.0.0.1", "localhost"])?;
        std::fs::write(certs.join("tls.crt"), &serving.cert_pem)?;
        std::fs::write(certs.join("tls.key"), &serving.key_pem)?;
        let (health, metrics) = (
            format!("127.0.0.1:{}", free_port()?),
            format!("127.0.0.1:{}", free_port()?),
        );
        let mut command = Command::new(upstream_bin("webhook")?);
        command
            .arg("--webhook-cert-dir")
            .arg(&certs)
            .args(["--disable-cert-rotation", "--log-level=info"])
            .args(["--health-addr", &health, "--metrics-addr", &metrics])
            .arg("--kubeconfig")
            .arg(&env.cluster.kubeconfig)
            .env("AZURE_TENANT_ID", TENANT)
            .env_remove("AZURE_ENVIRONMENT")
            .env_remove("KUBERNETES_SERVICE_HOST");
        let starting = spawn("upstream webhook", &mut command, &env.work.join("upstream-webhook.log"))?;
        let webhook = UpstreamWebhook {
            _process: starting.process,
            url: format!("https://127.0.0.1:{UPSTREAM_WEBHOOK_PORT}"),
            ca_pem: ca.cert_pem().to_owned(),
            health: format!("http://{health}"),
        };
        let readyz = format!("{}/readyz", webhook.health);
        eventually("upstream's /readyz", || async { Ok(http_get(&readyz).await?.0 == 200) })
            .await
            .with_context(|| format!("upstream's log: {}", env.work.join("upstream-webhook.log").display()))?;
        Ok(webhook)
    }
}
