//! A stand-in kube-apiserver for benchmarks (no cluster can be installed here): serves N
//! ServiceAccounts as the metadata-only list the webhook's reflector asks for, keeps watches
//! open, answers GETs with NotFound. Plain HTTP on 127.0.0.1.
//!
//! cargo run --release -p wif-webhook --example fake_apiserver -- 100000

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Pages as kube-apiserver does: `limit` items, then a `continue` token (here, the offset).
async fn list_or_watch(State(items): State<Arc<Vec<String>>>, Query(query): Query<Vec<(String, String)>>) -> Response {
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if param("watch") == Some("true") {
        return Body::from_stream(futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>()).into_response();
    }
    let start: usize = param("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
    let limit: usize = param("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(items.len());
    let end = (start + limit).min(items.len());
    let next = if end < items.len() {
        format!(r#","continue":"{end}""#)
    } else {
        String::new()
    };
    let body = format!(
        r#"{{"apiVersion":"meta.k8s.io/v1","kind":"PartialObjectMetadataList","metadata":{{"resourceVersion":"{}"{next}}},"items":[{}]}}"#,
        items.len(),
        items[start..end].join(",")
    );
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#,
    )
        .into_response()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let count: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let items: Vec<String> = (0..count)
        .map(|i| {
            format!(
            r#"{{"apiVersion":"meta.k8s.io/v1","kind":"PartialObjectMetadata","metadata":{{"name":"sa-{i}","namespace":"ns-{}","uid":"00000000-0000-4000-8000-{i:012}","resourceVersion":"{i}","creationTimestamp":"2026-01-01T00:00:00Z","annotations":{{"azure.workload.identity/client-id":"11111111-0000-4000-8000-{i:012}"}}}}}}"#,
            i % 100
            )
        })
        .collect();
    let list = Arc::new(items);
    let app = Router::new()
        .route("/api/v1/serviceaccounts", get(list_or_watch))
        .route("/api/v1/namespaces/{namespace}/serviceaccounts/{name}", get(not_found))
        .with_state(list);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!(
        "fake apiserver with {count} ServiceAccounts on http://{}",
        listener.local_addr().expect("address")
    );
    axum::serve(listener, app).await.expect("serve");
}
