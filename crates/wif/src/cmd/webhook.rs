//! `wif webhook`: the mutating admission webhook server, with azure-workload-identity's flags
//! and environment (`AZURE_TENANT_ID`, `AZURE_ENVIRONMENT`, `PROXY_IMAGE`, `PROXY_INIT_IMAGE`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use prometheus_client::registry::Registry;
use wif_server::{ServiceOptions, TlsSource, shutdown_signal};
use wif_webhook::{KubeServiceAccounts, ServiceAccountSource, StaticServiceAccounts, WebhookMetrics, WebhookState};

use crate::cmd::settings_args::SettingsArgs;

/// `wif webhook` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif webhook --tenant-id $TENANT                        # in a cluster, upstream's defaults",
        "wif webhook --tenant-id $TENANT --service-accounts sas.yaml --bind-address 127.0.0.1 --port 0 --self-signed-ca-out ca.pem",
    )
)]
pub struct WebhookArgs {
    /// Port of the webhook (upstream's fixed 9443).
    #[arg(long, default_value_t = wif_core::contract::WEBHOOK_PORT)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: std::net::IpAddr,
    /// Directory with tls.crt and tls.key (reloaded when they change).
    #[arg(long, default_value = "/certs", value_name = "DIR")]
    pub webhook_cert_dir: PathBuf,
    /// Certificates come from elsewhere (cert-manager): built-in rotation (a CA and serving
    /// certificate kept in the Secret, the caBundle kept current) is not started.
    #[arg(long)]
    pub disable_cert_rotation: bool,
    /// Instead of --webhook-cert-dir: a throwaway CA and certificate, the CA written here (local use).
    #[arg(long, value_name = "FILE")]
    pub self_signed_ca_out: Option<PathBuf>,
    /// Minimum TLS version: 1.2 or 1.3.
    #[arg(long, default_value = "1.3")]
    pub tls_min_version: String,
    /// Address of /healthz and /readyz (upstream's ":9440" form accepted).
    #[arg(long, default_value = ":9440", value_parser = parse_go_addr)]
    pub health_addr: SocketAddr,
    /// Address of Prometheus /metrics (upstream's ":8095" form accepted).
    #[arg(long, default_value = ":8095", value_parser = parse_go_addr)]
    pub metrics_addr: SocketAddr,
    /// Metrics backend (only prometheus, as upstream).
    #[arg(long, default_value = "prometheus")]
    pub metrics_backend: String,
    /// ServiceAccounts from a file (multi-document YAML) instead of the cluster: local use and
    /// tests. Without it, the webhook watches the cluster's ServiceAccounts (metadata only).
    #[arg(long, value_name = "FILE")]
    pub service_accounts: Option<PathBuf>,
    /// The cluster to watch, from outside it: a kubeconfig (its current context). Without it:
    /// KUBECONFIG, then the in-cluster service account.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// After SIGTERM, how long to keep accepting admissions (with /readyz answering 503) before
    /// stopping: the API server keeps calling a terminating replica until its endpoint is
    /// removed, and with failurePolicy Fail a closed port there is a refused pod. Keep it under
    /// the pod's terminationGracePeriodSeconds (30 s by default); 0s stops at once.
    #[arg(long, default_value = "5s", value_parser = crate::cmd::service_args::parse_delay, value_name = "DURATION")]
    pub shutdown_delay: std::time::Duration,
    /// Threads that serve admissions. One serves about 50,000 small admissions a second on a
    /// laptop core, far beyond what an API server sends, and spends a fifth less CPU on each
    /// than two (no wake-ups between threads); more add throughput for large pods under heavy
    /// load. 0: one per core.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub worker_threads: usize,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub limits: crate::cmd::service_args::LimitsArgs,
    #[command(flatten)]
    pub stranded: StrandedArgs,
}

/// What to do with a stranded pod besides reporting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Heal {
    /// Report only: Events on the pod and its owner, the metric, the log.
    None,
    /// Evict it through the Eviction API, so its controller makes it again through the webhook.
    Evict,
}

