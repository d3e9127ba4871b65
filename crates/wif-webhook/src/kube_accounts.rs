//! ServiceAccounts in a cluster: a kube-rs watcher over ServiceAccount *metadata* only,
//! feeding a compact map of what mutation reads (namespace/name and our annotations): about
//! 200 bytes an account instead of the ~1.5 KB a cached `ObjectMeta` costs, so 100k accounts
//! fit in a small pod. On a cache miss a direct GET is made before denying, for an account
//! created moments before its pod (upstream's race fix), bounded by a timeout. Ready once
//! the first list is complete; a relist replaces the map atomically.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use wif_core::{ServiceAccountInfo, contract};

use crate::accounts::{LookupError, ServiceAccountSource};

/// How long a direct GET may take. kube-apiserver gives the whole webhook call 10 s by
/// default, and kube's client retries an overloaded API server with backoff for much longer.
pub const DEFAULT_LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Only our annotations, as boxed strings.
type Annotations = Arc<[(Box<str>, Box<str>)]>;
type Accounts = HashMap<Box<str>, Annotations>;

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

fn ours(meta: &PartialObjectMeta<ServiceAccount>) -> Option<(Box<str>, Annotations)> {
    let m = &meta.metadata;
    let k = key(m.namespace.as_deref()?, m.name.as_deref()?).into_boxed_str();
    let annotations: Vec<(Box<str>, Box<str>)> = m
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(contract::PREFIX) || k.starts_with(contract::WIF_PREFIX))
        .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
        .collect();
    Some((k, annotations.into()))
}

fn info(namespace: &str, name: &str, annotations: &[(Box<str>, Box<str>)]) -> ServiceAccountInfo {
    ServiceAccountInfo {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        annotations: annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    source: &'static str,
}

/// What the cache holds and where lookups were answered: lets an operator (and the
/// end-to-end tests) see the watch deliver and the direct GET happen.
#[derive(Debug, Clone, Default)]
struct AccountMetrics {
    cached: Gauge,
    lookups: Family<LookupLabels, Counter>,
}

impl AccountMetrics {
    fn lookup(&self, source: &'static str) {
        self.lookups.get_or_create(&LookupLabels { source }).inc();
    }
}

/// The cluster's ServiceAccounts, cached compactly.
pub struct KubeServiceAccounts {
    client: kube::Client,
    accounts: Arc<RwLock<Accounts>>,
    ready: Arc<AtomicBool>,
    lookup_timeout: std::time::Duration,
    metrics: AccountMetrics,
}

impl std::fmt::Debug for KubeServiceAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeServiceAccounts")
            .field("cached", &self.cached())
            .field("ready", &self.ready.load(Ordering::SeqCst))
            .finish()
    }
}

impl KubeServiceAccounts {
    /// Starts watching every namespace's ServiceAccounts (metadata only, 500 a page) on the
    /// current runtime.
    pub fn start(client: kube::Client) -> Self {
        let accounts: Arc<RwLock<Accounts>> = Arc::default();
        let ready = Arc::new(AtomicBool::new(false));
        let metrics = AccountMetrics::default();
        let (map, flag, watch_client, gauge) = (
            Arc::clone(&accounts),
            Arc::clone(&ready),
            client.clone(),
            metrics.cached.clone(),
        );
        // Supervised: a watch that ends or panics is logged and started again (with a fresh
        // list), never left dead with a cache that silently stops changing.
        wif_server::supervise("ServiceAccount watch", move || {
            watch_accounts(watch_client.clone(), Arc::clone(&map), Arc::clone(&flag), gauge.clone())
        });
        KubeServiceAccounts {
            client,
            accounts,
            ready,
            lookup_timeout: DEFAULT_LOOKUP_TIMEOUT,
            metrics,
        }
    }

