//! The stranded-pods reconciler's bookkeeping, pure (no I/O, no clock of its own: every call
//! is given `now`): which labelled pods are known, which are worth a look, which were judged
//! stranded and why, and whether one may be evicted now: never a pod without a controller
//! owner, never in an excluded namespace, one pod of an owner at a time (the next only once
//! the evicted one is gone), at most one eviction per interval overall; a refused eviction
//! (a PodDisruptionBudget) is tried again later, backing off.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use wif_core::stranded::StrandedReason;

/// A pod by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// A pod's controller owner, from its `ownerReferences`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `name`.
    pub name: String,
    /// `uid`.
    pub uid: String,
}

/// How the reconciler heals.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Whether stranded pods are evicted (`--heal=evict`) or only reported.
    pub evict: bool,
    /// Namespaces never healed in (the system's, the webhook's own).
    pub excluded_namespaces: BTreeSet<String>,
    /// The least time between two evictions.
    pub eviction_interval: Duration,
    /// The first wait before a stranded pod is looked at again (doubled each time, to 5 min).
    pub retry: Duration,
}

/// Why a stranded pod is not evicted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Healing is off (`--heal=none`): reported only.
    Reporting,
    /// Not known, or not judged stranded.
    NotStranded,
    /// A new pod would not fare better (no ServiceAccount, a denial), or it is not broken (a
    /// value out of date after a settings change, with its token and client id in place).
    NotHealable,
    /// No controller owner would make it again.
    NoControllerOwner,
    /// An excluded namespace.
    ExcludedNamespace,
    /// Another pod of its owner is being replaced.
    OwnerBusy,
    /// Too soon after the last eviction.
    RateLimited,
    /// A pod its owner made after one of its pods was evicted came back stranded for the same
    /// reason: the webhook does not mutate this owner's pods (a namespace it does not select, a
    /// later webhook undoing it), so evicting more would only loop. For [`FUTILE_FOR`]: a
    /// cause that went away (the configuration fixed, or not yet in every API server's cache
    /// when the replacement was made) does not stop healing until the next restart.
    Futile,
}

/// What a judgement changed, so the shell reports a pod once, not at every look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Stranded now, and was not before (or for another reason).
    NewlyStranded,
    /// Stranded as before.
    StillStranded,
    /// Fine.
    Fine,
    /// Stranded as a pod of an owner whose evicted pod came back stranded: healing it stops.
    HealingStopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// To be fetched and judged.
    Due,
    /// Judged fine, or not worth a look.
    Fine,
    /// Judged stranded; looked at again (and its eviction retried) from `next_try`.
    Stranded {
        reason: StrandedReason,
        healable: bool,
        next_try: Instant,
        attempts: u32,
    },
    /// Evicted; waiting for it to go.
    Evicted { reason: StrandedReason },
}

#[derive(Debug, Clone)]
struct Entry {
    uid: String,
    /// The order pods were first seen in: a pod seen after its owner's eviction is its
    /// replacement (or a sibling made since).
    seen: u64,
    /// What the metadata said when last seen: a status update (same metadata) is no news.
    metadata: u64,
    owner: Option<Owner>,
    state: State,
}

/// The reconciler's view of the labelled pods.
#[derive(Debug)]
pub struct Ledger {
    policy: Policy,
    entries: BTreeMap<PodKey, Entry>,
    /// The pod being replaced, by its owner's uid.
    in_flight: BTreeMap<String, PodKey>,
    last_eviction: Option<Instant>,
    /// For each owner evicted from: when ([`Entry::seen`] order) and why.
    evicted_from: BTreeMap<String, (u64, StrandedReason)>,
    /// Owners whose replacements came back stranded, and until when healing them stops.
    futile: BTreeMap<String, Instant>,
    seen: u64,
}

/// The longest wait between two looks at a stranded pod.
const MAX_RETRY: Duration = Duration::from_secs(300);

/// How long healing an owner stays stopped after its replacement came back stranded: then
/// one more of its pods is evicted, and if that one comes back stranded too, it stops again.
/// At worst one eviction per owner in this time, not a loop.
pub const FUTILE_FOR: Duration = Duration::from_secs(900);

