//! `/healthz`, `/readyz` and Prometheus `/metrics`, served on their own address. Readiness is
//! a flag the server sets once it can answer (certificates loaded, caches synced).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;

/// Shared by the admin endpoints and the server they describe.
#[derive(Clone)]
pub struct AdminState {
    ready: Arc<AtomicBool>,
    reason: Arc<std::sync::RwLock<String>>,
    registry: Arc<Registry>,
    gate: Option<ReadinessGate>,
}

/// A further readiness condition: `None` when ready, else why not.
pub type ReadinessGate = Arc<dyn Fn() -> Option<String> + Send + Sync>;

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

impl AdminState {
    /// Not ready yet, saying `reason`, with `registry`'s metrics.
    pub fn new(registry: Registry, reason: &str) -> Self {
        AdminState {
            ready: Arc::new(AtomicBool::new(false)),
            reason: Arc::new(std::sync::RwLock::new(reason.to_owned())),
            registry: Arc::new(registry),
            gate: None,
        }
    }

    /// Ready only while `gate` also says so (a cache that must sync first).
    pub fn with_gate(mut self, gate: ReadinessGate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Why it is not ready, `None` when it is.
    pub fn not_ready_reason(&self) -> Option<String> {
        if !self.ready.load(Ordering::SeqCst) {
            return Some(self.reason.read().map(|r| r.clone()).unwrap_or_default());
        }
        self.gate.as_ref().and_then(|gate| gate())
    }

    /// Marks the server ready.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Marks the server not ready (draining), saying why.
    pub fn set_not_ready(&self, reason: &str) {
        if let Ok(mut r) = self.reason.write() {
            *r = reason.to_owned();
        }
        self.ready.store(false, Ordering::SeqCst);
    }

    /// Whether it is ready.
    pub fn is_ready(&self) -> bool {
        self.not_ready_reason().is_none()
    }
}

/// `/healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `/readyz`: 200 `ok`, or 503 with the reason (servers with their own routing call it).
pub async fn readyz(State(state): State<AdminState>) -> impl IntoResponse {
    // The reason is the one that holds now: the server's own (starting, draining) or the
    // gate's (a cache not synced yet).
    match state.not_ready_reason() {
        None => (StatusCode::OK, "ok".to_owned()),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason),
    }
}

/// `/metrics` in the OpenMetrics text format.
pub async fn metrics(State(state): State<AdminState>) -> impl IntoResponse {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            "metrics encoding failed".into(),
        ),
    }
}

/// The admin router.
pub fn admin_router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}
