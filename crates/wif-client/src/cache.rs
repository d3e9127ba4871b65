//! The token cache, keyed by (authority, tenant, client, scope). A hit is a couple of map
//! lookups; a miss or a due refresh takes the key's lock, so however many callers wait, one
//! request is in flight per key. Tokens are refreshed ahead of expiry (at `refresh_in` when
//! the endpoint gives it, at half-life for long tokens, else five minutes before expiry);
//! after a failure the key backs off exponentially, and a still-valid token keeps being
//! served meanwhile. An expired token is never served.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use crate::error::ClientError;
use crate::exchange::FreshToken;
use crate::identity::Identity;

/// Unix milliseconds, from a clock tests can move.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A clock that moves only when told (tests and benchmarks).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Starting at `ms`.
    pub fn new(ms: i64) -> Self {
        ManualClock(AtomicI64::new(ms))
    }
    /// Moves it forward.
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Tokens are not served in their last 30 seconds, so they do not expire in flight.
pub const EXPIRY_MARGIN_MS: i64 = 30_000;
/// Refresh this long before expiry when the endpoint says nothing else.
pub const REFRESH_AHEAD_MS: i64 = 300_000;
/// Longest wait between attempts after failures.
pub const MAX_BACKOFF_MS: i64 = 30_000;

/// An access token and when it stops being served.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token.
    pub token: Arc<str>,
    /// Expiry, Unix seconds.
    pub expires_on: i64,
    refresh_on_ms: i64,
    usable_until_ms: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

impl AccessToken {
    /// When a refresh is due, Unix milliseconds.
    pub fn refresh_on_ms(&self) -> i64 {
        self.refresh_on_ms
    }

    fn from_fresh(fresh: FreshToken, now_ms: i64) -> Self {
        let lifetime_ms = fresh.expires_in * 1000;
        let expires_ms = now_ms + lifetime_ms;
        let refresh_ms = match fresh.refresh_in {
            Some(r) => now_ms + r * 1000,
            None if lifetime_ms >= 7_200_000 => now_ms + lifetime_ms / 2,
            None if lifetime_ms > 2 * REFRESH_AHEAD_MS => expires_ms - REFRESH_AHEAD_MS,
            None => now_ms + lifetime_ms / 2,
        };
        let usable_until_ms = expires_ms - EXPIRY_MARGIN_MS.min(lifetime_ms / 4);
        AccessToken {
            token: Arc::from(fresh.access_token),
            expires_on: expires_ms / 1000,
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

#[derive(Debug, Default)]
struct Slot {
    current: RwLock<Option<AccessToken>>,
    fetching: tokio::sync::Mutex<Backoff>,
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
        Arc::clone(scopes.entry(scope.to_owned()).or_default())
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

    /// The cached token for `scope` if no refresh is due; else one `fetch` per key, whatever
    /// the number of callers, with backoff after failures and a valid token kept meanwhile.
    pub async fn get<F, Fut>(&self, slots: &IdentitySlots, scope: &str, fetch: F) -> Result<AccessToken, ClientError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FreshToken, ClientError>>,
    {
        let slot = slots.slot(scope);
        let current = || {
            slot.current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        };
        if let Some(token) = current()
            && self.clock.now_ms() < token.refresh_on_ms
        {
            return Ok(token);
        }
        let mut backoff = slot.fetching.lock().await;
        let now = self.clock.now_ms();
        let cached = current();
        if let Some(token) = &cached
            && now < token.refresh_on_ms
        {
            return Ok(token.clone()); // another caller refreshed it while we waited
        }
        if now < backoff.retry_at_ms {
            return match (cached, &backoff.last_error) {
                (Some(token), _) if token.usable_at(now) => Ok(token),
                (_, Some(error)) => Err(error.clone()),
                _ => Err(ClientError::Config("backing off after a failure".into())),
            };
        }
        match fetch().await {
            Ok(fresh) => {
                let token = AccessToken::from_fresh(fresh, self.clock.now_ms());
                *slot.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token.clone());
                *backoff = Backoff::default();
                Ok(token)
            }
            Err(error) => {
                backoff.failures = backoff.failures.saturating_add(1);
                let wait = (1000i64 << backoff.failures.min(15).saturating_sub(1)).min(MAX_BACKOFF_MS);
                backoff.retry_at_ms = now + wait;
                backoff.last_error = Some(error.clone());
                match cached {
                    Some(token) if token.usable_at(now) => {
                        tracing::warn!(%error, retry_in_ms = wait, "token refresh failed; serving the cached token until it expires");
                        Ok(token)
                    }
                    _ => Err(error),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn identity() -> Identity {
        Identity::new("https://login.example/", "t", "c").unwrap()
    }

    fn fresh(expires_in: i64) -> FreshToken {
        FreshToken {
            access_token: format!("token-{expires_in}"),
            expires_in,
            refresh_in: None,
        }
    }

    #[tokio::test]
    async fn refresh_ahead_backoff_and_stale_serving() {
        let clock = Arc::new(ManualClock::new(1_000_000_000_000));
        let cache = TokenCache::with_clock(clock.clone());
        let slots = cache.identity(&identity());
        let calls = AtomicUsize::new(0);
        let ok = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(fresh(3600))
        };
        let first = cache.get(&slots, "s", ok).await.unwrap();
        assert_eq!(cache.get(&slots, "s", ok).await.unwrap(), first, "a hit");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        clock.advance_secs(3600 - 300); // refresh is due five minutes before expiry
        cache.get(&slots, "s", ok).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let fail = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ClientError::Config("down".into()))
        };
        clock.advance_secs(3600 - 300);
        let stale = cache.get(&slots, "s", fail).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3, "one attempt");
        assert!(stale.usable_at(clock.now_ms()));
        cache.get(&slots, "s", fail).await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "backing off: no new attempt within a second"
        );
        clock.advance_secs(290); // past expiry (minus the margin): never served
        assert!(cache.get(&slots, "s", fail).await.is_err());
    }

    #[test]
    fn refresh_points() {
        let t = AccessToken::from_fresh(fresh(86_399), 0);
        assert_eq!(t.refresh_on_ms, 43_199_500);
        let t = AccessToken::from_fresh(
            FreshToken {
                refresh_in: Some(100),
                ..fresh(3600)
            },
            0,
        );
        assert_eq!(t.refresh_on_ms, 100_000);
        let t = AccessToken::from_fresh(fresh(3600), 0);
        assert_eq!(t.refresh_on_ms, 3_300_000);
        let t = AccessToken::from_fresh(fresh(60), 0);
        assert_eq!((t.refresh_on_ms, t.usable_until_ms), (30_000, 45_000));
    }
}
