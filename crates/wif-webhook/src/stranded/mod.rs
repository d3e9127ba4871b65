//! The stranded-pods reconciler: with `failurePolicy: Ignore`, a pod created while the webhook
//! was down (or before it was installed) starts without its token and fails at run time,
//! silently. Every replica watches the labelled pods' metadata (a metadata-only watch: no
//! spec is held); one of them, the holder of a Lease ([`crate::lease`]), fetches each pod
//! worth a look whole, judges it with the same rule the doctor uses
//! ([`wif_core::stranded::stranded`], itself the webhook's planner), and for a stranded pod
//! emits a Warning Event on the pod and on its owner and counts it in
//! `wif_webhook_stranded_pods{reason}`. With `--heal=evict` it evicts the pod through the
//! Eviction API, so its controller makes it again through the now-healthy webhook: a
//! PodDisruptionBudget is honoured (a refusal is reported and retried), one pod of an owner at
//! a time, never a pod without a controller owner or in an excluded namespace ([`ledger`]).
//! A failed task is logged and started again (`wif_server::supervise`).

mod events;
pub mod ledger;
mod metrics;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, EvictParams, PartialObjectMeta};
use kube::runtime::WatchStreamExt;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::watcher::{self, Event, watcher};
use tokio::sync::watch;
use wif_core::mutation::PodView;
use wif_core::stranded::{Stranded, evicting_heals, stranded, worth_a_look};
use wif_core::{WebhookSettings, contract};

use crate::accounts::ServiceAccountSource;
use crate::lease::LeaseConfig;
use events::{API_TIMEOUT, object_ref, report};
use ledger::{Hold, Ledger, Owner, PodKey, Policy};
pub use metrics::StrandedMetrics;

/// How the reconciler runs.
#[derive(Debug, Clone)]
pub struct StrandedPodsOptions {
    /// Evict stranded pods (`--heal=evict`), or only report them.
    pub evict: bool,
    /// The namespaces watched (empty: all).
    pub namespaces: Vec<String>,
    /// Namespaces never healed in.
    pub excluded_namespaces: BTreeSet<String>,
    /// How often the leader looks at the pods due.
    pub interval: Duration,
    /// The least time between two evictions.
    pub eviction_interval: Duration,
    /// How often every known pod is looked at again (a ServiceAccount annotated after its
    /// pods were admitted shows only in the pods' spec and record).
    pub resync: Duration,
    /// The Lease that picks the leader.
    pub lease: LeaseConfig,
}

/// What the tasks share.
struct Shared {
    client: kube::Client,
    accounts: Arc<dyn ServiceAccountSource>,
    settings: WebhookSettings,
    options: StrandedPodsOptions,
    ledger: Mutex<Ledger>,
    metrics: StrandedMetrics,
    recorder: Recorder,
}

impl Shared {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Starts the reconciler's tasks (the Lease, a watch per namespace, the leader's loop) on the
/// current runtime. `client` should not retry 429 itself (`Config::default_retry` off): a
/// PodDisruptionBudget's refusal is an answer, retried here, later, without holding up the rest.
pub fn start(
    client: kube::Client,
    accounts: Arc<dyn ServiceAccountSource>,
    settings: WebhookSettings,
    options: StrandedPodsOptions,
    metrics: StrandedMetrics,
) {
    let policy = Policy {
        evict: options.evict,
        excluded_namespaces: options.excluded_namespaces.clone(),
        eviction_interval: options.eviction_interval,
        retry: options.interval.max(Duration::from_secs(1)),
    };
    let reporter = Reporter {
        controller: "wif-webhook".into(),
        instance: Some(options.lease.identity.clone()),
    };
    let shared = Arc::new(Shared {
        recorder: Recorder::new(client.clone(), reporter),
        client: client.clone(),
        accounts,
        settings,
        ledger: Mutex::new(Ledger::new(policy)),
        metrics,
        options,
    });
    let (leading, led) = watch::channel(false);
    let lease = shared.options.lease.clone();
    wif_server::supervise("stranded-pods lease", move || {
        crate::lease::run(client.clone(), lease.clone(), leading.clone())
    });
    let scopes: Vec<Option<String>> = if shared.options.namespaces.is_empty() {
        vec![None]
    } else {
        shared.options.namespaces.iter().cloned().map(Some).collect()
    };
    for scope in scopes {
        let shared = Arc::clone(&shared);
        wif_server::supervise("stranded-pods watch", move || {
            watch_pods(Arc::clone(&shared), scope.clone())
        });
    }
    wif_server::supervise("stranded-pods reconciler", move || {
        lead(Arc::clone(&shared), led.clone())
    });
}

/// The controller owner of a pod, from its metadata.
fn owner_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<Owner> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| Owner {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            name: o.name.clone(),
            uid: o.uid.clone(),
        })
}