impl Ledger {
    /// An empty ledger healing by `policy`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use wif_webhook::stranded::ledger::{Ledger, PodKey, Policy};
    /// let policy = Policy { evict: false, excluded_namespaces: Default::default(), eviction_interval: Duration::from_secs(10), retry: Duration::from_secs(10) };
    /// let mut ledger = Ledger::new(policy);
    /// let key = PodKey { namespace: "demo".into(), name: "web-1".into() };
    /// ledger.observe(key.clone(), "uid-1", 7, None, true);
    /// assert_eq!(ledger.due(Instant::now()), vec![key]);
    /// ```
    pub fn new(policy: Policy) -> Self {
        Ledger {
            policy,
            entries: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            last_eviction: None,
            evicted_from: BTreeMap::new(),
            futile: BTreeMap::new(),
            seen: 0,
        }
    }

    /// A pod as its metadata now shows it (`metadata`: a fingerprint of its labels and
    /// annotations): worth a look (fetched and judged at the next round) or not. The same
    /// metadata again (a status update) changes nothing; a new uid under a known name is a
    /// new pod.
    pub fn observe(&mut self, key: PodKey, uid: &str, metadata: u64, owner: Option<Owner>, worth_a_look: bool) {
        self.seen += 1;
        let seen = self.seen;
        let fresh = || Entry {
            uid: uid.to_owned(),
            seen,
            metadata,
            owner: owner.clone(),
            state: if worth_a_look { State::Due } else { State::Fine },
        };
        match self.entries.get_mut(&key) {
            Some(entry) if entry.uid == uid => {
                if entry.metadata == metadata {
                    return;
                }
                entry.metadata = metadata;
                entry.owner = owner.clone();
                entry.state = match (entry.state, worth_a_look) {
                    (evicted @ State::Evicted { .. }, _) => evicted,
                    (_, false) => State::Fine,
                    (State::Fine, true) => State::Due,
                    (kept, true) => kept,
                };
            }
            _ => {
                self.release(&key);
                self.entries.insert(key, fresh());
            }
        }
    }

    /// A pod that is gone: its owner may have its next pod replaced.
    pub fn forget(&mut self, key: &PodKey) {
        self.release(key);
        self.entries.remove(key);
    }

    fn release(&mut self, key: &PodKey) {
        self.in_flight.retain(|_, pod| pod != key);
    }

