//! The control plane `scripts/control-plane up` started (read from its `env` file's
//! variables), a client for it, and the processes the scenarios start: each a guard that
//! kills its process by PID when dropped, so a failed scenario leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::watcher;
use serde_json::Value;

/// The tenant the shared webhook injects for accounts without a tenant annotation.
pub const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
/// Client ids of the scenarios' accounts.
pub const CLIENT_A: &str = "11111111-0000-4000-8000-000000000001";
pub const CLIENT_B: &str = "22222222-0000-4000-8000-000000000002";

/// A namespace with this label is left out of the shared webhook's registration: the
/// scenario registers a webhook of its own for it.
pub const OWN_WEBHOOK_LABEL: &str = "wif-e2e/own-webhook";

/// How long any one wait may take before the scenario fails (two busy cores).
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The control plane, as `scripts/control-plane up` described it.
pub struct Cluster {
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
    pub server: String,
    pub ca_file: PathBuf,
    pub kubectl: PathBuf,
    pub dir: PathBuf,
    pub version: String,
}

fn var(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| {
        anyhow::anyhow!(
            "{name} is not set: the end-to-end tests run against a control plane; run scripts/e2e (it builds and starts one with scripts/control-plane)"
        )
    })
}

impl Cluster {
    /// Reads the variables of `DIR/env` and connects.
    pub async fn from_env() -> Result<Cluster> {
        let kubeconfig = PathBuf::from(var("KUBECONFIG")?);
        let file = kube::config::Kubeconfig::read_from(&kubeconfig)?;
        let config = kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default()).await?;
        let client = kube::Client::try_from(config)?;
        let cluster = Cluster {
            client,
            kubeconfig,
            server: var("KUBE_APISERVER")?,
            ca_file: PathBuf::from(var("KUBE_CA_FILE")?),
            kubectl: PathBuf::from(var("KUBECTL")?),
            dir: PathBuf::from(var("CONTROL_PLANE_DIR")?),
            version: var("KUBERNETES_VERSION")?,
        };
        let found = cluster
            .client
            .apiserver_version()
            .await
            .context("the API server does not answer /version")?;
        if found.git_version != cluster.version {
            bail!(
                "the API server reports {}, the control plane was built as {}",
                found.git_version,
                cluster.version
            );
        }
        Ok(cluster)
    }

    /// A fresh namespace for one scenario (each run starts a new control plane).
    pub async fn namespace(&self, name: &str) -> Result<String> {
        self.namespace_labelled(name, &[]).await
    }

    /// A fresh namespace with these labels.
    pub async fn namespace_labelled(&self, name: &str, labels: &[(&str, &str)]) -> Result<String> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                labels: Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
                ..Default::default()
            },
            ..Default::default()
        };
        api.create(&PostParams::default(), &namespace)
            .await
            .with_context(|| format!("creating namespace {name}"))?;
        Ok(name.to_owned())
    }

    pub fn pods(&self, namespace: &str) -> Api<Pod> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Creates a ServiceAccount with these annotations.
    pub async fn service_account(&self, namespace: &str, name: &str, annotations: &[(&str, &str)]) -> Result<()> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let account = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..Default::default()
            },
            ..Default::default()
        };
        api.create(&PostParams::default(), &account)
            .await
            .with_context(|| format!("creating ServiceAccount {namespace}/{name}"))?;
        Ok(())
    }

    /// Creates a pod from JSON and returns what the API server stored.
    pub async fn create_pod(&self, namespace: &str, pod: Value) -> std::result::Result<Pod, kube::Error> {
        let pod: Pod = serde_json::from_value(pod).map_err(kube::Error::SerdeError)?;
        self.pods(namespace).create(&PostParams::default(), &pod).await
    }

    /// Waits (by watching, not polling) for the first pod in `namespace` matching `selector`.
    pub async fn first_pod(&self, namespace: &str, selector: &str) -> Result<Pod> {
        let config = watcher::Config::default().labels(selector);
        let stream = watcher(self.pods(namespace), config);
        let mut stream = std::pin::pin!(stream);
        let wait = async {
            while let Some(event) = stream.next().await {
                match event? {
                    watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => return Ok(pod),
                    _ => {}
                }
            }
            bail!("the pod watch ended")
        };
        tokio::time::timeout(DEADLINE, wait)
            .await
            .with_context(|| format!("no pod matching {selector} in {namespace} within {DEADLINE:?}"))?
    }

    /// Runs the kubectl the control plane was built with.
    pub fn kubectl(&self, args: &[&str]) -> Result<std::process::Output> {
        Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .context("running kubectl")
    }

    /// What the API server would store for `pod` (admission, defaulting, validation), nothing
    /// kept: a server-side dry run.
    pub async fn dry_run(&self, namespace: &str, pod: &Pod) -> std::result::Result<Pod, kube::Error> {
        let params = PostParams {
            dry_run: true,
            ..Default::default()
        };
        self.pods(namespace).create(&params, pod).await
    }
}