/// Feeds the ledger from a metadata-only watch of the labelled pods of `namespace` (all: None).
async fn watch_pods(shared: Arc<Shared>, namespace: Option<String>) {
    // `Api<PartialObjectMeta<_>>` lists and watches metadata only.
    let api: Api<PartialObjectMeta<Pod>> = match &namespace {
        Some(ns) => Api::namespaced(shared.client.clone(), ns),
        None => Api::all(shared.client.clone()),
    };
    let selector = format!("{}={}", contract::LABEL_USE, contract::LABEL_USE_VALUE);
    let config = watcher::Config::default().labels(&selector).page_size(500);
    let stream = watcher(api, config).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut listed: Option<HashSet<PodKey>> = None;
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Init) => listed = Some(HashSet::new()),
            Ok(Event::InitApply(meta)) => {
                if let Some(key) = observe(&shared, &meta)
                    && let Some(listed) = listed.as_mut()
                {
                    listed.insert(key);
                }
            }
            Ok(Event::InitDone) => {
                // A relist after a lost watch: what is not listed any more is gone.
                if let Some(listed) = listed.take() {
                    let mut ledger = shared.ledger();
                    for gone in ledger.known_in(namespace.as_deref()).difference(&listed) {
                        ledger.forget(gone);
                    }
                }
            }
            Ok(Event::Apply(meta)) => {
                observe(&shared, &meta);
            }
            Ok(Event::Delete(meta)) => {
                if let (Some(namespace), Some(name)) = (&meta.metadata.namespace, &meta.metadata.name) {
                    shared.ledger().forget(&PodKey {
                        namespace: namespace.clone(),
                        name: name.clone(),
                    });
                }
            }
            Err(error) => tracing::warn!(%error, "labelled pods watch error; retrying with backoff"),
        }
    }
}

/// Records a pod's metadata in the ledger; its key.
fn observe(shared: &Shared, meta: &PartialObjectMeta<Pod>) -> Option<PodKey> {
    let m = &meta.metadata;
    let key = PodKey {
        namespace: m.namespace.clone()?,
        name: m.name.clone()?,
    };
    let uid = m.uid.clone().unwrap_or_default();
    let (labels, annotations) = (
        m.labels.clone().unwrap_or_default(),
        m.annotations.clone().unwrap_or_default(),
    );
    let terminating = m.deletion_timestamp.is_some();
    let look = !terminating && worth_a_look(&labels, &annotations, None, &shared.settings);
    let metadata = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&labels, &annotations, terminating).hash(&mut hasher);
        hasher.finish()
    };
    shared.ledger().observe(key.clone(), &uid, metadata, owner_of(m), look);
    Some(key)
}

/// The leader's loop: every interval, while this replica leads, judge the pods due and act.
async fn lead(shared: Arc<Shared>, led: watch::Receiver<bool>) {
    let mut resynced = Instant::now();
    loop {
        tokio::time::sleep(shared.options.interval).await;
        let leading = *led.borrow();
        shared.metrics.set_leader(leading);
        if !leading {
            // Only the leader counts: a former leader's figures would be counted twice.
            shared.metrics.set_counts(&BTreeMap::new());
            continue;
        }
        if resynced.elapsed() >= shared.options.resync {
            shared.ledger().look_again_at_all();
            resynced = Instant::now();
        }
        let due = shared.ledger().due(Instant::now());
        for key in due {
            // Leadership can end mid-round: stop acting at once.
            if !*led.borrow() {
                break;
            }
            if let Err(error) = look_at(&shared, &key, &led).await {
                tracing::warn!(namespace = %key.namespace, pod = %key.name, %error, "cannot judge a labelled pod; it is looked at again later");
            }
        }
        let counts = shared.ledger().counts();
        shared.metrics.set_counts(&counts);
    }
}