    /// The pods to fetch and judge now: those worth a look, and stranded ones due again.
    pub fn due(&self, now: Instant) -> Vec<PodKey> {
        self.entries
            .iter()
            .filter(|(_, e)| match e.state {
                State::Due => true,
                State::Stranded { next_try, .. } => next_try <= now,
                State::Fine | State::Evicted { .. } => false,
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Records the judgement of a pod (`None`: fine), and whether evicting it would heal it.
    pub fn judged(&mut self, key: &PodKey, verdict: Option<(StrandedReason, bool)>, now: Instant) -> Change {
        let retry = self.policy.retry;
        let Some(entry) = self.entries.get_mut(key) else {
            return Change::Fine;
        };
        let Some((reason, healable)) = verdict else {
            entry.state = State::Fine;
            return Change::Fine;
        };
        let (mut change, attempts) = match entry.state {
            State::Stranded {
                reason: before,
                attempts,
                ..
            } if before == reason => (Change::StillStranded, attempts.saturating_add(1)),
            _ => (Change::NewlyStranded, 0),
        };
        if let Some(owner) = &entry.owner
            && self
                .evicted_from
                .get(&owner.uid)
                .is_some_and(|(at, why)| entry.seen > *at && *why == reason)
            && self.futile.get(&owner.uid).is_none_or(|until| now >= *until)
        {
            // The eviction's evidence is used up: a later look at this replacement neither
            // says it again nor stops healing anew once the stop ends (then the next eviction
            // makes new evidence). Stops that ended are dropped here.
            self.evicted_from.remove(&owner.uid);
            self.futile.retain(|_, until| now < *until);
            self.futile.insert(owner.uid.clone(), now + FUTILE_FOR);
            change = Change::HealingStopped;
        }
        entry.state = State::Stranded {
            reason,
            healable,
            next_try: now + backoff(retry, attempts),
            attempts,
        };
        change
    }

    /// Whether `key` may be evicted now, and if not, why.
    pub fn may_evict(&self, key: &PodKey, now: Instant) -> Result<(), Hold> {
        let entry = self.entries.get(key).ok_or(Hold::NotStranded)?;
        let State::Stranded { healable, .. } = entry.state else {
            return Err(Hold::NotStranded);
        };
        if !self.policy.evict {
            return Err(Hold::Reporting);
        }
        if !healable {
            return Err(Hold::NotHealable);
        }
        let owner = entry.owner.as_ref().ok_or(Hold::NoControllerOwner)?;
        if self.policy.excluded_namespaces.contains(&key.namespace) {
            return Err(Hold::ExcludedNamespace);
        }
        if self.futile.get(&owner.uid).is_some_and(|until| now < *until) {
            return Err(Hold::Futile);
        }
        if self.in_flight.get(&owner.uid).is_some_and(|pod| pod != key) {
            return Err(Hold::OwnerBusy);
        }
        if self
            .last_eviction
            .is_some_and(|at| now.duration_since(at) < self.policy.eviction_interval)
        {
            return Err(Hold::RateLimited);
        }
        Ok(())
    }

    /// Where the order of pods seen stands: taken before an eviction call, so that a pod its
    /// owner makes while the call is in flight (the watch runs apart) counts as its replacement.
    pub fn mark(&self) -> u64 {
        self.seen
    }

    /// `key` was evicted (the call started at `mark`, see [`Ledger::mark`]): its owner is busy
    /// until it is gone, and a pod of that owner seen since is its replacement.
    pub fn evicted(&mut self, key: &PodKey, now: Instant, mark: u64) {
        self.last_eviction = Some(now);
        let seen = mark;
        if let Some(entry) = self.entries.get_mut(key) {
            if let State::Stranded { reason, .. } = entry.state {
                entry.state = State::Evicted { reason };
                if let Some(owner) = &entry.owner {
                    self.evicted_from.insert(owner.uid.clone(), (seen, reason));
                }
            }
            if let Some(owner) = &entry.owner {
                self.in_flight.insert(owner.uid.clone(), key.clone());
            }
        }
    }

    /// `key` waits its turn (its owner busy, the rate limit): looked at again after one
    /// interval, not after a growing backoff, which is for refusals.
    pub fn wait_turn(&mut self, key: &PodKey, now: Instant) {
        let retry = self.policy.retry;
        if let Some(entry) = self.entries.get_mut(key)
            && let State::Stranded { next_try, .. } = &mut entry.state
        {
            *next_try = now + retry;
        }
    }

    /// The stranded pods (evicted ones until they are gone) by reason.
    pub fn counts(&self) -> BTreeMap<StrandedReason, usize> {
        let mut counts = BTreeMap::new();
        for entry in self.entries.values() {
            if let State::Stranded { reason, .. } | State::Evicted { reason } = entry.state {
                *counts.entry(reason).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The known pods of `namespace` (all: None), for a relist to tell which are gone.
    pub fn known_in(&self, namespace: Option<&str>) -> std::collections::HashSet<PodKey> {
        self.entries
            .keys()
            .filter(|k| namespace.is_none_or(|ns| k.namespace == ns))
            .cloned()
            .collect()
    }

    /// Every pod judged fine is looked at again (the periodic resync): what a ServiceAccount
    /// annotated late changes shows only in the pod itself.
    pub fn look_again_at_all(&mut self) {
        for entry in self.entries.values_mut() {
            if entry.state == State::Fine {
                entry.state = State::Due;
            }
        }
    }

    /// The uid and owner of a known pod.
    pub fn pod(&self, key: &PodKey) -> Option<(&str, Option<&Owner>)> {
        self.entries.get(key).map(|e| (e.uid.as_str(), e.owner.as_ref()))
    }
}

/// `retry` doubled `attempts` times, at most [`MAX_RETRY`].
fn backoff(retry: Duration, attempts: u32) -> Duration {
    retry.saturating_mul(1u32 << attempts.min(16)).min(MAX_RETRY)
}

#[cfg(test)]
mod tests;
