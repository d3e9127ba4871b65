//! The floor of an admission: a TLS server on the same stack (wif-server, rustls, hyper,
//! axum) answering every POST with one fixed AdmissionReview, no decoding, no planning.
//! scripts/bench-webhook loads it next to the webhook and gives it the very answer the
//! webhook returns for the benchmark's pod, so both move the same bytes over the wire.
//!
//! cargo run --release -p wif-webhook --example fixed_review -- CA_OUT_FILE [RESPONSE_FILE]

use std::path::PathBuf;

use axum::Router;
use axum::routing::post;
use prometheus_client::registry::Registry;
use wif_server::{ServiceOptions, TlsSource};

// One worker thread, as `wif webhook` runs by default.
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let ca_out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "floor-ca.pem".into()));
    let body: &'static str = match std::env::args().nth(2) {
        Some(file) => std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("reading {file}: {e}"))
            .leak(),
        None => {
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"bench","allowed":true,"patchType":"JSONPatch","patch":"W10="}}"#
        }
    };
    let router = Router::new().route(
        "/{*path}",
        // The request body is read (and dropped): an unread body makes hyper close the
        // connection after the answer, and every request would pay a new TLS handshake.
        post(move |_request: axum::body::Bytes| async move { ([("content-type", "application/json")], body) }),
    );
    let loopback = "127.0.0.1:0".parse().expect("address");
    let options = ServiceOptions::new(
        loopback,
        loopback,
        TlsSource::SelfSigned {
            ca_out,
            extra_names: vec![],
        },
        "1.3",
    );
    let bound = wif_server::bind(options, router, Registry::default())
        .await
        .expect("bind");
    println!("floor listening on https://{}", bound.address);
    bound.serve(wif_server::shutdown_signal()).await;
}