/// Why a pod could not be judged this round.
#[derive(Debug, thiserror::Error)]
enum LookError {
    #[error("the API server could not be asked")]
    Api(#[from] kube::Error),
    #[error("its ServiceAccount could not be looked up")]
    Account(#[from] crate::accounts::LookupError),
    #[error("the stored pod cannot be read")]
    Pod(#[from] serde_json::Error),
    #[error("the stored pod cannot be read")]
    View(#[source] wif_core::mutation::Denial),
    #[error("the API server did not answer within {API_TIMEOUT:?}")]
    Timeout,
}

/// Fetches `key` whole, judges it, reports it when newly stranded, and evicts it when allowed.
async fn look_at(shared: &Shared, key: &PodKey, led: &watch::Receiver<bool>) -> Result<(), LookError> {
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &key.namespace);
    let fetched = tokio::time::timeout(API_TIMEOUT, api.get_opt(&key.name))
        .await
        .map_err(|_| LookError::Timeout)?;
    let Some(pod) = fetched? else {
        shared.ledger().forget(key);
        return Ok(());
    };
    let value = serde_json::to_value(&pod)?;
    let view = PodView::from_value(&value).map_err(LookError::View)?;
    let account = shared.accounts.get(&key.namespace, view.service_account_name()).await?;
    let verdict = stranded(&view, &key.namespace, account.as_ref(), &shared.settings);
    let now = Instant::now();
    let judgement = verdict.as_ref().map(|s| (s.reason, evicting_heals(s.reason, &value)));
    let change = shared.ledger().judged(key, judgement, now);
    let Some(verdict) = verdict else {
        return Ok(());
    };
    let pod_ref = object_ref(&pod);
    let owner = owner_of(&pod.metadata);
    match change {
        ledger::Change::NewlyStranded => {
            tracing::warn!(namespace = %key.namespace, pod = %key.name, reason = verdict.reason.label(), "{}", verdict.message);
            report(
                &shared.recorder,
                &pod_ref,
                owner.as_ref(),
                "WorkloadIdentityMissing",
                "Report",
                &verdict,
                &key.name,
            )
            .await;
        }
        ledger::Change::HealingStopped => {
            let stopped = Stranded {
                message: format!(
                    "a pod its owner made after an eviction came back stranded for the same reason: the webhook does not mutate this owner's pods (a namespace its configuration does not select? a later webhook undoing it?), so none of them is evicted for the next {} minutes; {}",
                    ledger::FUTILE_FOR.as_secs() / 60,
                    verdict.message
                ),
                ..verdict
            };
            tracing::warn!(namespace = %key.namespace, pod = %key.name, "{}", stopped.message);
            report(
                &shared.recorder,
                &pod_ref,
                owner.as_ref(),
                "WorkloadIdentityHealingStopped",
                "Evict",
                &stopped,
                &key.name,
            )
            .await;
            return Ok(());
        }
        ledger::Change::StillStranded | ledger::Change::Fine => {}
    }
    // Decided first: the ledger's guard must not live into the arms, which lock it again.
    let decision = shared.ledger().may_evict(key, now);
    match decision {
        Ok(()) => {}
        Err(Hold::Reporting | Hold::NotStranded) => return Ok(()),
        Err(hold @ (Hold::OwnerBusy | Hold::RateLimited)) => {
            tracing::debug!(namespace = %key.namespace, pod = %key.name, ?hold, "stranded pod waits its turn");
            shared.ledger().wait_turn(key, Instant::now());
            return Ok(());
        }
        Err(hold) => {
            tracing::debug!(namespace = %key.namespace, pod = %key.name, ?hold, "stranded pod not evicted");
            return Ok(());
        }
    }
    // Leadership may have ended while this pod was fetched: a new leader may be acting on it.
    if !*led.borrow() {
        return Ok(());
    }
    // Only the pod as judged: one another leader evicted meanwhile (or that changed) is a 409.
    let params = EvictParams {
        delete_options: Some(kube::api::DeleteParams {
            preconditions: Some(kube::api::Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: pod.metadata.resource_version.clone(),
            }),
            ..kube::api::DeleteParams::default()
        }),
        ..EvictParams::default()
    };
    let mark = shared.ledger().mark();
    let eviction = tokio::time::timeout(API_TIMEOUT, api.evict(&key.name, &params))
        .await
        .map_err(|_| LookError::Timeout)?;
    match eviction {
        Ok(_) => {
            shared.ledger().evicted(key, Instant::now(), mark);
            count(shared, "evicted");
            tracing::info!(namespace = %key.namespace, pod = %key.name, reason = verdict.reason.label(), "evicted a stranded pod: its controller makes it again through the webhook");
            report(
                &shared.recorder,
                &pod_ref,
                owner.as_ref(),
                "WorkloadIdentityEvicted",
                "Evict",
                &verdict,
                &key.name,
            )
            .await;
        }
        Err(kube::Error::Api(status)) if status.code == 429 => {
            count(shared, "blocked");
            tracing::info!(namespace = %key.namespace, pod = %key.name, "eviction refused (a PodDisruptionBudget allows no disruption now); retried later");
            let blocked = Stranded {
                message: format!(
                    "eviction refused: {} (a PodDisruptionBudget allows no disruption now); tried again later",
                    status.message
                ),
                ..verdict
            };
            report(
                &shared.recorder,
                &pod_ref,
                None,
                "WorkloadIdentityEvictionBlocked",
                "Evict",
                &blocked,
                &key.name,
            )
            .await;
        }
        Err(kube::Error::Api(status)) if status.code == 409 => {
            count(shared, "conflict");
            tracing::debug!(namespace = %key.namespace, pod = %key.name, "the pod changed since it was judged; judged again later");
        }
        Err(error) => {
            count(shared, "error");
            return Err(error.into());
        }
    }
    Ok(())
}

fn count(shared: &Shared, outcome: &'static str) {
    shared.metrics.evicted(outcome);
}
