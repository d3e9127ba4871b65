//! Certificate rotation against an API double with kube-apiserver's write semantics: create
//! answers 409 when the object exists, replace answers 409 when the resourceVersion is stale.
//! Two replicas held together at the read (so they really race) end with one Secret and the
//! same certificates, whether the Secret was missing or broken; a writer that never stops
//! exhausts the attempts; a broken Secret is renewed; the caBundle follows the CA.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use wif_core::contract;
use wif_webhook::rotation::{ensure_secret, sync_ca_bundle};

use super::until;

#[derive(Default)]
struct Store {
    /// While set, every call is answered 503 (an API server that is down).
    down: std::sync::atomic::AtomicBool,
    failed_calls: AtomicUsize,
    secret: Mutex<Option<Value>>,
    mwc: Mutex<Option<Value>>,
    writes: AtomicUsize,
    conflicts: AtomicUsize,
    /// When set, the first two reads of the Secret wait for each other: two replicas that
    /// start together both see the same state before either writes.
    together: Option<tokio::sync::Barrier>,
    reads: AtomicUsize,
}

async fn read_secret(store: &Store) -> Response {
    if store.down.load(Ordering::SeqCst) {
        store.failed_calls.fetch_add(1, Ordering::SeqCst);
        return status(503, "ServiceUnavailable");
    }
    if let Some(together) = &store.together
        && store.reads.fetch_add(1, Ordering::SeqCst) < 2
    {
        together.wait().await;
    }
    get_obj(&store.secret).await
}

