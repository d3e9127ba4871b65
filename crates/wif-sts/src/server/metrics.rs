//! The emulator's metrics: token requests by endpoint and outcome, their duration, and the
//! local Azure plane's answers by surface and status.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct OutcomeLabels {
    pub(super) endpoint: &'static str,
    pub(super) outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SurfaceLabels {
    surface: &'static str,
    status: u16,
}

/// The emulator's metrics.
#[derive(Debug, Clone)]
pub struct StsMetrics {
    pub(super) requests: Family<OutcomeLabels, Counter>,
    pub(super) duration: Histogram,
    azure_requests: Family<SurfaceLabels, Counter>,
}

impl StsMetrics {
    /// Registers them.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = StsMetrics {
            requests: Family::default(),
            duration: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            azure_requests: Family::default(),
        };
        registry.register(
            "wif_sts_azure_requests",
            "Requests to the local Azure plane by surface (arm, graph, vault) and HTTP status",
            metrics.azure_requests.clone(),
        );
        registry.register(
            "wif_sts_token_requests",
            "Token requests by endpoint and outcome (issued, or the AADSTS code)",
            metrics.requests.clone(),
        );
        registry.register(
            "wif_sts_token_request_duration_seconds",
            "Time to answer a token request",
            metrics.duration.clone(),
        );
        metrics
    }

    /// Counts one answer of the local Azure plane.
    pub(crate) fn count_azure(&self, surface: &'static str, status: u16) {
        self.azure_requests
            .get_or_create(&SurfaceLabels { surface, status })
            .inc();
    }

    /// Answers of the local Azure plane so far with `status` from `surface` (tests, diagnostics).
    pub fn azure_count(&self, surface: &'static str, status: u16) -> u64 {
        self.azure_requests
            .get_or_create(&SurfaceLabels { surface, status })
            .get()
    }
}
