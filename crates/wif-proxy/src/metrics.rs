//! The proxy's Prometheus metrics: requests by route and outcome, token exchanges by outcome
//! and their latency, how the token cache answered, and the ad-hoc client ids held.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

// Labels of static strings: counting a request allocates nothing (the hot path of a cached
// answer runs two of these).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: &'static str,
}

/// Counters and the exchange latency histogram, cheap to clone (they share their values).
#[derive(Debug, Clone)]
pub struct ProxyMetrics {
    requests: Family<RequestLabels, Counter>,
    exchanges: Family<OutcomeLabels, Counter>,
    exchange_seconds: Histogram,
    cache: Family<CacheLabels, Counter>,
    ad_hoc_held: Gauge,
    ad_hoc_evictions: Counter,
}

impl Default for ProxyMetrics {
    fn default() -> Self {
        ProxyMetrics {
            requests: Family::default(),
            exchanges: Family::default(),
            // 1 ms to about 33 s.
            exchange_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            cache: Family::default(),
            ad_hoc_held: Gauge::default(),
            ad_hoc_evictions: Counter::default(),
        }
    }
}

impl ProxyMetrics {
    /// Registers `wif_proxy_requests_total{route,outcome}`,
    /// `wif_proxy_token_exchanges_total{outcome}`, `wif_proxy_token_exchange_seconds` and
    /// `wif_proxy_token_cache_total{result}`, `wif_proxy_ad_hoc_identities` and
    /// `wif_proxy_ad_hoc_evictions_total`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = ProxyMetrics::default();
        registry.register(
            "wif_proxy_requests",
            "Requests to the proxy, by route and outcome",
            metrics.requests.clone(),
        );
        registry.register(
            "wif_proxy_token_exchanges",
            "Token exchanges with Entra ID started by the proxy's cache, by outcome",
            metrics.exchanges.clone(),
        );
        registry.register(
            "wif_proxy_token_exchange_seconds",
            "How long token exchanges with Entra ID took",
            metrics.exchange_seconds.clone(),
        );
        registry.register(
            "wif_proxy_token_cache",
            "Token requests answered from the cache (hit) or after an exchange (miss)",
            metrics.cache.clone(),
        );
        registry.register(
            "wif_proxy_ad_hoc_identities",
            "Client ids served that are none of the proxy's identities, held with their tokens (at most 64)",
            metrics.ad_hoc_held.clone(),
        );
        registry.register(
            "wif_proxy_ad_hoc_evictions",
            "Ad-hoc client ids evicted, least recently used first, to make room for another",
            metrics.ad_hoc_evictions.clone(),
        );
        metrics
    }

    /// One request answered.
    pub fn request(&self, route: &'static str, outcome: &'static str) {
        self.requests.get_or_create(&RequestLabels { route, outcome }).inc();
    }

    /// One exchange finished.
    pub fn exchange(&self, took: Duration, ok: bool) {
        self.exchange_seconds.observe(took.as_secs_f64());
        let outcome = if ok { "ok" } else { "failed" };
        self.exchanges.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// One cache lookup.
    pub fn cache(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache.get_or_create(&CacheLabels { result }).inc();
    }

    /// How many ad-hoc client ids are held now, and whether one was evicted to get there.
    pub fn ad_hoc(&self, held: usize, evicted: bool) {
        self.ad_hoc_held.set(i64::try_from(held).unwrap_or(i64::MAX));
        if evicted {
            self.ad_hoc_evictions.inc();
        }
    }

    /// The ad-hoc client ids held now (tests, diagnostics).
    pub fn ad_hoc_held(&self) -> i64 {
        self.ad_hoc_held.get()
    }

    /// Ad-hoc client ids evicted so far.
    pub fn ad_hoc_evictions(&self) -> u64 {
        self.ad_hoc_evictions.get()
    }

    /// Requests so far with this route and outcome (tests, diagnostics).
    pub fn request_count(&self, route: &'static str, outcome: &'static str) -> u64 {
        self.requests.get_or_create(&RequestLabels { route, outcome }).get()
    }

    /// Exchanges so far with this outcome (`ok`, `failed`).
    pub fn exchange_count(&self, outcome: &'static str) -> u64 {
        self.exchanges.get_or_create(&OutcomeLabels { outcome }).get()
    }

    /// Cache lookups so far with this result (`hit`, `miss`).
    pub fn cache_count(&self, result: &'static str) -> u64 {
        self.cache.get_or_create(&CacheLabels { result }).get()
    }
}