    /// Registers `wif_webhook_service_accounts_cached` and
    /// `wif_webhook_service_account_lookups_total{source="cache|api|absent|error"}`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "wif_webhook_service_accounts_cached",
            "ServiceAccounts in the watch cache",
            self.metrics.cached.clone(),
        );
        registry.register(
            "wif_webhook_service_account_lookups",
            "ServiceAccount lookups by where they were answered: the cache, a direct GET after a miss, absent, or an error",
            self.metrics.lookups.clone(),
        );
    }

    /// Sets how long a direct GET may take before the pod is denied.
    pub fn with_lookup_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.lookup_timeout = timeout;
        self
    }

    /// How many accounts are cached.
    pub fn cached(&self) -> usize {
        self.accounts.read().map_or(0, |a| a.len())
    }
}

/// Lists and watches every namespace's ServiceAccounts (metadata only, 500 a page) into
/// `map`, setting `ready` once the first list is in.
async fn watch_accounts(client: kube::Client, map: Arc<RwLock<Accounts>>, ready: Arc<AtomicBool>, cached: Gauge) {
    // `Api<PartialObjectMeta<_>>` lists and watches metadata only.
    let api: Api<PartialObjectMeta<ServiceAccount>> = Api::all(client);
    let stream = watcher(api, watcher::Config::default().page_size(500)).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut relisting: Option<Accounts> = None;
    while let Some(event) = stream.next().await {
        let write = || map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            Ok(Event::Init) => relisting = Some(Accounts::new()),
            Ok(Event::InitApply(meta)) => {
                if let (Some(fresh), Some((k, v))) = (relisting.as_mut(), ours(&meta)) {
                    fresh.insert(k, v);
                }
            }
            Ok(Event::InitDone) => {
                if let Some(mut fresh) = relisting.take() {
                    fresh.shrink_to_fit();
                    let count = fresh.len();
                    *write() = fresh;
                    cached.set(i64::try_from(count).unwrap_or(i64::MAX));
                    if !ready.swap(true, Ordering::SeqCst) {
                        tracing::info!(accounts = count, "ServiceAccount cache synced");
                    }
                }
            }
            Ok(Event::Apply(meta)) => {
                if let Some((k, v)) = ours(&meta) {
                    let mut accounts = write();
                    accounts.insert(k, v);
                    cached.set(i64::try_from(accounts.len()).unwrap_or(i64::MAX));
                }
            }
            Ok(Event::Delete(meta)) => {
                if let Some((k, _)) = ours(&meta) {
                    let mut accounts = write();
                    accounts.remove(&k);
                    cached.set(i64::try_from(accounts.len()).unwrap_or(i64::MAX));
                }
            }
            Err(error) => tracing::warn!(%error, "ServiceAccount watch error; retrying with backoff"),
        }
    }
}

#[async_trait::async_trait]
impl ServiceAccountSource for KubeServiceAccounts {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<ServiceAccountInfo>, LookupError> {
        let cached = self
            .accounts
            .read()
            .ok()
            .and_then(|a| a.get(key(namespace, name).as_str()).cloned());
        if let Some(annotations) = cached {
            self.metrics.lookup("cache");
            return Ok(Some(info(namespace, name, &annotations)));
        }
        let api: Api<PartialObjectMeta<ServiceAccount>> = Api::namespaced(self.client.clone(), namespace);
        let lookup = tokio::time::timeout(self.lookup_timeout, api.get_opt(name));
        let answer = lookup.await.map_err(|_| {
            self.metrics.lookup("error");
            LookupError::Timeout(self.lookup_timeout)
        })?;
        match answer {
            Ok(Some(meta)) => {
                self.metrics.lookup("api");
                tracing::debug!(%namespace, %name, "ServiceAccount found by direct GET after a cache miss");
                let (_, annotations) = ours(&meta).unwrap_or_else(|| (Box::from(""), Arc::from(Vec::new())));
                Ok(Some(info(namespace, name, &annotations)))
            }
            Ok(None) => {
                self.metrics.lookup("absent");
                Ok(None)
            }
            Err(error) => {
                self.metrics.lookup("error");
                Err(LookupError::Api(error))
            }
        }
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}
