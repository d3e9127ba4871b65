//! The token cache, keyed by (authority, tenant, client, scope). A hit is a couple of map
//! lookups. Tokens are refreshed ahead of expiry (at `refresh_in` when the endpoint gives it,
//! at half-life for long tokens, else five minutes before expiry): once a refresh is due and
//! the cached token is still valid, callers get the cached token at once while one refresh
//! runs in the background. Only a caller with no valid token waits, and however many wait,
//! one request is in flight per key (every waiter joins it; one that gives up cancels
//! nothing). No lock is held while the request runs. After a failure the key backs off
//! exponentially, and a still-valid token keeps being served meanwhile. An expired token is
//! never served.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::error::ClientError;
use crate::exchange::FreshToken;
use crate::identity::Identity;

pub use wif_core::clock::{Clock, ManualClock, SystemClock};

/// Tokens are not served in their last 30 seconds, so they do not expire in flight.
pub const EXPIRY_MARGIN_MS: i64 = 30_000;
/// Refresh this long before expiry when the endpoint says nothing else.
pub const REFRESH_AHEAD_MS: i64 = 300_000;
/// Longest wait between attempts after failures.
pub const MAX_BACKOFF_MS: i64 = 30_000;
/// The longest token lifetime believed (Entra's longest is a day, with CAE).
pub const MAX_LIFETIME_S: i64 = 86_400;
/// The most scopes kept per identity. Scopes come from callers (the proxy takes `resource`
/// from each request), so a caller naming a new one each time must not grow memory without
/// end; a real app asks for a handful. At the bound, a new scope takes the place of one with
/// no request in flight, the one whose token is gone or ends first.
pub const MAX_SCOPES_PER_IDENTITY: usize = 256;

/// An access token and when it stops being served.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token.
    pub token: Arc<str>,
    /// Expiry, Unix seconds.
    pub expires_on: i64,
    /// When it was obtained, Unix seconds (what IMDS calls `not_before`).
    pub obtained_on: i64,
    refresh_on_ms: i64,
    usable_until_ms: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .field("obtained_on", &self.obtained_on)
            .finish()
    }
}

impl AccessToken {
    /// When a refresh is due, Unix milliseconds.
    pub fn refresh_on_ms(&self) -> i64 {
        self.refresh_on_ms
    }

    fn from_fresh(fresh: FreshToken, now_ms: i64) -> Self {
        // The endpoint's numbers are checked by `decode` (positive) but not bounded: a
        // lifetime past a day is taken as a day, and every sum saturates.
        let lifetime_ms = fresh.expires_in.clamp(1, MAX_LIFETIME_S).saturating_mul(1000);
        let expires_ms = now_ms.saturating_add(lifetime_ms);
        let refresh_ms = match fresh.refresh_in {
            Some(r) => now_ms.saturating_add(r.clamp(1, MAX_LIFETIME_S).saturating_mul(1000)),
            None if lifetime_ms >= 7_200_000 => now_ms.saturating_add(lifetime_ms / 2),
            None if lifetime_ms > 2 * REFRESH_AHEAD_MS => expires_ms.saturating_sub(REFRESH_AHEAD_MS),
            None => now_ms.saturating_add(lifetime_ms / 2),
        };
        let usable_until_ms = expires_ms.saturating_sub(EXPIRY_MARGIN_MS.min(lifetime_ms / 4));
        AccessToken {
            token: Arc::from(fresh.access_token),
            expires_on: expires_ms / 1000,
            obtained_on: now_ms / 1000,
            refresh_on_ms: refresh_ms.min(usable_until_ms),
            usable_until_ms,
        }
    }

    fn usable_at(&self, now_ms: i64) -> bool {
        now_ms < self.usable_until_ms
    }
}

#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
    retry_at_ms: i64,
    last_error: Option<ClientError>,
}

/// How a lookup was answered, for the callers that count hits (the proxy's metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheOutcome {
    /// A cached token, no refresh due.
    Hit,
    /// A cached token while a refresh runs in the background (or the key backs off).
    HitRefreshing,
    /// The caller waited for a request (no valid token was held), or got the last failure.
    Miss,
}

type Refresh = Shared<BoxFuture<'static, Result<AccessToken, ClientError>>>;

#[derive(Default)]
struct SlotState {
    backoff: Backoff,
    /// The refresh running, and whether it runs on its own task.
    in_flight: Option<(Refresh, bool)>,
}

#[derive(Default)]
struct Slot {
    current: RwLock<Option<AccessToken>>,
    /// Held only to read or change the state, never across the request.
    state: Mutex<SlotState>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").finish_non_exhaustive()
    }
}

impl Slot {
    fn current(&self) -> Option<AccessToken> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The cached scopes of one identity.
#[derive(Debug, Default)]
pub struct IdentitySlots {
    scopes: RwLock<HashMap<String, Arc<Slot>>>,
}

impl IdentitySlots {
    fn slot(&self, scope: &str) -> Arc<Slot> {
        if let Some(slot) = self
            .scopes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(scope)
        {
            return Arc::clone(slot);
        }
        let mut scopes = self.scopes.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !scopes.contains_key(scope) && scopes.len() >= MAX_SCOPES_PER_IDENTITY {
            evict_one(&mut scopes);
        }
        Arc::clone(scopes.entry(scope.to_owned()).or_default())
    }

