//! The kube-rs ServiceAccount source against an in-test API double (no API server can be
//! installed here): a plain-HTTP server on 127.0.0.1 answering the metadata-only list, a watch
//! that stays open, and the namespaced GET, as kube-apiserver does. Cache hit, miss then GET,
//! not found, API down; readiness after the first list; watch events (added, modified,
//! deleted) and a relist after the watch expires.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use wif_core::{WebhookSettings, contract};
use wif_webhook::accounts::ServiceAccountSource;
use wif_webhook::{KubeServiceAccounts, WebhookMetrics, WebhookState};

use super::until;

#[derive(Default)]
struct Fake {
    direct_gets: AtomicUsize,
    lists: AtomicUsize,
    down: AtomicBool,
    /// What a list returns (the one `cached` account unless a test changes it).
    items: std::sync::Mutex<Option<Vec<Value>>>,
    /// While set, lists wait for `release` (an API server slow to answer the first list).
    hold_lists: AtomicBool,
    release: tokio::sync::Notify,
    /// Watch events for the first watch, one JSON line each; later watches stay quiet.
    events: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<String>>>,
}

fn meta(namespace: &str, name: &str, client_id: &str) -> Value {
    json!({
        "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
        "metadata": { "name": name, "namespace": namespace, "uid": format!("uid-{name}"), "resourceVersion": "10",
                      "annotations": { contract::ANNOTATION_CLIENT_ID: client_id } }
    })
}

async fn list_or_watch(
    State(fake): State<Arc<Fake>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        accept.contains("PartialObjectMetadata"),
        "metadata-only requests, got Accept {accept}"
    );
    if query.iter().any(|(k, v)| k == "watch" && v == "true") {
        let events = fake.events.lock().unwrap().take();
        return match events {
            Some(events) => Body::from_stream(futures_util::stream::unfold(events, |mut events| async move {
                let line = events.recv().await?;
                Some((Ok::<_, std::io::Error>(format!("{line}\n").into_bytes()), events))
            }))
            .into_response(),
            // No changes: keep the watch open, as a quiet cluster does.
            None => {
                Body::from_stream(futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>()).into_response()
            }
        };
    }
    if fake.hold_lists.load(Ordering::SeqCst) {
        fake.release.notified().await;
    }
    fake.lists.fetch_add(1, Ordering::SeqCst);
    let items = fake
        .items
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| vec![meta("demo", "cached", "11111111-0000-4000-8000-000000000001")]);
    let list = json!({
        "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": { "resourceVersion": "10" },
        "items": items
    });
    ([(header::CONTENT_TYPE, "application/json")], list.to_string()).into_response()
}

async fn get_one(State(fake): State<Arc<Fake>>, Path((namespace, name)): Path<(String, String)>) -> Response {
    fake.direct_gets.fetch_add(1, Ordering::SeqCst);
    if fake.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "etcd is on fire").into_response();
    }
    if name == "just-created" {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            meta(&namespace, &name, "22222222-0000-4000-8000-000000000002").to_string(),
        )
            .into_response();
    }
    let status = json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": format!("serviceaccounts \"{name}\" not found"), "reason": "NotFound",
                         "details": { "name": name, "kind": "serviceaccounts" }, "code": 404 });
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        status.to_string(),
    )
        .into_response()
}

async fn start_fake() -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/api/v1/serviceaccounts", get(list_or_watch))
        .route("/api/v1/namespaces/{namespace}/serviceaccounts/{name}", get(get_one))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, fake)
}

