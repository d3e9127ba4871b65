use super::*;

fn key(name: &str) -> PodKey {
    PodKey {
        namespace: "demo".into(),
        name: name.into(),
    }
}

fn owner(uid: &str) -> Option<Owner> {
    Some(Owner {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: format!("web-{uid}"),
        uid: uid.into(),
    })
}

fn policy(evict: bool) -> Policy {
    Policy {
        evict,
        excluded_namespaces: ["kube-system".to_owned()].into(),
        eviction_interval: Duration::from_secs(10),
        retry: Duration::from_secs(5),
    }
}

/// A ledger with `names` observed (owner `rs`), worth a look, and judged never mutated.
fn stranded(evict: bool, names: &[&str], now: Instant) -> Ledger {
    let mut ledger = Ledger::new(policy(evict));
    for name in names {
        ledger.observe(key(name), &format!("uid-{name}"), 1, owner("rs"), true);
        assert_eq!(
            ledger.judged(
                &key(name),
                Some((StrandedReason::NeverMutated, StrandedReason::NeverMutated.healable())),
                now
            ),
            Change::NewlyStranded
        );
    }
    ledger
}

#[test]
fn a_pod_worth_a_look_is_due_once_and_a_fine_one_never() {
    let now = Instant::now();
    let mut ledger = Ledger::new(policy(false));
    ledger.observe(key("a"), "1", 1, owner("rs"), true);
    ledger.observe(key("b"), "2", 1, owner("rs"), false);
    assert_eq!(ledger.due(now), vec![key("a")]);
    assert_eq!(ledger.judged(&key("a"), None, now), Change::Fine);
    assert!(ledger.due(now).is_empty());
    // A status update (the same metadata) is no news.
    ledger.observe(key("a"), "1", 1, owner("rs"), true);
    assert!(ledger.due(now).is_empty());
    // Its metadata changes and it looks suspicious again: due again.
    ledger.observe(key("a"), "1", 2, owner("rs"), true);
    assert_eq!(ledger.due(now), vec![key("a")]);
}

#[test]
fn a_stranded_pod_is_reported_once_and_looked_at_again_backing_off() {
    let now = Instant::now();
    let mut ledger = stranded(false, &["a"], now);
    assert!(ledger.due(now).is_empty(), "not due again at once");
    let later = now + Duration::from_secs(5);
    assert_eq!(ledger.due(later), vec![key("a")]);
    assert_eq!(
        ledger.judged(
            &key("a"),
            Some((StrandedReason::NeverMutated, StrandedReason::NeverMutated.healable())),
            later
        ),
        Change::StillStranded
    );
    // The second wait is twice the first.
    assert!(ledger.due(later + Duration::from_secs(9)).is_empty());
    assert_eq!(ledger.due(later + Duration::from_secs(10)), vec![key("a")]);
    // Another reason is news.
    assert_eq!(
        ledger.judged(
            &key("a"),
            Some((
                StrandedReason::ServiceAccountChanged,
                StrandedReason::ServiceAccountChanged.healable()
            )),
            later
        ),
        Change::NewlyStranded
    );
    assert_eq!(ledger.counts(), [(StrandedReason::ServiceAccountChanged, 1)].into());
    assert_eq!(backoff(Duration::from_secs(5), 30), MAX_RETRY);
}

#[test]
fn reporting_only_never_evicts() {
    let now = Instant::now();
    let ledger = stranded(false, &["a"], now);
    assert_eq!(ledger.may_evict(&key("a"), now), Err(Hold::Reporting));
    assert_eq!(ledger.may_evict(&key("unknown"), now), Err(Hold::NotStranded));
}

