//! The key cache against a real HTTPS issuer on 127.0.0.1 that can be taken down, slowed,
//! rotated and made to misbehave, counting every fetch it serves.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use wif_jose::{Algorithm, SigningKey, jwks_of};
use wif_server::{LocalOptions, LocalServer};

use super::*;
use crate::fetch::MAX_DISCOVERY_BYTES;

/// Far above anything the tests wait for; reached only when the code under test is wrong.
const BOUND: Duration = Duration::from_secs(20);

fn quick() -> Timing {
    Timing {
        ttl: Duration::from_secs(3600),
        min_refetch: Duration::from_millis(200),
        first_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_millis(800),
    }
}

#[derive(Default)]
struct Behaviour {
    url: Mutex<String>,
    down: AtomicBool,
    /// While set, the JWKS handler waits for `release` before answering.
    hold: AtomicBool,
    release: tokio::sync::Notify,
    entered: tokio::sync::Notify,
    jwks_fetches: AtomicUsize,
    jwks: Mutex<String>,
    /// Replaces the discovery document.
    discovery: Mutex<Option<String>>,
}

struct TestIssuer {
    url: String,
    ca_file: PathBuf,
    behaviour: Arc<Behaviour>,
    _server: LocalServer,
    _dir: TempDir,
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn discovery(State(b): State<Arc<Behaviour>>) -> Response {
    if b.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let url = b.url.lock().unwrap().clone();
    let custom = b.discovery.lock().unwrap().clone();
    custom
        .unwrap_or_else(|| format!(r#"{{"issuer":"{url}","jwks_uri":"{url}/keys"}}"#))
        .into_response()
}

async fn keys(State(b): State<Arc<Behaviour>>) -> Response {
    if b.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    b.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if b.hold.load(Ordering::SeqCst) {
        let released = b.release.notified();
        b.entered.notify_one();
        released.await;
    }
    b.jwks.lock().unwrap().clone().into_response()
}

async fn issuer(name: &str, key: &SigningKey) -> TestIssuer {
    let dir = std::env::temp_dir().join(format!(
        "wif-issuer-keys-{name}-{}",
        wif_jose::kubernetes::random_uuid().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let behaviour = Arc::new(Behaviour::default());
    *behaviour.jwks.lock().unwrap() = jwks_of(&[key.public_key().clone()]).to_pretty_json();
    let router = Router::new()
        .route("/{name}/.well-known/openid-configuration", get(discovery))
        .route("/{name}/keys", get(keys))
        .with_state(Arc::clone(&behaviour));
    let url_of = |address| format!("https://{address}/{name}");
    let server = LocalServer::start_with(router, Default::default(), LocalOptions::default(), |bound| {
        *behaviour.url.lock().unwrap() = url_of(bound.address);
    })
    .await
    .unwrap();
    let url = url_of(server.address);
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &server.ca_pem).unwrap();
    TestIssuer {
        url,
        ca_file,
        behaviour,
        _server: server,
        _dir: TempDir(dir),
    }
}

fn cache(issuers: &[&TestIssuer]) -> Arc<IssuerKeys> {
    let configs = issuers
        .iter()
        .map(|i| IssuerConfig {
            issuer: i.url.clone(),
            ca_file: Some(i.ca_file.clone()),
            jwks_file: None,
        })
        .collect();
    Arc::new(IssuerKeys::new(configs).unwrap().with_timing(quick()))
}

fn kids(keys: &JwkSet) -> Vec<String> {
    keys.keys.iter().filter_map(|k| k.kid.clone()).collect()
}

fn kid_of(key: &SigningKey) -> String {
    kids(&jwks_of(&[key.public_key().clone()])).remove(0)
}

/// Calls `keys` until it answers Ok, as a client retrying would; how many calls it took.
async fn until_ok(cache: &IssuerKeys, issuer: &str) -> Arc<JwkSet> {
    tokio::time::timeout(BOUND, async {
        loop {
            if let Ok(keys) = cache.keys(issuer).await {
                return keys;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the issuer's keys are had again once it is back")
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let timing = Timing::default();
    let seconds: Vec<u64> = [1, 2, 3, 4, 5, 6, 7, 40, u32::MAX]
        .iter()
        .map(|n| timing.backoff(*n).as_secs())
        .collect();
    assert_eq!(seconds, [1, 2, 4, 8, 16, 30, 30, 30, 30]);
}

#[tokio::test]
async fn a_failure_is_remembered_for_its_backoff_only() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let down = issuer("down", &key).await;
    let cache = cache(&[&down]);
    down.behaviour.down.store(true, Ordering::SeqCst);
    let first = cache.keys(&down.url).await.unwrap_err();
    assert!(matches!(first, FetchError::Status { status: 503, .. }), "{first}");
    // Within the backoff: answered from memory, the issuer is not asked again.
    let again = cache.keys(&down.url).await.unwrap_err();
    assert!(
        matches!(&again, FetchError::Backoff { last, .. } if matches!(**last, FetchError::Status { status: 503, .. })),
        "{again}"
    );
    down.behaviour.down.store(false, Ordering::SeqCst);
    let keys = until_ok(&cache, &down.url).await;
    assert_eq!(kids(&keys), [kid_of(&key)]);
    assert_eq!(down.behaviour.jwks_fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_good_keys() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let blip = issuer("blip", &key).await;
    let cache = cache(&[&blip]);
    assert_eq!(kids(&cache.keys(&blip.url).await.unwrap()), [kid_of(&key)]);
    blip.behaviour.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(quick().min_refetch).await;
    let refused = cache.refresh(&blip.url).await.unwrap_err();
    assert!(matches!(refused, FetchError::Status { status: 503, .. }), "{refused}");
    // Tokens signed by the known key keep verifying while the issuer is down.
    assert_eq!(kids(&cache.keys(&blip.url).await.unwrap()), [kid_of(&key)]);
}

#[tokio::test]
async fn a_rotated_key_is_found_by_a_refresh_and_refreshes_are_rate_limited() {
    let old = SigningKey::generate(Algorithm::ES256).unwrap();
    let new = SigningKey::generate(Algorithm::RS256).unwrap();
    let rotating = issuer("rotating", &old).await;
    let cache = cache(&[&rotating]);
    assert_eq!(kids(&cache.keys(&rotating.url).await.unwrap()), [kid_of(&old)]);
    *rotating.behaviour.jwks.lock().unwrap() = jwks_of(&[new.public_key().clone()]).to_pretty_json();
    // Right after a fetch, a refresh answers from the cache: a stream of tokens with unknown
    // kids cannot make the emulator fetch on each.
    assert_eq!(kids(&cache.refresh(&rotating.url).await.unwrap()), [kid_of(&old)]);
    assert_eq!(rotating.behaviour.jwks_fetches.load(Ordering::SeqCst), 1);
    tokio::time::sleep(quick().min_refetch).await;
    assert_eq!(kids(&cache.refresh(&rotating.url).await.unwrap()), [kid_of(&new)]);
    assert_eq!(rotating.behaviour.jwks_fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn one_slow_issuer_stalls_no_other_and_its_waiters_share_one_fetch() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let slow = issuer("slow", &key).await;
    let quick_one = issuer("quick", &key).await;
    let cache = cache(&[&slow, &quick_one]);
    slow.behaviour.hold.store(true, Ordering::SeqCst);
    let entered = slow.behaviour.entered.notified();
    let mut waiters = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (cache, url) = (Arc::clone(&cache), slow.url.clone());
        waiters.spawn(async move { cache.keys(&url).await.map(|k| kids(&k)) });
    }
    tokio::time::timeout(BOUND, entered)
        .await
        .expect("the slow fetch started");
    // The slow issuer's fetch is in flight: another issuer is served meanwhile.
    let other = tokio::time::timeout(BOUND, cache.keys(&quick_one.url)).await;
    assert_eq!(kids(&other.expect("not stalled").unwrap()), [kid_of(&key)]);
    // A waiter that gives up does not cancel the fetch for the rest.
    let (gives_up_cache, gives_up_url) = (Arc::clone(&cache), slow.url.clone());
    let gives_up = tokio::spawn(async move { gives_up_cache.keys(&gives_up_url).await.is_ok() });
    gives_up.abort();
    slow.behaviour.hold.store(false, Ordering::SeqCst);
    slow.behaviour.release.notify_waiters();
    while let Some(result) = waiters.join_next().await {
        assert_eq!(result.unwrap().unwrap(), [kid_of(&key)]);
    }
    assert_eq!(
        slow.behaviour.jwks_fetches.load(Ordering::SeqCst),
        1,
        "one fetch for all waiters"
    );
}

#[tokio::test]
async fn misbehaving_issuers_are_refused_with_the_reason() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let odd = issuer("odd", &key).await;
    let cache = cache(&[&odd]);
    let url = odd.url.clone();
    let set = |doc: Option<String>| *odd.behaviour.discovery.lock().unwrap() = doc;
    let refused = |cache: Arc<IssuerKeys>| {
        let url = url.clone();
        async move {
            // Past the previous failure's backoff, so the issuer is asked again.
            tokio::time::sleep(quick().max_backoff).await;
            cache.keys(&url).await.unwrap_err()
        }
    };

    set(Some(format!(r#"{{"issuer":"{url}/","jwks_uri":"{url}/keys"}}"#)));
    let mismatch = refused(Arc::clone(&cache)).await;
    assert!(
        matches!(&mismatch, FetchError::IssuerMismatch { advertised, .. } if *advertised == format!("{url}/")),
        "{mismatch}"
    );
    // The same document serves the keys when only a diagnosis depends on them.
    let diagnosis_keys = cache.keys_checked(&url, IssuerCheck::KeysOnly).await.unwrap();
    assert_eq!(kids(&diagnosis_keys), [kid_of(&key)]);
    // And for the credential that lacks (or adds) the slash: same discovery URL, same CA.
    let slashed = cache
        .keys_checked(&format!("{url}/"), IssuerCheck::KeysOnly)
        .await
        .unwrap();
    assert_eq!(kids(&slashed), [kid_of(&key)]);
    set(Some(format!(
        r#"{{"issuer":"{url}","jwks_uri":"{}/keys"}}"#,
        url.replace("https://", "http://")
    )));
    let plain = refused(Arc::clone(&cache)).await;
    assert!(matches!(plain, FetchError::JwksNotHttps { .. }), "{plain}");
    set(Some(format!(r#"{{"issuer":"{url}"}}"#)));
    assert!(matches!(
        refused(Arc::clone(&cache)).await,
        FetchError::NoJwksUri { .. }
    ));
    set(Some("<html>".into()));
    assert!(matches!(refused(Arc::clone(&cache)).await, FetchError::NotJson { .. }));
    set(Some(format!(
        r#"{{"issuer":"{url}","jwks_uri":"{url}/keys","pad":"{}"}}"#,
        "x".repeat(MAX_DISCOVERY_BYTES)
    )));
    let large = refused(Arc::clone(&cache)).await;
    assert!(
        matches!(large, FetchError::TooLarge { limit, .. } if limit == MAX_DISCOVERY_BYTES),
        "{large}"
    );
    set(None);
    *odd.behaviour.jwks.lock().unwrap() = "{\"keys\": 5}".into();
    assert!(matches!(refused(Arc::clone(&cache)).await, FetchError::BadJwks { .. }));

    // 150 keys: the first 100 are kept, as Entra keeps them.
    let many: Vec<_> = (0..150)
        .map(|_| SigningKey::generate(Algorithm::ES256).unwrap().public_key().clone())
        .collect();
    *odd.behaviour.jwks.lock().unwrap() = jwks_of(&many).to_pretty_json();
    tokio::time::sleep(quick().max_backoff).await;
    let kept = cache.keys(&url).await.unwrap();
    assert_eq!(kept.keys.len(), MAX_KEYS);
    assert_eq!(kids(&kept), kids(&jwks_of(&many[..MAX_KEYS])));
}
