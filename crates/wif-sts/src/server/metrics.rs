//! The emulator's metrics: token requests by endpoint and outcome, and their duration.

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

/// The emulator's metrics.
#[derive(Debug, Clone)]
pub struct StsMetrics {
    pub(super) requests: Family<OutcomeLabels, Counter>,
    pub(super) duration: Histogram,
}

impl StsMetrics {
    /// Registers them.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = StsMetrics {
            requests: Family::default(),
            duration: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
        };
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
}
