//! The reconciler's metrics: `wif_webhook_stranded_pods{reason}` (the leader's count, 0 on the
//! others), `wif_webhook_stranded_evictions_total{outcome}` and `wif_webhook_stranded_leader`.

use std::collections::BTreeMap;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use wif_core::stranded::StrandedReason;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The reconciler's metrics.
#[derive(Debug, Clone, Default)]
pub struct StrandedMetrics {
    stranded: Family<ReasonLabels, Gauge>,
    evictions: Family<OutcomeLabels, Counter>,
    leader: Gauge,
}

impl StrandedMetrics {
    /// Registers `wif_webhook_stranded_pods{reason}`, `wif_webhook_stranded_evictions_total{outcome}`
    /// and `wif_webhook_stranded_leader`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "wif_webhook_stranded_pods",
            "Labelled pods running without what the webhook injects, by reason (the leader's count)",
            self.stranded.clone(),
        );
        registry.register(
            "wif_webhook_stranded_evictions",
            "Evictions of stranded pods, by outcome (evicted, blocked by a PodDisruptionBudget, conflict: the pod changed since judged, error)",
            self.evictions.clone(),
        );
        registry.register(
            "wif_webhook_stranded_leader",
            "1 while this replica holds the stranded-pods lease",
            self.leader.clone(),
        );
    }

    pub(super) fn set_counts(&self, counts: &BTreeMap<StrandedReason, usize>) {
        for reason in REASONS {
            let count = counts.get(&reason).copied().unwrap_or(0);
            self.stranded
                .get_or_create(&ReasonLabels { reason: reason.label() })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }
}

impl StrandedMetrics {
    /// Counts one eviction's `outcome`.
    pub(super) fn evicted(&self, outcome: &'static str) {
        self.evictions.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Says whether this replica leads.
    pub(super) fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }
}

/// Every reason, so each has a gauge (0 included) from the first round.
const REASONS: [StrandedReason; 5] = [
    StrandedReason::NeverMutated,
    StrandedReason::ContainerMissed,
    StrandedReason::ServiceAccountChanged,
    StrandedReason::ServiceAccountMissing,
    StrandedReason::WouldBeDenied,
];
