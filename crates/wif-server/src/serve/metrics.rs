//! Connection counts for `/metrics`: how many connections are open on a listener and why
//! each one ended (timeouts, caps, refused tunnels), and how many requests timed out.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Connection counts for `/metrics`: how many are open and why each one ended.
#[derive(Debug, Clone, Default)]
pub struct ConnectionMetrics {
    pub(super) open: Gauge,
    closed: Family<Vec<(String, String)>, Counter>,
    pub(super) request_timeouts: Counter,
}

impl ConnectionMetrics {
    /// Registers `wif_connections_open`, `wif_connections_closed_total{reason}` and
    /// `wif_requests_timed_out_total`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = ConnectionMetrics::default();
        registry.register(
            "wif_connections_open",
            "Client connections open on the main listener",
            metrics.open.clone(),
        );
        registry.register(
            "wif_connections_closed",
            "Client connections ended, by reason (timeouts and caps included)",
            metrics.closed.clone(),
        );
        registry.register(
            "wif_requests_timed_out",
            "Requests answered 408 because they were not received and handled within the request timeout",
            metrics.request_timeouts.clone(),
        );
        metrics
    }

    /// Requests answered 408.
    pub fn request_timeout_count(&self) -> u64 {
        self.request_timeouts.get()
    }

    pub(super) fn closed(&self, reason: &str) {
        self.closed
            .get_or_create(&vec![("reason".to_owned(), reason.to_owned())])
            .inc();
    }

    /// How many connections ended for `reason` (tests and diagnostics).
    pub fn closed_count(&self, reason: &str) -> u64 {
        self.closed
            .get_or_create(&vec![("reason".to_owned(), reason.to_owned())])
            .get()
    }

    /// Connections open now.
    pub fn open_count(&self) -> i64 {
        self.open.get()
    }
}