/// The stranded-pods reconciler's flags.
#[derive(Debug, Clone, Args)]
pub struct StrandedArgs {
    /// Find labelled pods running without what the webhook injects (admitted while it was down
    /// with failurePolicy Ignore, or before it was installed) and report them: a Warning Event
    /// on the pod and its owner, wif_webhook_stranded_pods{reason}. One replica acts at a time
    /// (a Lease). Needs the cluster (not --service-accounts). `false` turns it off.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub stranded_pods: bool,
    /// Besides reporting a stranded pod: `evict` it through the Eviction API (PodDisruptionBudgets
    /// honoured, one pod of an owner at a time, one eviction per --eviction-interval; never a pod
    /// without a controller owner, nor in kube-system, kube-public, kube-node-lease or the
    /// webhook's own namespace), so its controller makes it again through the webhook.
    #[arg(long, value_enum, default_value = "none")]
    pub heal: Heal,
    /// Watch only this namespace's pods (repeatable; default: every namespace).
    #[arg(long = "stranded-pods-namespace", value_name = "NAMESPACE")]
    pub stranded_pods_namespaces: Vec<String>,
    /// How often the leader judges the pods due.
    #[arg(long, default_value = "10s", value_parser = crate::cmd::service_args::parse_duration, value_name = "DURATION")]
    pub stranded_pods_interval: std::time::Duration,
    /// How often every labelled pod is judged again (a ServiceAccount annotated after its pods
    /// were admitted shows only in the pods themselves).
    #[arg(long, default_value = "30m", value_parser = crate::cmd::service_args::parse_duration, value_name = "DURATION")]
    pub stranded_pods_resync: std::time::Duration,
    /// The least time between two evictions.
    #[arg(long, default_value = "10s", value_parser = crate::cmd::service_args::parse_duration, value_name = "DURATION")]
    pub eviction_interval: std::time::Duration,
    /// The Lease's namespace (default: POD_NAMESPACE, else azure-workload-identity-system).
    #[arg(long, value_name = "NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// The Lease's name.
    #[arg(long, default_value = "wif-webhook-stranded-pods", value_name = "NAME")]
    pub leader_election_id: String,
}

impl StrandedArgs {
    /// The reconciler's options; the webhook's own namespace (POD_NAMESPACE) is never healed in.
    fn options(&self) -> Result<wif_webhook::stranded::StrandedPodsOptions> {
        let own = std::env::var("POD_NAMESPACE")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| wif_core::contract::DEFAULT_NAMESPACE.into());
        let lease_namespace = self.leader_election_namespace.clone().unwrap_or_else(|| own.clone());
        // The pod's name where there is one, made unique (two processes on one host).
        let host = std::env::var("POD_NAME")
            .ok()
            .filter(|n| !n.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok().filter(|n| !n.is_empty()))
            .unwrap_or_else(|| "wif-webhook".into());
        let suffix = wif_jose::kubernetes::random_uuid()?;
        let identity = format!("{host}_{}", suffix.get(..8).unwrap_or(&suffix));
        let mut excluded: std::collections::BTreeSet<String> = ["kube-system", "kube-public", "kube-node-lease"]
            .map(str::to_owned)
            .into();
        excluded.insert(own.clone());
        Ok(wif_webhook::stranded::StrandedPodsOptions {
            evict: self.heal == Heal::Evict,
            namespaces: self.stranded_pods_namespaces.clone(),
            excluded_namespaces: excluded,
            interval: self.stranded_pods_interval,
            eviction_interval: self.eviction_interval,
            resync: self.stranded_pods_resync,
            lease: wif_webhook::lease::LeaseConfig::new(lease_namespace, self.leader_election_id.clone(), identity),
        })
    }
}