/// A process the tests started: killed and reaped by PID when dropped.
pub struct Process {
    pub child: Child,
    pub name: String,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory, from /proc.
    pub fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmRSS in /proc/PID/status")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A started process whose first stdout line (its banner) is still to come.
pub struct Starting {
    pub process: Process,
    banner: std::sync::mpsc::Receiver<std::io::Result<String>>,
    log: PathBuf,
}

/// Starts `command` (stdout piped, stderr to `log`) without waiting for it.
pub fn spawn(name: &str, command: &mut Command, log: &Path) -> Result<Starting> {
    use std::io::{BufRead, BufReader};
    let log_file = std::fs::File::create(log)?;
    let child = command
        .stdout(Stdio::piped())
        .stderr(log_file)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let mut process = Process {
        child,
        name: name.to_owned(),
    };
    let stdout = process.child.stdout.take().context("stdout")?;
    // The banner comes once the server listens; a process that dies first gives EOF.
    let (sender, banner) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = sender.send(reader.read_line(&mut line).map(|_| line.clone()));
        // Keep draining, so the process never blocks on a full pipe.
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    Ok(Starting {
        process,
        banner,
        log: log.to_owned(),
    })
}

impl Starting {
    /// Waits for the banner line.
    pub fn banner(self) -> Result<(Process, String)> {
        let name = self.process.name.clone();
        let line = self.banner.recv_timeout(DEADLINE).map_err(|_| {
            anyhow::anyhow!(
                "{name} printed no banner within {DEADLINE:?} (log: {})",
                self.log.display()
            )
        })??;
        if line.is_empty() {
            bail!(
                "{name} exited before listening: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
        Ok((self.process, line))
    }
}

/// Starts `command` and returns it with its banner.
pub fn spawn_with_banner(name: &str, command: &mut Command, log: &Path) -> Result<(Process, String)> {
    spawn(name, command, log)?.banner()
}

/// The address after `marker` in a banner (`listening on https://...`).
pub fn banner_field(line: &str, marker: &str) -> Result<String> {
    line.split(marker)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(|field| field.trim_end_matches([')', ',']).to_owned())
        .with_context(|| format!("no {marker:?} in {line:?}"))
}

/// A plain-HTTP GET (health and metrics endpoints): status and body.
pub async fn http_get(url: &str) -> Result<(u16, String)> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?;
    let response = client.get(url).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

/// The value of one sample in a Prometheus text exposition (`name{labels}` as written).
pub fn metric(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// Polls `check` (a cheap read of a local endpoint) until it holds, for at most [`DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let started = std::time::Instant::now();
    loop {
        if check().await.unwrap_or(false) {
            return Ok(());
        }
        if started.elapsed() > DEADLINE {
            bail!("{what}: not within {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The environment variables of one container of a stored pod, by name.
pub fn container_env(pod: &Pod, container: &str) -> Vec<(String, String)> {
    let spec = pod.spec.as_ref();
    spec.into_iter()
        .flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()))
        .filter(|c| c.name == container)
        .flat_map(|c| c.env.iter().flatten())
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
        .collect()
}

/// One variable's value in a container of a stored pod.
pub fn env_value(pod: &Pod, container: &str, name: &str) -> Option<String> {
    container_env(pod, container)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}