fn status(code: u16, reason: &str) -> Response {
    let body = json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": reason, "reason": reason, "code": code });
    (
        StatusCode::from_u16(code).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(code: StatusCode, value: &Value) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

async fn get_obj(slot: &Mutex<Option<Value>>) -> Response {
    match slot.lock().await.as_ref() {
        Some(v) => ok(StatusCode::OK, v),
        None => status(404, "NotFound"),
    }
}

async fn put_obj(store: &Store, slot: &Mutex<Option<Value>>, mut body: Value) -> Response {
    let mut current = slot.lock().await;
    let Some(existing) = current.as_ref() else {
        return status(404, "NotFound");
    };
    if body["metadata"]["resourceVersion"] != existing["metadata"]["resourceVersion"] {
        store.conflicts.fetch_add(1, Ordering::SeqCst);
        return status(409, "Conflict");
    }
    let next = existing["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap()
        + 1;
    body["metadata"]["resourceVersion"] = json!(next.to_string());
    *current = Some(body.clone());
    store.writes.fetch_add(1, Ordering::SeqCst);
    ok(StatusCode::OK, &body)
}

async fn start(store: Arc<Store>) -> kube::Client {
    let secret_path = "/api/v1/namespaces/{ns}/secrets/{name}";
    let app = Router::new()
        .route(
            secret_path,
            get(|State(s): State<Arc<Store>>| async move { read_secret(&s).await })
                .put(|State(s): State<Arc<Store>>, Path((_, _)): Path<(String, String)>, body: axum::Json<Value>| async move { put_obj(&s, &s.secret, body.0).await }),
        )
        .route(
            "/api/v1/namespaces/{ns}/secrets",
            axum::routing::post(|State(s): State<Arc<Store>>, body: axum::Json<Value>| async move {
                let mut current = s.secret.lock().await;
                if current.is_some() {
                    s.conflicts.fetch_add(1, Ordering::SeqCst);
                    return status(409, "AlreadyExists");
                }
                let mut created = body.0;
                created["metadata"]["resourceVersion"] = json!("1");
                *current = Some(created.clone());
                s.writes.fetch_add(1, Ordering::SeqCst);
                ok(StatusCode::CREATED, &created)
            }),
        )
        .route(
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{name}",
            get(|State(s): State<Arc<Store>>| async move { get_obj(&s.mwc).await })
                .put(|State(s): State<Arc<Store>>, body: axum::Json<Value>| async move { put_obj(&s, &s.mwc, body.0).await }),
        )
        .with_state(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap()
}

const NS: &str = "azure-workload-identity-system";

fn together() -> Store {
    Store {
        together: Some(tokio::sync::Barrier::new(2)),
        ..Store::default()
    }
}

#[tokio::test]
async fn racing_replicas_converge_on_one_secret() {
    let store = Arc::new(together());
    let (a, b) = (start(store.clone()).await, start(store.clone()).await);
    let (first, second) = tokio::join!(ensure_secret(&a, NS), ensure_secret(&b, NS));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first, second, "both replicas serve the same certificates");
    assert_eq!(store.writes.load(Ordering::SeqCst), 1, "one write won");
    assert_eq!(
        store.conflicts.load(Ordering::SeqCst),
        1,
        "the other create was refused, and it read the winner's"
    );
    // Good certificates are left alone.
    assert_eq!(ensure_secret(&a, NS).await.unwrap(), first);
    assert_eq!(store.writes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_broken_secret_is_renewed_with_compare_and_swap() {
    let store = Arc::new(Store::default());
    // Pre-populated by something else, without a CA (upstream's #814).
    *store.secret.lock().await = Some(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": contract::WEBHOOK_SECRET_NAME, "namespace": NS, "resourceVersion": "7" },
        "data": { "tls.crt": base64::engine::general_purpose::STANDARD.encode("junk") }
    }));
    let client = start(store.clone()).await;
    let bundle = ensure_secret(&client, NS).await.unwrap();
    let stored = store.secret.lock().await.clone().unwrap();
    assert_eq!(stored["metadata"]["resourceVersion"], "8");
    let ca = base64::engine::general_purpose::STANDARD
        .decode(stored["data"]["ca.crt"].as_str().unwrap())
        .unwrap();
    assert_eq!(ca, bundle.ca_cert_pem.as_bytes());
}

#[tokio::test]
async fn the_ca_bundle_follows_the_ca() {
    let store = Arc::new(Store::default());
    let client = start(store.clone()).await;
    assert!(
        !sync_ca_bundle(&client, "PEM").await.unwrap(),
        "no configuration installed yet"
    );
    *store.mwc.lock().await = Some(json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": { "name": contract::WEBHOOK_CONFIGURATION_NAME, "resourceVersion": "3" },
        "webhooks": [{ "name": contract::WEBHOOK_NAME, "admissionReviewVersions": ["v1"], "sideEffects": "None",
                       "clientConfig": { "service": { "name": contract::WEBHOOK_SERVICE_NAME, "namespace": NS, "path": "/mutate-v1-pod" } } }]
    }));
    let bundle = ensure_secret(&client, NS).await.unwrap();
    assert!(sync_ca_bundle(&client, &bundle.ca_cert_pem).await.unwrap());
    let mwc = store.mwc.lock().await.clone().unwrap();
    let ca = base64::engine::general_purpose::STANDARD
        .decode(mwc["webhooks"][0]["clientConfig"]["caBundle"].as_str().unwrap())
        .unwrap();
    assert_eq!(ca, bundle.ca_cert_pem.as_bytes());
    assert!(
        !sync_ca_bundle(&client, &bundle.ca_cert_pem).await.unwrap(),
        "already current"
    );
}

#[tokio::test]
async fn a_secret_whose_certificate_is_for_other_names_is_replaced_not_published() {
    let store = Arc::new(Store::default());
    // A complete, well-formed Secret, but for the Service in another namespace: its tls.crt
    // names `...other.svc`, which a substring search for `...{NS}.svc` never confused, and its
    // CA must not become the caBundle.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let foreign = wif_webhook::certs::issue("other", now).unwrap();
    let data = |b: &wif_webhook::certs::CertBundle| b.to_data();
    let reason = wif_webhook::certs::renewal_reason(&data(&foreign), NS, now).unwrap();
    assert!(
        reason.starts_with("tls.crt is not good for"),
        "renewed for its names: {reason}"
    );
    let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    *store.secret.lock().await = Some(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": contract::WEBHOOK_SECRET_NAME, "namespace": NS, "resourceVersion": "4" },
        "data": { "ca.crt": b64(&foreign.ca_cert_pem), "ca.key": b64(&foreign.ca_key_pem),
                  "tls.crt": b64(&foreign.cert_pem), "tls.key": b64(&foreign.key_pem) }
    }));
    let client = start(store.clone()).await;
    let bundle = wif_webhook::rotation::rotate_once(&client, NS).await.unwrap();
    assert_ne!(bundle.ca_cert_pem, foreign.ca_cert_pem, "the foreign CA was kept");
    let stored = store.secret.lock().await.clone().unwrap();
    assert_eq!(
        stored["metadata"]["resourceVersion"], "5",
        "replaced with compare-and-swap"
    );
    assert_eq!(wif_webhook::certs::renewal_reason(&data(&bundle), NS, now), None);
}

