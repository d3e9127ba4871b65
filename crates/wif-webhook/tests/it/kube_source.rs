//! The kube-rs ServiceAccount source against an in-test API double (no API server can be
//! installed here): a plain-HTTP server on 127.0.0.1 answering the metadata-only list, a watch
//! that stays open, and the namespaced GET, as kube-apiserver does. Cache hit, miss then GET,
//! not found, API down; readiness after the first list.

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

#[derive(Default)]
struct Fake {
    direct_gets: AtomicUsize,
    lists: AtomicUsize,
    down: AtomicBool,
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
        // No changes: keep the watch open, as a quiet cluster does.
        return Body::from_stream(futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>()).into_response();
    }
    fake.lists.fetch_add(1, Ordering::SeqCst);
    let list = json!({
        "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": { "resourceVersion": "10" },
        "items": [meta("demo", "cached", "11111111-0000-4000-8000-000000000001")]
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