    /// How many scopes are held (tests, diagnostics).
    pub fn len(&self) -> usize {
        self.scopes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether no scope is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops the scope a newcomer may replace: one no caller holds (so neither a request in flight
/// nor a slot just handed out), backing off last (dropping one forgets its back-off), its token
/// gone or ending first. When every scope is in use, nothing is dropped: the map then holds at
/// most the bound plus the callers at work.
fn evict_one(scopes: &mut HashMap<String, Arc<Slot>>) {
    let victim = scopes
        .iter()
        .filter(|(_, slot)| Arc::strong_count(slot) == 1 && slot.state().in_flight.is_none())
        .min_by_key(|(_, slot)| {
            let backing_off = slot.state().backoff.failures > 0;
            (backing_off, slot.current().map_or(i64::MIN, |t| t.usable_until_ms))
        })
        .map(|(scope, _)| scope.clone());
    if let Some(scope) = victim {
        scopes.remove(&scope);
    }
}

/// Tokens of every identity and scope, shared by credentials.
#[derive(Debug)]
pub struct TokenCache {
    identities: RwLock<HashMap<Identity, Arc<IdentitySlots>>>,
    clock: Arc<dyn Clock>,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::with_clock(Arc::new(SystemClock))
    }
}

impl TokenCache {
    /// A cache reading time from `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        TokenCache {
            identities: RwLock::new(HashMap::new()),
            clock,
        }
    }

    /// The slots of one identity (held by its credential, so hits skip this map).
    pub fn identity(&self, identity: &Identity) -> Arc<IdentitySlots> {
        if let Some(slots) = self
            .identities
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(identity)
        {
            return Arc::clone(slots);
        }
        let mut map = self
            .identities
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(identity.clone()).or_default())
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The cached token for `scope` while it is valid (starting one background refresh once
    /// one is due); else the answer of the one `fetch` in flight for this key. After failures
    /// the key backs off, and a valid token is served meanwhile.
    pub async fn get<F, Fut>(&self, slots: &IdentitySlots, scope: &str, fetch: F) -> Result<AccessToken, ClientError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FreshToken, ClientError>> + Send + 'static,
    {
        self.get_with_outcome(slots, scope, fetch).await.0
    }

    /// As [`TokenCache::get`], saying how the answer was found.
    pub async fn get_with_outcome<F, Fut>(
        &self,
        slots: &IdentitySlots,
        scope: &str,
        fetch: F,
    ) -> (Result<AccessToken, ClientError>, CacheOutcome)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FreshToken, ClientError>> + Send + 'static,
    {
        let slot = slots.slot(scope);
        let now = self.clock.now_ms();
        let cached = slot.current();
        if let Some(token) = &cached
            && now < token.refresh_on_ms
        {
            return (Ok(token.clone()), CacheOutcome::Hit);
        }
        let valid = cached.filter(|token| token.usable_at(now));
        let (refresh, detached) = {
            let mut state = slot.state();
            match &state.in_flight {
                Some((refresh, detached)) => (refresh.clone(), *detached),
                None if now < state.backoff.retry_at_ms => {
                    return match (valid, &state.backoff.last_error) {
                        (Some(token), _) => (Ok(token), CacheOutcome::HitRefreshing),
                        (None, Some(error)) => (Err(error.clone()), CacheOutcome::Miss),
                        (None, None) => (Err(ClientError::Backoff), CacheOutcome::Miss),
                    };
                }
                None => {
                    let (refresh, detached) = self.start_refresh(&slot, fetch());
                    state.in_flight = Some((refresh.clone(), detached));
                    (refresh, detached)
                }
            }
        };
        match valid {
            // The refresh runs on its own task: serve the valid token without waiting.
            Some(token) if detached => (Ok(token), CacheOutcome::HitRefreshing),
            _ => (refresh.await, CacheOutcome::Miss),
        }
    }

    /// The refresh as a shared future, run on its own task when there is a runtime (then it
    /// finishes whoever waits for it: `true`), else driven by its waiters.
    fn start_refresh<Fut>(&self, slot: &Arc<Slot>, fetch: Fut) -> (Refresh, bool)
    where
        Fut: Future<Output = Result<FreshToken, ClientError>> + Send + 'static,
    {
        let (slot, clock) = (Arc::clone(slot), Arc::clone(&self.clock));
        let run = async move {
            let result = fetch.await;
            record(&slot, clock.now_ms(), result)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let task = runtime.spawn(run);
                let joined = async move {
                    task.await
                        .unwrap_or_else(|e| Err(ClientError::RefreshStopped(Arc::new(e))))
                };
                (joined.boxed().shared(), true)
            }
            Err(_) => (run.boxed().shared(), false),
        }
    }
}

/// Records a refresh's outcome in its slot: the new token, or a failure and its backoff.
fn record(slot: &Slot, now: i64, result: Result<FreshToken, ClientError>) -> Result<AccessToken, ClientError> {
    let mut state = slot.state();
    state.in_flight = None;
    match result {
        Ok(fresh) => {
            let token = AccessToken::from_fresh(fresh, now);
            *slot.current.write().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
            state.backoff = Backoff::default();
            Ok(token)
        }
        Err(error) => {
            let backoff = &mut state.backoff;
            backoff.failures = backoff.failures.saturating_add(1);
            let wait = (1000i64 << backoff.failures.min(15).saturating_sub(1)).min(MAX_BACKOFF_MS);
            backoff.retry_at_ms = now.saturating_add(wait);
            backoff.last_error = Some(error.clone());
            if slot.current().is_some_and(|token| token.usable_at(now)) {
                tracing::warn!(
                    error = %wif_core::error_text::error_chain(&error),
                    retry_in_ms = wait,
                    "token refresh failed; serving the cached token until it expires"
                );
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests;