#[tokio::test]
async fn racing_replicas_replacing_a_broken_secret_write_once() {
    let store = Arc::new(together());
    *store.secret.lock().await = Some(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": contract::WEBHOOK_SECRET_NAME, "namespace": NS, "resourceVersion": "7" },
        "data": { "tls.crt": base64::engine::general_purpose::STANDARD.encode("junk") }
    }));
    let (a, b) = (start(store.clone()).await, start(store.clone()).await);
    // Both read resourceVersion 7, both issue, both replace with it: one is stale.
    let (first, second) = tokio::join!(ensure_secret(&a, NS), ensure_secret(&b, NS));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first, second, "the loser reads the winner's certificates");
    assert_eq!(store.writes.load(Ordering::SeqCst), 1);
    assert_eq!(
        store.conflicts.load(Ordering::SeqCst),
        1,
        "the stale replace was refused"
    );
    let stored = store.secret.lock().await.clone().unwrap();
    assert_eq!(stored["metadata"]["resourceVersion"], "8");
}

#[tokio::test]
async fn a_secret_that_keeps_changing_runs_out_of_attempts() {
    // Every replace is stale: another writer always got there first.
    let store = Arc::new(Store::default());
    *store.secret.lock().await = Some(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": contract::WEBHOOK_SECRET_NAME, "namespace": NS, "resourceVersion": "7" },
        "data": {}
    }));
    let client = start_with_churn(store.clone()).await;
    let error = ensure_secret(&client, NS).await.unwrap_err();
    assert!(
        matches!(
            error,
            wif_webhook::rotation::RotationError::Contended { what: "Secret" }
        ),
        "{error}"
    );
    assert_eq!(store.conflicts.load(Ordering::SeqCst), 5, "five attempts, each refused");
}

/// An API double whose Secret's resourceVersion moves on at every read, as under a writer
/// that never stops.
async fn start_with_churn(store: Arc<Store>) -> kube::Client {
    let app = Router::new()
        .route(
            "/api/v1/namespaces/{ns}/secrets/{name}",
            get(|State(s): State<Arc<Store>>| async move {
                let answer = get_obj(&s.secret).await;
                if let Some(secret) = s.secret.lock().await.as_mut() {
                    let next = secret["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap()
                        .parse::<u64>()
                        .unwrap()
                        + 1;
                    secret["metadata"]["resourceVersion"] = json!(next.to_string());
                }
                answer
            })
            .put(|State(s): State<Arc<Store>>, body: axum::Json<Value>| async move {
                put_obj(&s, &s.secret, body.0).await
            }),
        )
        .with_state(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap()
}

#[tokio::test]
async fn the_loop_repairs_a_broken_secret_and_retries_soon_after_a_failure() {
    let store = Arc::new(Store::default());
    let client = start(store.clone()).await;
    let first = ensure_secret(&client, NS).await.unwrap();
    let schedule = wif_webhook::rotation::Schedule {
        every: Duration::from_millis(50),
        first_retry: Duration::from_millis(20),
        max_retry: Duration::from_millis(100),
    };
    let looping = tokio::spawn(wif_webhook::rotation::run_on(client, NS.into(), schedule));
    let secret_is_good = async || {
        let data = store.secret.lock().await.clone().and_then(|s| {
            let data = s["data"].as_object()?.clone();
            Some(
                data.into_iter()
                    .filter_map(|(k, v)| Some((k, base64::engine::general_purpose::STANDARD.decode(v.as_str()?).ok()?)))
                    .collect::<std::collections::BTreeMap<_, _>>(),
            )
        });
        data.is_some_and(|d| wif_webhook::certs::renewal_reason(&d, NS, wif_core::clock::unix_now()).is_none())
    };
    // Something breaks the Secret between two rounds: the next round repairs it.
    if let Some(secret) = store.secret.lock().await.as_mut() {
        secret["data"]["tls.crt"] = json!(base64::engine::general_purpose::STANDARD.encode("junk"));
    }
    until("the broken Secret repaired", async || secret_is_good().await).await;
    let repaired_at = store.writes.load(Ordering::SeqCst);
    assert_eq!(repaired_at, 2, "one create, one repair");

    // The API server goes down: rounds fail and are retried (not at the next regular
    // check), and the first round after it is back finds good certificates.
    store.down.store(true, Ordering::SeqCst);
    until("two failed rounds", async || {
        store.failed_calls.load(Ordering::SeqCst) >= 2
    })
    .await;
    store.down.store(false, Ordering::SeqCst);
    if let Some(secret) = store.secret.lock().await.as_mut() {
        secret["data"]["tls.crt"] = json!(base64::engine::general_purpose::STANDARD.encode("junk"));
    }
    until("the Secret repaired after the outage", async || secret_is_good().await).await;
    assert_ne!(
        store.secret.lock().await.clone().unwrap()["data"]["ca.crt"],
        json!(base64::engine::general_purpose::STANDARD.encode(&first.ca_cert_pem)),
        "a repair issues a new CA"
    );
    looping.abort();
}
