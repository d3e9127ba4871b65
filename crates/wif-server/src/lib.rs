//! wif-server: what every wif server shares. It owns the TLS crypto provider (aws-lc-rs,
//! installed in one place), server certificates loaded from a directory and reloaded when the
//! files change, a self-signed PKI for local use and tests, the `/healthz`, `/readyz` and
//! `/metrics` endpoints, an HTTPS accept loop that bounds every client (timeouts, a connection
//! cap) and drains on shutdown, the `CONNECT` front for hosts without DNS, the one loopback
//! server with a CA made for it ([`local`]) and the one runtime builder ([`runtime`]). It knows
//! nothing of webhooks, issuers or tokens: those routers are handed in.

pub mod admin;
pub mod body;
pub mod limits;
pub mod local;
pub mod pki;
pub mod runtime;
pub mod serve;
pub mod service;
pub mod task;
pub mod tls;
pub mod trust_store;
pub mod tunnel;

pub use admin::{AdminState, admin_router};
pub use limits::ConnectionLimits;
pub use local::{LocalOptions, LocalServer};
pub use pki::LocalTls;
pub use serve::{ConnectionMetrics, Serving, serve_https, shutdown_signal};
pub use service::{BoundService, Listener, ServiceError, ServiceOptions, TlsSource, bind};
pub use task::supervise;
pub use tls::{CertificateSource, TlsError, install_crypto_provider};
pub use tunnel::TunnelPolicy;
