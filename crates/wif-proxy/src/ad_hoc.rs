//! The bound on ad-hoc identities: client ids a request names that are none of the proxy's
//! configured identities, which it serves as upstream does (see [`crate::identities`] for
//! which ids those are). At most [`MAX_AD_HOC_IDENTITIES`] are held, each with its own token
//! cache; the least recently used is evicted to make room, and its tokens go with it. This
//! module owns the bound only: what is held (a credential) is the caller's. No I/O.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// How many ad-hoc client ids the proxy holds tokens for.
///
/// Why evict rather than refuse the 65th id: the only callers are in the pod (loopback, and
/// the host check), and they can read the token file the proxy exchanges anyway, so a flood of
/// ids is no attack to defend against by refusing; what must not happen is that memory grows
/// with it, or that an app asking for a new legitimate id is refused until the pod restarts
/// (nothing else would ever free a slot). Evicting costs an evicted id one more exchange when
/// it comes back, never an error. Why 64: a pod names a handful of applications; 64 covers any
/// real one many times over (upstream holds 128 credentials) while a flood stays at 64
/// credentials and their tokens.
pub const MAX_AD_HOC_IDENTITIES: usize = 64;

#[derive(Debug)]
struct Held<V> {
    /// By key, with the tick of its last use.
    entries: HashMap<String, (V, u64)>,
    tick: u64,
}

/// Values by key, at most `capacity` of them, the least recently used evicted first.
#[derive(Debug)]
pub struct AdHoc<V> {
    capacity: usize,
    held: Mutex<Held<V>>,
}

/// What [`AdHoc::get_or_insert_with`] found or made.
#[derive(Debug)]
pub struct Taken<V> {
    /// The value for the key.
    pub value: V,
    /// Whether it was made by this call.
    pub added: bool,
    /// The key evicted to make room for it, if one was.
    pub evicted: Option<String>,
}

impl<V: Clone> AdHoc<V> {
    /// Holding at most `capacity` values (at least one).
    pub fn new(capacity: usize) -> Self {
        AdHoc {
            capacity: capacity.max(1),
            held: Mutex::new(Held {
                entries: HashMap::new(),
                tick: 0,
            }),
        }
    }

    /// The value for `key`, marked as just used; else the one `make` makes, held after
    /// evicting the least recently used value when full. `make` runs under the lock, so it
    /// must be quick and do no I/O (a credential is built, no token fetched); when it fails,
    /// nothing is held or evicted.
    pub fn get_or_insert_with<E>(&self, key: &str, make: impl FnOnce() -> Result<V, E>) -> Result<Taken<V>, E> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.tick = held.tick.wrapping_add(1);
        let tick = held.tick;
        if let Some((value, used)) = held.entries.get_mut(key) {
            *used = tick;
            return Ok(Taken {
                value: value.clone(),
                added: false,
                evicted: None,
            });
        }
        let value = make()?;
        let mut evicted = None;
        if held.entries.len() >= self.capacity {
            // A scan of at most `capacity` entries, only when a new key comes in.
            let oldest = held
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                held.entries.remove(&oldest);
                evicted = Some(oldest);
            }
        }
        held.entries.insert(key.to_owned(), (value.clone(), tick));
        Ok(Taken {
            value,
            added: true,
            evicted,
        })
    }

    /// How many values are held.
    pub fn len(&self) -> usize {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Weak};

    use super::*;

    fn take(cache: &AdHoc<Arc<String>>, key: &str) -> Taken<Arc<String>> {
        cache
            .get_or_insert_with(key, || Ok::<_, Infallible>(Arc::new(key.to_owned())))
            .unwrap_or_else(|never| match never {})
    }

    #[test]
    fn a_flood_of_distinct_keys_never_holds_more_than_the_bound() {
        let cache = AdHoc::new(MAX_AD_HOC_IDENTITIES);
        assert_eq!(cache.capacity(), 64);
        let mut made: Vec<Weak<String>> = Vec::new();
        for n in 0..10_000 {
            let taken = take(&cache, &format!("id-{n}"));
            assert!(taken.added);
            assert_eq!(
                taken.evicted,
                (n >= 64).then(|| format!("id-{}", n - 64)),
                "the least recently used goes first"
            );
            made.push(Arc::downgrade(&taken.value));
            drop(taken);
            assert_eq!(cache.len(), (n + 1).min(64));
        }
        // What was evicted is freed (for the proxy: the credential and its token cache).
        let alive = made.iter().filter(|weak| weak.upgrade().is_some()).count();
        assert_eq!(alive, 64);
        assert!(made[..10_000 - 64].iter().all(|weak| weak.upgrade().is_none()));
    }

    #[test]
    fn a_key_in_use_survives_a_flood_and_is_not_made_again() {
        let cache = AdHoc::new(3);
        let first = take(&cache, "app");
        assert!(first.added && first.evicted.is_none());
        for n in 0..100 {
            take(&cache, &format!("flood-{n}"));
            let again = take(&cache, "app");
            assert!(!again.added, "round {n}");
            assert!(Arc::ptr_eq(&again.value, &first.value));
        }
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn a_failed_make_holds_and_evicts_nothing() {
        let cache = AdHoc::new(1);
        take(&cache, "app");
        let failed = cache.get_or_insert_with("other", || Err::<Arc<String>, _>("no"));
        assert_eq!(failed.err(), Some("no"));
        assert_eq!(cache.len(), 1);
        assert!(!take(&cache, "app").added);
        let zero = AdHoc::<Arc<String>>::new(0);
        assert_eq!(zero.capacity(), 1);
        assert!(zero.is_empty());
    }
}
