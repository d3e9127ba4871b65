//! ServiceAccounts in a cluster: a kube-rs reflector over ServiceAccount *metadata* only (the
//! webhook needs annotations alone, so memory stays small with 100k accounts), and on a cache
//! miss a direct GET before denying, for an account created moments before its pod
//! (upstream's race fix). Ready once the first list has filled the cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use wif_core::ServiceAccountInfo;

use crate::accounts::{LookupError, ServiceAccountSource};

/// The cluster's ServiceAccounts, cached.
pub struct KubeServiceAccounts {
    client: kube::Client,
    store: Store<PartialObjectMeta<ServiceAccount>>,
    ready: Arc<AtomicBool>,
    lookup_timeout: std::time::Duration,
}

/// How long a direct GET may take. kube-apiserver gives the whole webhook call 10 s by
/// default, and kube's client retries an overloaded API server with backoff for much longer.
pub const DEFAULT_LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

impl std::fmt::Debug for KubeServiceAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeServiceAccounts")
            .field("cached", &self.store.len())
            .field("ready", &self.ready.load(Ordering::SeqCst))
            .finish()
    }
}

fn info(meta: &PartialObjectMeta<ServiceAccount>, namespace: &str, name: &str) -> ServiceAccountInfo {
    ServiceAccountInfo {
        namespace: meta.metadata.namespace.clone().unwrap_or_else(|| namespace.to_owned()),
        name: meta.metadata.name.clone().unwrap_or_else(|| name.to_owned()),
        annotations: meta.metadata.annotations.clone().unwrap_or_default(),
    }
}

impl KubeServiceAccounts {
    /// Starts watching every namespace's ServiceAccounts (metadata only) on the current runtime.
    pub fn start(client: kube::Client) -> Self {
        let (store, writer) = reflector::store();
        // `Api<PartialObjectMeta<_>>` lists and watches metadata only.
        let api: Api<PartialObjectMeta<ServiceAccount>> = Api::all(client.clone());
        let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .touched_objects();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                if let Err(error) = event {
                    tracing::warn!(%error, "ServiceAccount watch error; retrying with backoff");
                }
            }
        });
        let ready = Arc::new(AtomicBool::new(false));
        let (flag, waiter) = (Arc::clone(&ready), store.clone());
        tokio::spawn(async move {
            if waiter.wait_until_ready().await.is_ok() {
                flag.store(true, Ordering::SeqCst);
                tracing::info!(accounts = waiter.len(), "ServiceAccount cache synced");
            }
        });
        KubeServiceAccounts {
            client,
            store,
            ready,
            lookup_timeout: DEFAULT_LOOKUP_TIMEOUT,
        }
    }

    /// Sets how long a direct GET may take before the pod is denied.
    pub fn with_lookup_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.lookup_timeout = timeout;
        self
    }

    /// How many accounts are cached.
    pub fn cached(&self) -> usize {
        self.store.len()
    }
}

#[async_trait::async_trait]
impl ServiceAccountSource for KubeServiceAccounts {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<ServiceAccountInfo>, LookupError> {
        if let Some(meta) = self.store.get(&ObjectRef::new(name).within(namespace)) {
            return Ok(Some(info(&meta, namespace, name)));
        }
        let api: Api<PartialObjectMeta<ServiceAccount>> = Api::namespaced(self.client.clone(), namespace);
        let lookup = tokio::time::timeout(self.lookup_timeout, api.get_opt(name));
        match lookup.await.map_err(|_| {
            LookupError(format!(
                "the API server did not answer within {:?}",
                self.lookup_timeout
            ))
        })? {
            Ok(Some(meta)) => {
                tracing::debug!(%namespace, %name, "ServiceAccount found by direct GET after a cache miss");
                Ok(Some(info(&meta, namespace, name)))
            }
            Ok(None) => Ok(None),
            Err(error) => Err(LookupError(error.to_string())),
        }
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}
