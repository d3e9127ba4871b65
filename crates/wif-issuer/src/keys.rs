//! The issuers' keys as the emulator keeps them: fetched as Entra fetches them ([`crate::fetch`],
//! trusting the CA configured for that issuer, or read from a static JWKS file). Only issuers
//! that a federated credential names are ever fetched. Keys beyond the first 100 are dropped
//! (Entra keeps 100), good keys are
//! used for an hour, and a re-fetch on an unknown `kid` happens at most every 10 seconds per
//! issuer, so bad tokens cannot turn the emulator into a load generator.
//!
//! Faults stay small: a failed fetch is remembered for seconds (1, 2, 4 … 30, doubling while
//! the issuer stays down), never for the hour; a failed re-fetch keeps the last good keys.
//! Each issuer is fetched on its own task, joined by every request that wants it, and no lock
//! is held while it runs: one slow issuer stalls only the requests that need its keys.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tokio::time::Instant;
use wif_jose::JwkSet;

use crate::config::IssuerConfig;
use crate::fetch::{ClientPolicy, FetchError, IssuerCheck, Trust, https_client};

/// Keys kept per issuer.
pub const MAX_KEYS: usize = 100;
/// How long fetched keys are used.
pub const CACHE_TTL: Duration = Duration::from_secs(3600);
/// Least time between two fetches of one issuer.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long the first failure of an issuer is remembered; it doubles with each failure in a row.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest a failure is remembered.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

type Fetch = Shared<BoxFuture<'static, Result<Arc<JwkSet>, FetchError>>>;

/// What is known of one issuer.
#[derive(Default)]
struct Slot {
    good: Option<(Arc<JwkSet>, Instant)>,
    failure: Option<Failure>,
    last_attempt: Option<Instant>,
    in_flight: Option<Fetch>,
}

#[derive(Clone)]
struct Failure {
    error: FetchError,
    at: Instant,
    retry_at: Instant,
    in_a_row: u32,
}

/// How to fetch one issuer: cheap to clone into its task.
#[derive(Clone)]
struct Source {
    issuer: String,
    check: IssuerCheck,
    jwks_file: Option<PathBuf>,
    client: reqwest::Client,
}

type SlotKey = (String, IssuerCheck);

/// Fetches and caches issuers' JWKS.
pub struct IssuerKeys {
    configs: Vec<IssuerConfig>,
    clients: HashMap<String, reqwest::Client>,
    default_client: reqwest::Client,
    timing: Timing,
    /// Held only to read or update a slot, never across a fetch.
    slots: Arc<Mutex<HashMap<SlotKey, Slot>>>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys")
            .field("issuers", &self.configs.len())
            .finish_non_exhaustive()
    }
}

/// The cache's clock constants; [`Timing::default`] is Entra's behaviour as documented above.
/// Tests shorten them so that expiry and backoff take milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long fetched keys are used.
    pub ttl: Duration,
    /// Least time between two fetches of one issuer.
    pub min_refetch: Duration,
    /// The first failure's backoff.
    pub first_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            ttl: CACHE_TTL,
            min_refetch: MIN_REFETCH_INTERVAL,
            first_backoff: FIRST_BACKOFF,
            max_backoff: MAX_BACKOFF,
        }
    }
}

impl Timing {
    /// How long the `in_a_row`-th failure in a row is remembered.
    pub fn backoff(&self, in_a_row: u32) -> Duration {
        self.first_backoff
            .saturating_mul(1u32.checked_shl(in_a_row.saturating_sub(1)).unwrap_or(u32::MAX))
            .min(self.max_backoff)
    }
}