#[test]
fn a_bare_pod_an_excluded_namespace_and_an_unhealable_reason_are_left_alone() {
    let now = Instant::now();
    let mut ledger = Ledger::new(policy(true));
    ledger.observe(key("bare"), "1", 1, None, true);
    ledger.judged(
        &key("bare"),
        Some((StrandedReason::NeverMutated, StrandedReason::NeverMutated.healable())),
        now,
    );
    assert_eq!(ledger.may_evict(&key("bare"), now), Err(Hold::NoControllerOwner));
    let system = PodKey {
        namespace: "kube-system".into(),
        name: "dns".into(),
    };
    ledger.observe(system.clone(), "2", 1, owner("rs"), true);
    ledger.judged(
        &system,
        Some((StrandedReason::NeverMutated, StrandedReason::NeverMutated.healable())),
        now,
    );
    assert_eq!(ledger.may_evict(&system, now), Err(Hold::ExcludedNamespace));
    ledger.observe(key("denied"), "3", 1, owner("rs"), true);
    ledger.judged(
        &key("denied"),
        Some((StrandedReason::WouldBeDenied, StrandedReason::WouldBeDenied.healable())),
        now,
    );
    assert_eq!(ledger.may_evict(&key("denied"), now), Err(Hold::NotHealable));
    ledger.observe(key("fine"), "4", 1, owner("rs"), true);
    ledger.judged(&key("fine"), None, now);
    assert_eq!(ledger.may_evict(&key("fine"), now), Err(Hold::NotStranded));
}

#[test]
fn one_pod_of_an_owner_at_a_time_and_one_eviction_per_interval() {
    let now = Instant::now();
    let mut ledger = stranded(true, &["a", "b"], now);
    ledger.observe(key("other"), "uid-other", 1, owner("rs2"), true);
    ledger.judged(
        &key("other"),
        Some((StrandedReason::NeverMutated, StrandedReason::NeverMutated.healable())),
        now,
    );
    assert_eq!(ledger.may_evict(&key("a"), now), Ok(()));
    ledger.evicted(&key("a"), now, ledger.mark());
    assert_eq!(ledger.may_evict(&key("a"), now), Err(Hold::NotStranded), "never twice");
    let later = now + Duration::from_secs(10);
    assert_eq!(ledger.may_evict(&key("b"), later), Err(Hold::OwnerBusy));
    assert_eq!(ledger.may_evict(&key("other"), now), Err(Hold::RateLimited));
    assert_eq!(ledger.may_evict(&key("other"), later), Ok(()));
    // The evicted pod counts as stranded until it is gone; then its owner is free.
    assert_eq!(ledger.counts(), [(StrandedReason::NeverMutated, 3)].into());
    ledger.forget(&key("a"));
    assert_eq!(ledger.may_evict(&key("b"), later), Ok(()));
    assert_eq!(ledger.counts(), [(StrandedReason::NeverMutated, 2)].into());
}

#[test]
fn an_evicted_pod_stays_evicted_whatever_its_metadata_says_and_a_new_uid_is_a_new_pod() {
    let now = Instant::now();
    let mut ledger = stranded(true, &["a"], now);
    ledger.evicted(&key("a"), now, ledger.mark());
    ledger.observe(key("a"), "uid-a", 2, owner("rs"), false);
    assert!(ledger.due(now + MAX_RETRY).is_empty());
    assert_eq!(ledger.may_evict(&key("a"), now + MAX_RETRY), Err(Hold::NotStranded));
    // A StatefulSet makes a pod of the same name again: a new pod, and the owner is free.
    ledger.observe(key("a"), "uid-a2", 1, owner("rs"), true);
    assert_eq!(ledger.due(now), vec![key("a")]);
    assert_eq!(ledger.pod(&key("a")).map(|(uid, _)| uid), Some("uid-a2"));
}

#[test]
fn a_pod_not_broken_by_a_changed_value_is_reported_not_evicted() {
    let now = Instant::now();
    let mut ledger = Ledger::new(policy(true));
    ledger.observe(key("a"), "1", 1, owner("rs"), true);
    ledger.judged(&key("a"), Some((StrandedReason::ServiceAccountChanged, false)), now);
    assert_eq!(ledger.may_evict(&key("a"), now), Err(Hold::NotHealable));
    ledger.judged(&key("a"), Some((StrandedReason::ServiceAccountChanged, true)), now);
    assert_eq!(ledger.may_evict(&key("a"), now), Ok(()));
}

