//! The floor of an IMDS answer: a plain HTTP server on the proxy's own stack (wif-server's
//! accept loop and limits, hyper, axum, mimalloc, two worker threads) answering every request
//! with one fixed body, reading nothing. scripts/bench-proxy loads it next to the proxy and
//! gives it the very answer the proxy returns, so both move the same bytes.
//!
//! cargo run --release -p wif-proxy --example fixed_imds -- [RESPONSE_FILE]

use axum::Router;
use prometheus_client::registry::Registry;
use wif_server::{ConnectionLimits, ConnectionMetrics, Serving};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let body: &'static str = match std::env::args().nth(1) {
        Some(file) => std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("reading {file}: {e}"))
            .leak(),
        None => r#"{"access_token":"x","expires_in":"3599","token_type":"Bearer"}"#,
    };
    let runtime = wif_server::runtime::build(wif_server::runtime::SERVER).expect("runtime");
    runtime.block_on(async move {
        let router = Router::new()
            .fallback(move || async move { ([("content-type", "application/json; charset=utf-8")], body) });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("floor listening on http://{}", listener.local_addr().expect("address"));
        let serving = Serving {
            tunnel: None,
            tls: None,
            limits: ConnectionLimits::default(),
            metrics: ConnectionMetrics::register(&mut Registry::default()),
        };
        wif_server::serve_https(listener, serving, router, wif_server::shutdown_signal()).await;
    });
}