impl IssuerKeys {
    /// Prepares a client per configured CA; a CA file that cannot be read is an error now.
    pub fn new(configs: Vec<IssuerConfig>) -> Result<Self, FetchError> {
        let mut clients = HashMap::new();
        for config in &configs {
            if let Some(path) = &config.ca_file {
                clients.insert(
                    config.issuer.clone(),
                    https_client(Trust::Only(path), ClientPolicy::EMULATOR)?,
                );
            }
        }
        let default_client = https_client(Trust::SystemRoots, ClientPolicy::EMULATOR)?;
        Ok(IssuerKeys {
            configs,
            clients,
            default_client,
            timing: Timing::default(),
            slots: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The same cache with other clock constants.
    pub fn with_timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// The keys to verify with: fresh ones from the cache, else fetched. When a fetch fails
    /// and keys fetched earlier exist, those are used (an issuer that blips keeps working).
    pub async fn keys(&self, issuer: &str) -> Result<Arc<JwkSet>, FetchError> {
        self.keys_checked(issuer, IssuerCheck::Exact).await
    }

    /// As [`IssuerKeys::keys`], with the discovery document checked as `check` says.
    pub async fn keys_checked(&self, issuer: &str, check: IssuerCheck) -> Result<Arc<JwkSet>, FetchError> {
        self.keys_inner((issuer.to_owned(), check), false).await
    }

    /// Fetches again because a token named an unknown `kid`; within the rate limit the
    /// cached keys are returned instead. A failure keeps the cached keys for other tokens.
    pub async fn refresh(&self, issuer: &str) -> Result<Arc<JwkSet>, FetchError> {
        self.refresh_checked(issuer, IssuerCheck::Exact).await
    }

    /// As [`IssuerKeys::refresh`], with the discovery document checked as `check` says.
    pub async fn refresh_checked(&self, issuer: &str, check: IssuerCheck) -> Result<Arc<JwkSet>, FetchError> {
        self.keys_inner((issuer.to_owned(), check), true).await
    }

    async fn keys_inner(&self, key: SlotKey, force: bool) -> Result<Arc<JwkSet>, FetchError> {
        let fetch = match self.decide(&key, force) {
            Decision::Answer(answer) => return answer,
            Decision::Wait(fetch) => fetch,
        };
        match fetch.await {
            Ok(keys) => Ok(keys),
            Err(error) if !force => self.good_keys(&key).ok_or(error),
            Err(error) => Err(error),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SlotKey, Slot>> {
        // A panic elsewhere cannot leave a slot half-written: each update is one assignment.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn good_keys(&self, key: &SlotKey) -> Option<Arc<JwkSet>> {
        self.lock()
            .get(key)
            .and_then(|s| s.good.as_ref())
            .map(|(k, _)| Arc::clone(k))
    }

    /// Under the slots lock, without waiting: answer from the cache, join a fetch in flight,
    /// or start one.
    fn decide(&self, key: &SlotKey, force: bool) -> Decision {
        let now = Instant::now();
        let mut slots = self.lock();
        let slot = slots.entry(key.clone()).or_default();
        if let Some(fetch) = &slot.in_flight {
            return Decision::Wait(fetch.clone());
        }
        let good = slot.good.as_ref().map(|(keys, at)| (Arc::clone(keys), *at));
        if let Some((keys, fetched_at)) = &good
            && !force
            && now.duration_since(*fetched_at) < self.timing.ttl
        {
            return Decision::Answer(Ok(Arc::clone(keys)));
        }
        let recently = slot
            .last_attempt
            .is_some_and(|at| now.duration_since(at) < self.timing.min_refetch);
        if let Some(failure) = slot.failure.as_ref().filter(|f| now < f.retry_at) {
            return Decision::Answer(match good {
                Some((keys, _)) => Ok(keys),
                None => Err(FetchError::Backoff {
                    ago_seconds: now.duration_since(failure.at).as_secs(),
                    retry_in_seconds: failure.retry_at.duration_since(now).as_secs().max(1),
                    last: Box::new(failure.error.clone()),
                }),
            });
        }
        if force
            && recently
            && let Some((keys, _)) = good
        {
            return Decision::Answer(Ok(keys));
        }
        let fetch = self.start_fetch(key);
        slot.last_attempt = Some(now);
        slot.in_flight = Some(fetch.clone());
        Decision::Wait(fetch)
    }

    /// The configuration of `issuer`: its own, else that of the issuer differing only by a
    /// trailing slash (both have the same discovery URL, so the same CA and JWKS serve them;
    /// a credential without the slash must be diagnosable against the configured issuer).
    fn config_of(&self, issuer: &str) -> Option<&IssuerConfig> {
        self.configs.iter().find(|c| c.issuer == issuer).or_else(|| {
            self.configs
                .iter()
                .find(|c| c.issuer.trim_end_matches('/') == issuer.trim_end_matches('/'))
        })
    }

    /// The fetch runs on its own task, so a request that gives up does not cancel it for the
    /// others; the task records its result in the slot before anyone sees it.
    fn start_fetch(&self, key: &SlotKey) -> Fetch {
        let (issuer, check) = (key.0.as_str(), key.1);
        let source = Source {
            issuer: issuer.to_owned(),
            check,
            jwks_file: self.config_of(issuer).and_then(|c| c.jwks_file.clone()),
            client: self
                .config_of(issuer)
                .and_then(|c| self.clients.get(&c.issuer))
                .unwrap_or(&self.default_client)
                .clone(),
        };
        let slots = Arc::clone(&self.slots);
        let timing = self.timing;
        let task = tokio::spawn(async move {
            let result = fetch_source(&source).await;
            record(&slots, &(source.issuer.clone(), source.check), &result, &timing);
            result
        });
        async move { task.await.unwrap_or(Err(FetchError::Stopped)) }
            .boxed()
            .shared()
    }
}

enum Decision {
    Answer(Result<Arc<JwkSet>, FetchError>),
    Wait(Fetch),
}

fn record(
    slots: &Mutex<HashMap<SlotKey, Slot>>,
    key: &SlotKey,
    result: &Result<Arc<JwkSet>, FetchError>,
    timing: &Timing,
) {
    let now = Instant::now();
    let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
    let issuer = key.0.as_str();
    let slot = slots.entry(key.clone()).or_default();
    slot.in_flight = None;
    match result {
        Ok(keys) => {
            slot.good = Some((Arc::clone(keys), now));
            slot.failure = None;
        }
        Err(error) => {
            let in_a_row = slot.failure.as_ref().map_or(1, |f| f.in_a_row.saturating_add(1));
            let wait = timing.backoff(in_a_row);
            tracing::warn!(
                issuer = %issuer,
                error = %wif_core::error_text::error_chain(error),
                retry_in_seconds = wait.as_secs(),
                kept_earlier_keys = slot.good.is_some(),
                "issuer keys not fetched"
            );
            slot.failure = Some(Failure {
                error: error.clone(),
                at: now,
                retry_at: now + wait,
                in_a_row,
            });
        }
    }
}

async fn fetch_source(source: &Source) -> Result<Arc<JwkSet>, FetchError> {
    let mut keys = match &source.jwks_file {
        Some(path) => crate::fetch::read_jwks_file(path).await?,
        None => {
            crate::fetch::fetch(&source.client, &source.issuer, source.check)
                .await?
                .keys
        }
    };
    keys.keys.truncate(MAX_KEYS);
    Ok(Arc::new(keys))
}

#[cfg(test)]
mod tests;