#[test]
fn healing_stops_for_an_owner_whose_replacement_comes_back_stranded() {
    let now = Instant::now();
    let mut ledger = stranded(true, &["a", "b"], now);
    ledger.evicted(&key("a"), now, ledger.mark());
    ledger.forget(&key("a"));
    // A sibling seen before the eviction is no replacement: still healable.
    let later = now + Duration::from_secs(10);
    assert_eq!(ledger.may_evict(&key("b"), later), Ok(()));
    // The replacement comes back stranded for the same reason: the webhook does not mutate them.
    ledger.observe(key("a2"), "uid-a2", 1, owner("rs"), true);
    assert_eq!(
        ledger.judged(&key("a2"), Some((StrandedReason::NeverMutated, true)), later),
        Change::HealingStopped
    );
    assert_eq!(ledger.may_evict(&key("a2"), later), Err(Hold::Futile));
    assert_eq!(ledger.may_evict(&key("b"), later), Err(Hold::Futile));
    // Said once.
    assert_eq!(
        ledger.judged(&key("a2"), Some((StrandedReason::NeverMutated, true)), later),
        Change::StillStranded
    );
}

#[test]
fn stopped_healing_resumes_after_a_while_and_stops_again_at_the_next_futile_eviction() {
    // A replacement made before every API server had the webhook configuration comes back
    // stranded once for a passing cause: healing that owner must not stay stopped for good.
    let now = Instant::now();
    let mut ledger = stranded(true, &["a"], now);
    ledger.evicted(&key("a"), now, ledger.mark());
    ledger.forget(&key("a"));
    ledger.observe(key("a2"), "uid-a2", 1, owner("rs"), true);
    let stopped = now + Duration::from_secs(10);
    assert_eq!(
        ledger.judged(&key("a2"), Some((StrandedReason::NeverMutated, true)), stopped),
        Change::HealingStopped
    );
    let almost = stopped + FUTILE_FOR - Duration::from_secs(1);
    assert_eq!(
        ledger.judged(&key("a2"), Some((StrandedReason::NeverMutated, true)), almost),
        Change::StillStranded
    );
    assert_eq!(ledger.may_evict(&key("a2"), almost), Err(Hold::Futile));
    // The stop ends: looking at the same replacement again neither stops it anew nor says so.
    let ended = stopped + FUTILE_FOR;
    assert_eq!(
        ledger.judged(&key("a2"), Some((StrandedReason::NeverMutated, true)), ended),
        Change::StillStranded
    );
    assert_eq!(ledger.may_evict(&key("a2"), ended), Ok(()));
    // One more eviction; its replacement stranded again stops healing again, said again.
    ledger.evicted(&key("a2"), ended, ledger.mark());
    ledger.forget(&key("a2"));
    ledger.observe(key("a3"), "uid-a3", 1, owner("rs"), true);
    let again = ended + Duration::from_secs(10);
    assert_eq!(
        ledger.judged(&key("a3"), Some((StrandedReason::NeverMutated, true)), again),
        Change::HealingStopped
    );
    assert_eq!(ledger.may_evict(&key("a3"), again), Err(Hold::Futile));
}

#[test]
fn a_replacement_seen_while_the_eviction_call_was_in_flight_counts_as_one() {
    // The watch and the eviction run apart: the owner's new pod may be seen before the
    // eviction's answer is recorded. The mark taken before the call decides, not the answer.
    let now = Instant::now();
    let mut ledger = stranded(true, &["a"], now);
    let mark = ledger.mark();
    ledger.observe(key("a2"), "uid-a2", 1, owner("rs"), true);
    ledger.evicted(&key("a"), now, mark);
    ledger.forget(&key("a"));
    assert_eq!(
        ledger.judged(&key("a2"), Some((StrandedReason::NeverMutated, true)), now),
        Change::HealingStopped
    );
    assert_eq!(
        ledger.may_evict(&key("a2"), now + Duration::from_secs(10)),
        Err(Hold::Futile)
    );
}

#[test]
fn a_pod_waiting_its_turn_is_looked_at_after_one_interval() {
    let now = Instant::now();
    let mut ledger = stranded(true, &["a"], now);
    for round in 1..5u64 {
        let at = now + Duration::from_secs(100 * round);
        ledger.judged(&key("a"), Some((StrandedReason::NeverMutated, true)), at);
        ledger.wait_turn(&key("a"), at);
        assert_eq!(ledger.due(at + Duration::from_secs(5)), vec![key("a")], "round {round}");
    }
}
