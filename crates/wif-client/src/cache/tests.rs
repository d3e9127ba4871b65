//! The cache's promises: one refresh at a time, refresh ahead of expiry, back-off after a
//! failure, never a token served past its expiry.

use std::sync::atomic::{AtomicUsize, Ordering};

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

type Fetch = futures_util::future::BoxFuture<'static, Result<FreshToken, ClientError>>;

/// A fetch that counts its runs, waits for `gate` when given, and answers `answer`.
fn fetch(
    calls: &Arc<AtomicUsize>,
    gate: Option<Arc<tokio::sync::Notify>>,
    answer: Result<FreshToken, ClientError>,
) -> impl FnOnce() -> Fetch + use<> {
    let calls = Arc::clone(calls);
    move || {
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            if let Some(gate) = gate {
                gate.notified().await;
            }
            answer
        }
        .boxed()
    }
}

impl TokenCache {
    fn refreshing(&self, slots: &IdentitySlots, scope: &str) -> bool {
        slots.slot(scope).state().in_flight.is_some()
    }
}

/// Yields until `done` holds: the background refresh is a task on this runtime.
async fn until(mut done: impl FnMut() -> bool) {
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while !done() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the background refresh finished");
}

#[tokio::test]
async fn a_due_refresh_runs_in_the_background_while_the_valid_token_is_served() {
    let clock = Arc::new(ManualClock::new(1_000_000_000_000));
    let cache = TokenCache::with_clock(clock.clone());
    let slots = cache.identity(&identity());
    let calls = Arc::new(AtomicUsize::new(0));
    let first = cache
        .get(&slots, "s", fetch(&calls, None, Ok(fresh(3600))))
        .await
        .unwrap();
    assert_eq!(
        cache.get(&slots, "s", fetch(&calls, None, Ok(fresh(1)))).await.unwrap(),
        first,
        "a hit"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    clock.advance_secs(3600 - 300); // refresh is due five minutes before expiry
    let gate = Arc::new(tokio::sync::Notify::new());
    let renewed = FreshToken {
        access_token: "renewed".into(),
        ..fresh(3600)
    };
    // The endpoint is slow (the gate is shut): callers are served the valid token anyway.
    let served = cache
        .get(&slots, "s", fetch(&calls, Some(Arc::clone(&gate)), Ok(renewed)))
        .await
        .unwrap();
    assert_eq!(served, first);
    assert!(cache.refreshing(&slots, "s"));
    let again = cache.get(&slots, "s", fetch(&calls, None, Ok(fresh(1)))).await.unwrap();
    assert_eq!(again, first, "no second refresh while one runs");
    until(|| calls.load(Ordering::SeqCst) == 2).await;
    gate.notify_one();
    until(|| !cache.refreshing(&slots, "s")).await;
    let now = cache.get(&slots, "s", fetch(&calls, None, Ok(fresh(1)))).await.unwrap();
    assert_eq!(&*now.token, "renewed");
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // A failed background refresh: the valid token is still served, and the key backs off.
    clock.advance_secs(3600 - 300);
    let down = || Err(ClientError::EmptyTokenFile { path: "down".into() });
    let stale = cache.get(&slots, "s", fetch(&calls, None, down())).await.unwrap();
    assert_eq!(&*stale.token, "renewed");
    until(|| !cache.refreshing(&slots, "s")).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let backing_off = cache.get(&slots, "s", fetch(&calls, None, down())).await.unwrap();
    assert_eq!(&*backing_off.token, "renewed");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "backing off: no new attempt within a second"
    );
    clock.advance_secs(290); // past expiry (minus the margin): never served, the caller waits
    let refused = cache.get(&slots, "s", fetch(&calls, None, down())).await.unwrap_err();
    assert!(
        matches!(refused, ClientError::EmptyTokenFile { ref path } if path == "down"),
        "{refused}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn callers_without_a_token_share_one_request_and_one_that_gives_up_cancels_nothing() {
    let cache = Arc::new(TokenCache::with_clock(Arc::new(ManualClock::new(1_000_000_000_000))));
    let slots = cache.identity(&identity());
    let calls = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Notify::new());
    let mut waiters = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let (cache, slots, fetch) = (
            Arc::clone(&cache),
            Arc::clone(&slots),
            fetch(&calls, Some(Arc::clone(&gate)), Ok(fresh(3600))),
        );
        waiters.spawn(async move { cache.get(&slots, "s", fetch).await.map(|t| t.token) });
    }
    until(|| calls.load(Ordering::SeqCst) == 1).await;
    let (quitter_cache, quitter_slots) = (Arc::clone(&cache), Arc::clone(&slots));
    let quitter_fetch = fetch(&calls, None, Ok(fresh(1)));
    tokio::spawn(async move { quitter_cache.get(&quitter_slots, "s", quitter_fetch).await }).abort();
    gate.notify_one();
    while let Some(token) = waiters.join_next().await {
        assert_eq!(&*token.unwrap().unwrap(), "token-3600");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one request for every waiter");
}

#[test]
fn lifetimes_from_the_endpoint_cannot_overflow() {
    let huge = AccessToken::from_fresh(
        FreshToken {
            refresh_in: Some(i64::MAX),
            ..fresh(i64::MAX)
        },
        i64::MAX - 10,
    );
    assert_eq!(huge.usable_until_ms, i64::MAX - EXPIRY_MARGIN_MS);
    let day = AccessToken::from_fresh(fresh(i64::MAX), 0);
    assert_eq!(day.expires_on, MAX_LIFETIME_S, "a lifetime past a day is a day");
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

#[tokio::test]
async fn a_flood_of_scopes_holds_at_most_the_bound_and_keeps_the_longest_lived() {
    let cache = TokenCache::with_clock(Arc::new(ManualClock::new(1_800_000_000_000)));
    let slots = cache.identity(&identity());
    let calls = Arc::new(AtomicUsize::new(0));
    // The scope in use holds the token that lives longest; every other one ends sooner.
    cache
        .get(
            &slots,
            "https://vault.azure.net/.default",
            fetch(&calls, None, Ok(fresh(86_000))),
        )
        .await
        .unwrap();
    for n in 0..MAX_SCOPES_PER_IDENTITY * 4 {
        let scope = format!("https://flood-{n}.example/.default");
        cache
            .get(&slots, &scope, fetch(&calls, None, Ok(fresh(3_600))))
            .await
            .unwrap();
        assert!(
            slots.len() <= MAX_SCOPES_PER_IDENTITY,
            "{} scopes after {n}",
            slots.len()
        );
    }
    assert_eq!(slots.len(), MAX_SCOPES_PER_IDENTITY);
    let before = calls.load(Ordering::SeqCst);
    cache
        .get(
            &slots,
            "https://vault.azure.net/.default",
            fetch(&calls, None, Ok(fresh(86_000))),
        )
        .await
        .unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        before,
        "the long-lived token was kept, not fetched again"
    );
}