/// Built-in rotation, as upstream's: make sure the Secret holds a CA and serving certificate
/// and the caBundle names the CA (retrying until the API server lets us), wait for kubelet to
/// project the Secret into the cert dir, and re-check every 12 hours from then on.
async fn prepare_certificates(client: &kube::Client, cert_dir: &std::path::Path) {
    let namespace = std::env::var("POD_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| wif_core::contract::DEFAULT_NAMESPACE.into());
    loop {
        match wif_webhook::rotation::rotate_once(client, &namespace).await {
            Ok(_) => break,
            Err(error) => {
                tracing::warn!(error = %wif_core::error_text::error_chain(&error), "certificates not ready; retrying in 10 s");
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            }
        }
    }
    let (cert, key) = (cert_dir.join("tls.crt"), cert_dir.join("tls.key"));
    let mut waited = 0u64;
    while !(cert.exists() && key.exists()) {
        if waited.is_multiple_of(30) {
            tracing::info!(dir = %cert_dir.display(), "waiting for kubelet to project the certificate Secret");
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        waited += 2;
    }
    let client = client.clone();
    wif_server::supervise("certificate rotation", move || {
        wif_webhook::rotation::run(client.clone(), namespace.clone())
    });
}

/// Upstream's start-up decision: the proxy is a native sidecar (an init container with
/// `restartPolicy: Always`) when the API server is 1.32 or newer, a plain container before.
/// Asked once; an API server that does not answer leaves the legacy placement, as upstream.
async fn native_sidecar_supported(client: &kube::Client) -> bool {
    match client.apiserver_version().await {
        Ok(info) => {
            let native = wif_core::settings::supports_native_sidecar(&info.git_version);
            tracing::info!(version = %info.git_version, native_sidecar = native, "API server version read");
            native
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read the API server's version: the proxy sidecar stays a plain container");
            false
        }
    }
}

/// Go's `host:port` with an empty host meaning every address.
fn parse_go_addr(value: &str) -> Result<SocketAddr, String> {
    let full = if value.starts_with(':') {
        format!("0.0.0.0{value}")
    } else {
        value.to_owned()
    };
    full.parse().map_err(|e| format!("{value:?} is not host:port: {e}"))
}

/// Runs `wif webhook` until SIGTERM.
pub fn run(args: &WebhookArgs) -> Result<()> {
    if !args.metrics_backend.eq_ignore_ascii_case("prometheus") {
        bail!("unsupported metrics backend: {}", args.metrics_backend);
    }
    if matches!(args.tls_min_version.as_str(), "1.0" | "1.1") {
        bail!(
            "TLS {} is not offered: use --tls-min-version 1.2 or 1.3",
            args.tls_min_version
        );
    }
    let mut settings = args.settings.settings()?;
    if args.service_accounts.is_some() && args.stranded.heal == Heal::Evict {
        bail!("--heal=evict needs the cluster: it does not go with --service-accounts");
    }
    let file_accounts = match &args.service_accounts {
        Some(path) => {
            let text = crate::input::read_source(&path.to_string_lossy())?;
            let documents = crate::input::parse_stream(&text, &path.to_string_lossy())?;
            Some(
                StaticServiceAccounts::from_documents(&documents, "default")
                    .with_context(|| path.display().to_string())?,
            )
        }
        None => None,
    };
    let tls = match &args.self_signed_ca_out {
        Some(ca_out) => TlsSource::SelfSigned {
            ca_out: ca_out.clone(),
            extra_names: Vec::new(),
        },
        None => TlsSource::CertDir(args.webhook_cert_dir.clone()),
    };
    let workers = (args.worker_threads > 0).then_some(args.worker_threads);
    let runtime = wif_server::runtime::build(wif_server::runtime::RuntimeKind::Server { workers })?;
    runtime.block_on(async move {
        let mut registry = Registry::default();
        let (accounts, source): (Arc<dyn ServiceAccountSource>, String) = match file_accounts {
            Some(accounts) => {
                let described = format!("{} ServiceAccount(s) from a file", accounts.len());
                (Arc::new(accounts), described)
            }
            None => {
                // In the cluster (or with a kubeconfig): the pod's service account, or KUBECONFIG.
                let client = crate::kube_client::connect(args.kubeconfig.as_deref()).await?;
                if args.settings.native_sidecar.is_none() {
                    settings.native_sidecar = native_sidecar_supported(&client).await;
                }
                if !args.disable_cert_rotation && args.self_signed_ca_out.is_none() {
                    prepare_certificates(&client, &args.webhook_cert_dir).await;
                }
                let accounts = KubeServiceAccounts::start(client.clone());
                accounts.register_metrics(&mut registry);
                let accounts: Arc<dyn ServiceAccountSource> = Arc::new(accounts);
                if args.stranded.stranded_pods {
                    let metrics = wif_webhook::stranded::StrandedMetrics::default();
                    metrics.register(&mut registry);
                    let options = args.stranded.options()?;
                    tracing::info!(evict = options.evict, lease = %options.lease.name, "stranded-pods reconciler started");
                    let answers_at_once = crate::kube_client::connect_without_retries(args.kubeconfig.as_deref()).await?;
                    wif_webhook::stranded::start(answers_at_once, Arc::clone(&accounts), settings.clone(), options, metrics);
                }
                (accounts, "ServiceAccounts from the cluster".to_owned())
            }
        };
        let gate_accounts = Arc::clone(&accounts);
        let state = Arc::new(WebhookState {
            settings,
            accounts,
            metrics: WebhookMetrics::new(&mut registry),
        });
        let mut options = ServiceOptions::new(
            SocketAddr::new(args.bind_address, args.port),
            args.health_addr,
            tls,
            &args.tls_min_version,
        );
        options.metrics_addr = Some(args.metrics_addr);
        options.limits = args.limits.limits();
        options.readiness_gate = Some(wif_webhook::server::readiness_gate(gate_accounts));
        options.shutdown_delay = args.shutdown_delay;
        let bound = wif_server::bind(options, wif_webhook::router(state), registry)
            .await
            .context("starting the webhook")?;
        // Before the line that says it listens: a SIGTERM sent by its reader stops it cleanly.
        let stop = shutdown_signal();
        println!(
            "webhook listening on https://{}{} with {source} (health on http://{}, metrics on http://{})",
            bound.address,
            wif_core::contract::WEBHOOK_PATH,
            bound.health_address,
            bound.metrics_address.map(|a| a.to_string()).unwrap_or_default()
        );
        tracing::info!(address = %bound.address, "webhook serving");
        bound.serve(stop).await;
        tracing::info!("webhook stopped");
        Ok(())
    })
}