async fn source(url: &str) -> KubeServiceAccounts {
    let config = kube::Config::new(url.parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let source = KubeServiceAccounts::start(client).with_lookup_timeout(Duration::from_millis(500));
    for _ in 0..100 {
        if source.is_ready() {
            return source;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the cache never synced");
}

#[tokio::test]
async fn cache_hit_then_miss_then_get_then_not_found_then_api_down() {
    let (url, fake) = start_fake().await;
    let accounts = source(&url).await;
    assert_eq!(fake.lists.load(Ordering::SeqCst), 1);
    assert_eq!(accounts.cached(), 1);

    let hit = accounts.get("demo", "cached").await.unwrap().unwrap();
    assert_eq!(
        hit.annotations[contract::ANNOTATION_CLIENT_ID],
        "11111111-0000-4000-8000-000000000001"
    );
    assert_eq!(fake.direct_gets.load(Ordering::SeqCst), 0, "a cache hit asks nobody");

    let fresh = accounts.get("demo", "just-created").await.unwrap().unwrap();
    assert_eq!(
        fresh.annotations[contract::ANNOTATION_CLIENT_ID],
        "22222222-0000-4000-8000-000000000002"
    );
    assert_eq!(
        fake.direct_gets.load(Ordering::SeqCst),
        1,
        "a miss asks the API server directly"
    );

    assert_eq!(accounts.get("demo", "ghost").await.unwrap(), None);

    fake.down.store(true, Ordering::SeqCst);
    let error = accounts.get("demo", "other").await.unwrap_err();
    assert!(
        matches!(error, wif_webhook::accounts::LookupError::Timeout(_)),
        "an overloaded API server is not waited for: {error}"
    );
    // A cached account is still answered while the API server is down.
    assert!(accounts.get("demo", "cached").await.unwrap().is_some());
}

#[tokio::test]
async fn the_webhook_denies_with_upstreams_words_through_the_kube_source() {
    let (url, fake) = start_fake().await;
    let accounts = Arc::new(source(&url).await);
    let mut registry = prometheus_client::registry::Registry::default();
    let state = WebhookState {
        settings: WebhookSettings::new("t"),
        accounts: accounts.clone(),
        metrics: WebhookMetrics::new(&mut registry),
    };
    let pod = |sa: &str| json!({ "metadata": { "name": "p" }, "spec": { "serviceAccountName": sa, "containers": [{ "name": "c" }] } });
    let admit = |body: Vec<u8>| {
        let state = &state;
        async move {
            let admission = wif_webhook::review::decode(&body).expect("a review");
            wif_webhook::server::admit(state, &admission).await
        }
    };
    let review = |sa: &str| {
        json!({ "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": { "uid": "u", "namespace": "demo", "object": pod(sa) } })
        .to_string()
        .into_bytes()
    };
    let plan = admit(review("just-created")).await.unwrap();
    assert!(!plan.operations.is_empty());
    let denial = admit(review("ghost")).await.unwrap_err();
    assert_eq!(denial.message, "serviceaccounts \"ghost\" not found");
    fake.down.store(true, Ordering::SeqCst);
    let denial = admit(review("other")).await.unwrap_err();
    assert!(
        denial.message.starts_with("failed to get service account demo/other:"),
        "{}",
        denial.message
    );
}

fn event(kind: &str, object: Value) -> String {
    json!({ "type": kind, "object": object }).to_string()
}

#[tokio::test]
async fn watch_events_reach_the_cache_and_a_relist_replaces_it() {
    let (url, fake) = start_fake().await;
    let (send, events) = tokio::sync::mpsc::unbounded_channel();
    *fake.events.lock().unwrap() = Some(events);
    let accounts = source(&url).await;
    let client_id = async |name: &str| {
        accounts.get("demo", name).await.unwrap().map(|a| {
            a.annotations
                .get(contract::ANNOTATION_CLIENT_ID)
                .cloned()
                .unwrap_or_default()
        })
    };

    let mut added = meta("demo", "added", "33333333-0000-4000-8000-000000000003");
    added["metadata"]["resourceVersion"] = json!("11");
    send.send(event("ADDED", added)).unwrap();
    until("the added account in the cache", async || accounts.cached() == 2).await;
    assert_eq!(
        client_id("added").await.as_deref(),
        Some("33333333-0000-4000-8000-000000000003")
    );

    // A new client id reaches the next admission, from the cache.
    let mut modified = meta("demo", "added", "44444444-0000-4000-8000-000000000004");
    modified["metadata"]["resourceVersion"] = json!("12");
    send.send(event("MODIFIED", modified.clone())).unwrap();
    until("the modified account in the cache", async || {
        client_id("added").await.as_deref() == Some("44444444-0000-4000-8000-000000000004")
    })
    .await;
    assert_eq!(fake.direct_gets.load(Ordering::SeqCst), 0, "all from the cache");

    modified["metadata"]["resourceVersion"] = json!("13");
    send.send(event("DELETED", modified)).unwrap();
    until("the deleted account gone", async || accounts.cached() == 1).await;
    assert_eq!(
        client_id("added").await,
        None,
        "asked the API server, which has no such account"
    );
    assert_eq!(fake.direct_gets.load(Ordering::SeqCst), 1);

    // The watch expires (410 Gone): the watcher lists again, and the list replaces the cache.
    // Two accounts in the new list, so the relist is seen in the cache's size alone (a lookup
    // before it lands would ask the API server directly).
    *fake.items.lock().unwrap() = Some(vec![
        meta("demo", "relisted", "55555555-0000-4000-8000-000000000005"),
        meta("demo", "relisted-too", "66666666-0000-4000-8000-000000000006"),
    ]);
    let gone = json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": "too old resource version", "reason": "Expired", "code": 410 });
    send.send(event("ERROR", gone)).unwrap();
    until("the relist in the cache", async || {
        fake.lists.load(Ordering::SeqCst) == 2 && accounts.cached() == 2
    })
    .await;
    assert_eq!(
        client_id("relisted").await.as_deref(),
        Some("55555555-0000-4000-8000-000000000005")
    );
    assert_eq!(fake.direct_gets.load(Ordering::SeqCst), 1, "answered from the cache");
    assert_eq!(
        client_id("cached").await,
        None,
        "the relist replaced the cache: 'cached' is gone"
    );
    assert_eq!(
        fake.direct_gets.load(Ordering::SeqCst),
        2,
        "so it was asked for directly"
    );
}

#[tokio::test]
async fn readyz_waits_for_the_first_list() {
    let (url, fake) = start_fake().await;
    fake.hold_lists.store(true, Ordering::SeqCst);
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let accounts: Arc<dyn ServiceAccountSource> = Arc::new(KubeServiceAccounts::start(client));
    let mut registry = prometheus_client::registry::Registry::default();
    let state = Arc::new(WebhookState {
        settings: WebhookSettings::new("t"),
        accounts: Arc::clone(&accounts),
        metrics: WebhookMetrics::new(&mut registry),
    });
    let options = wif_server::LocalOptions {
        ca_name: "readyz test CA".into(),
        tls_min_version: "1.3".into(),
        readiness_gate: Some(wif_webhook::server::readiness_gate(accounts)),
        ..wif_server::LocalOptions::default()
    };
    let server = wif_server::LocalServer::start(wif_webhook::router(state), registry, options)
        .await
        .unwrap();
    let readyz = format!("http://{}/readyz", server.health_address);
    // Serving (no longer "starting"), and still not ready: the list has not come back.
    until("readyz naming the cache", async || {
        let Ok(answer) = reqwest::get(&readyz).await else {
            return false;
        };
        answer.status() == 503
            && answer
                .text()
                .await
                .is_ok_and(|t| t.contains("ServiceAccount cache not synced yet"))
    })
    .await;
    assert_eq!(fake.lists.load(Ordering::SeqCst), 0, "the first list is still held");
    fake.hold_lists.store(false, Ordering::SeqCst);
    fake.release.notify_waiters();
    until("readyz after the first list", async || {
        reqwest::get(&readyz).await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    server.stop();
}
