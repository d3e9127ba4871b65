//! The proxy's Prometheus metrics: requests by route and outcome, token exchanges by outcome
//! and their latency, and how the token cache answered.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Counters and the exchange latency histogram, cheap to clone (they share their values).
#[derive(Debug, Clone)]
pub struct ProxyMetrics {
    requests: Family<Labels, Counter>,
    exchanges: Family<Labels, Counter>,
    exchange_seconds: Histogram,
    cache: Family<Labels, Counter>,
}

impl Default for ProxyMetrics {
    fn default() -> Self {
        ProxyMetrics {
            requests: Family::default(),
            exchanges: Family::default(),
            // 1 ms to about 33 s.
            exchange_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            cache: Family::default(),
        }
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

impl ProxyMetrics {
    /// Registers `wif_proxy_requests_total{route,outcome}`,
    /// `wif_proxy_token_exchanges_total{outcome}`, `wif_proxy_token_exchange_seconds` and
    /// `wif_proxy_token_cache_total{result}`.
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
        metrics
    }

    /// One request answered.
    pub fn request(&self, route: &str, outcome: &str) {
        self.requests
            .get_or_create(&labels(&[("route", route), ("outcome", outcome)]))
            .inc();
    }

    /// One exchange finished.
    pub fn exchange(&self, took: Duration, ok: bool) {
        self.exchange_seconds.observe(took.as_secs_f64());
        self.exchanges
            .get_or_create(&labels(&[("outcome", if ok { "ok" } else { "failed" })]))
            .inc();
    }

    /// One cache lookup.
    pub fn cache(&self, hit: bool) {
        self.cache
            .get_or_create(&labels(&[("result", if hit { "hit" } else { "miss" })]))
            .inc();
    }

    /// Requests so far with this route and outcome (tests, diagnostics).
    pub fn request_count(&self, route: &str, outcome: &str) -> u64 {
        self.requests
            .get_or_create(&labels(&[("route", route), ("outcome", outcome)]))
            .get()
    }

    /// Exchanges so far with this outcome (`ok`, `failed`).
    pub fn exchange_count(&self, outcome: &str) -> u64 {
        self.exchanges.get_or_create(&labels(&[("outcome", outcome)])).get()
    }

    /// Cache lookups so far with this result (`hit`, `miss`).
    pub fn cache_count(&self, result: &str) -> u64 {
        self.cache.get_or_create(&labels(&[("result", result)])).get()
    }
}
