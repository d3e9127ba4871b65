//! A whole HTTPS service: the main listener over TLS and the admin listener (`/healthz`,
//! `/readyz`, `/metrics`) in plain HTTP, bound first so callers learn the real ports (port 0
//! works), then served until a shutdown signal, draining in-flight requests.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use prometheus_client::registry::Registry;
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;

use crate::admin::{AdminState, admin_router};
use crate::limits::ConnectionLimits;
use crate::pki::LocalTls;
use crate::serve::{ConnectionMetrics, Serving, serve_https};
use crate::tls::{CertificateSource, ReloadingResolver, TlsError, server_config, watch_certificates};

/// Where the serving certificate comes from.
#[derive(Debug)]
pub enum TlsSource {
    /// `tls.crt` and `tls.key` in a directory, reloaded when they change.
    CertDir(PathBuf),
    /// A throwaway CA and certificate for loopback names (plus `extra_names`); the CA is
    /// written to `ca_out` for clients.
    SelfSigned {
        /// Where to write the CA certificate.
        ca_out: PathBuf,
        /// More DNS names or IPs for the certificate.
        extra_names: Vec<String>,
    },
    /// A key pair made by the caller (in-process tests and the demo).
    Given(CertifiedKey),
}

/// How to run the service.
pub struct ServiceOptions {
    /// Main (HTTPS) address.
    pub addr: SocketAddr,
    /// Admin (plain HTTP) address.
    pub health_addr: SocketAddr,
    /// Certificate source.
    pub tls: TlsSource,
    /// `1.2` or `1.3`.
    pub tls_min_version: String,
    /// A second plain-HTTP address for `/metrics` (upstream's `--metrics-addr`), besides the
    /// admin address.
    pub metrics_addr: Option<SocketAddr>,
    /// How often a `CertDir` certificate is checked for changes.
    pub reload_interval: Duration,
    /// A further readiness condition (`None` when ready).
    pub readiness_gate: Option<crate::admin::ReadinessGate>,
    /// The bounds on every client, of the main and the admin listeners alike.
    pub limits: ConnectionLimits,
    /// A third listener, a `CONNECT` proxy for the hosts its policy allows, whose tunnels
    /// the main router serves over TLS ([`crate::tunnel`]).
    pub tunnel: Option<(SocketAddr, crate::tunnel::TunnelPolicy)>,
    /// How long the service keeps accepting after the shutdown signal, not ready all the while,
    /// before it stops and drains: behind a Kubernetes Service, callers (the API server calling
    /// a webhook) keep dialling a terminating pod until its endpoint is gone, and a closed
    /// port then is a refused call.
    pub shutdown_delay: Duration,
}

impl std::fmt::Debug for ServiceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceOptions")
            .field("addr", &self.addr)
            .field("health_addr", &self.health_addr)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ServiceOptions {
    /// Options with the defaults for the rest: no separate metrics address, reload every 5 s,
    /// [`ConnectionLimits::default`].
    pub fn new(addr: SocketAddr, health_addr: SocketAddr, tls: TlsSource, tls_min_version: &str) -> Self {
        ServiceOptions {
            addr,
            health_addr,
            tls,
            tls_min_version: tls_min_version.to_owned(),
            metrics_addr: None,
            reload_interval: Duration::from_secs(5),
            readiness_gate: None,
            limits: ConnectionLimits::default(),
            tunnel: None,
            shutdown_delay: Duration::ZERO,
        }
    }
}

/// A failure to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// TLS material.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A local CA and its key.
    #[error(transparent)]
    LocalTls(#[from] crate::pki::LocalTlsError),
    /// One of its listeners cannot be bound (the port is taken, the address is not this
    /// host's): which one and where, so a person frees the right port.
    // The cause is the source, not part of the text: printing a chain would say it twice.
    #[error("cannot listen {}on {addr}", .listener.purpose())]
    Listen {
        /// Which listener.
        listener: Listener,
        /// The address it was to listen on.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Writing a file or reading a bound address.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// The listeners a service binds, named in [`ServiceError::Listen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Listener {
    /// The main (HTTPS) listener.
    Main,
    /// The admin listener (`/healthz`, `/readyz`, `/metrics`).
    Admin,
    /// The separate `/metrics` listener.
    Metrics,
    /// The `CONNECT` proxy ([`ServiceOptions::tunnel`]).
    Tunnel,
}

impl Listener {
    /// What the listener is for, as the error's words put it (the main one needs none).
    fn purpose(self) -> &'static str {
        match self {
            Listener::Main => "",
            Listener::Admin => "for /healthz, /readyz and /metrics ",
            Listener::Metrics => "for /metrics ",
            Listener::Tunnel => "for the CONNECT proxy ",
        }
    }
}

/// A service bound to its ports, not yet serving.
pub struct BoundService {
    /// The main address.
    pub address: SocketAddr,
    /// The admin address.
    pub health_address: SocketAddr,
    /// The separate metrics address, when asked for.
    pub metrics_address: Option<SocketAddr>,
    /// Readiness and metrics state.
    pub admin: AdminState,
    /// Connection counts of the main listener.
    pub connections: ConnectionMetrics,
    /// The `CONNECT` listener's address, when asked for.
    pub tunnel_address: Option<SocketAddr>,
    limits: ConnectionLimits,
    shutdown_delay: Duration,
    tunnel: Option<(TcpListener, crate::tunnel::TunnelPolicy)>,
    listener: TcpListener,
    health: TcpListener,
    metrics: Option<TcpListener>,
    tls: Arc<rustls::ServerConfig>,
    watch: Option<(CertificateSource, Arc<ReloadingResolver>, Duration)>,
    router: Router,
}

impl std::fmt::Debug for BoundService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundService")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Loads or makes the certificate, and binds both listeners.
pub async fn bind(
    options: ServiceOptions,
    router: Router,
    mut registry: Registry,
) -> Result<BoundService, ServiceError> {
    let connections = ConnectionMetrics::register(&mut registry);
    let (key, source) = match options.tls {
        TlsSource::CertDir(dir) => {
            let source = CertificateSource::in_dir(&dir);
            (source.load()?, Some(source))
        }
        TlsSource::SelfSigned { ca_out, extra_names } => {
            let tls = LocalTls::new("wif local CA", &extra_names)?;
            std::fs::write(&ca_out, &tls.ca_pem).map_err(|source| ServiceError::Io {
                what: format!("cannot write {}", ca_out.display()),
                source,
            })?;
            (tls.key, None)
        }
        TlsSource::Given(key) => (key, None),
    };
    let resolver = ReloadingResolver::new(key);
    let tls = server_config(resolver.clone(), &options.tls_min_version)?;
    let bind = |listener: Listener, addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|source| ServiceError::Listen { listener, addr, source })
    };
    let listener = bind(Listener::Main, options.addr).await?;
    let health = bind(Listener::Admin, options.health_addr).await?;
    let metrics = match options.metrics_addr {
        Some(addr) => Some(bind(Listener::Metrics, addr).await?),
        None => None,
    };
    let tunnel = match options.tunnel {
        Some((addr, policy)) => Some((bind(Listener::Tunnel, addr).await?, policy)),
        None => None,
    };
    let io = |source| ServiceError::Io {
        what: "cannot read the bound address".into(),
        source,
    };
    Ok(BoundService {
        address: listener.local_addr().map_err(io)?,
        health_address: health.local_addr().map_err(io)?,
        metrics_address: metrics.as_ref().map(TcpListener::local_addr).transpose().map_err(io)?,
        tunnel_address: tunnel.as_ref().map(|(l, _)| l.local_addr()).transpose().map_err(io)?,
        admin: match options.readiness_gate {
            Some(gate) => AdminState::new(registry, "starting").with_gate(gate),
            None => AdminState::new(registry, "starting"),
        },
        connections,
        limits: options.limits,
        shutdown_delay: options.shutdown_delay,
        tunnel,
        listener,
        health,
        metrics,
        tls,
        watch: source.map(|s| (s, resolver, options.reload_interval)),
        router,
    })
}

impl BoundService {
    /// Serves until `shutdown` resolves: ready at once, not ready from then on; still accepting
    /// for the options' `shutdown_delay`, then stops accepting and drains.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) {
        if let Some((source, resolver, interval)) = self.watch {
            tokio::spawn(watch_certificates(source, resolver, interval));
        }
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut admin_tasks = Vec::new();
        for listener in std::iter::once(self.health).chain(self.metrics) {
            let router = admin_router(self.admin.clone());
            let mut stop = stop_rx.clone();
            let serving = Serving {
                tunnel: None,
                tls: None,
                limits: self.limits,
                metrics: ConnectionMetrics::default(),
            };
            admin_tasks.push(tokio::spawn(serve_https(listener, serving, router, async move {
                let _ = stop.changed().await;
            })));
        }
        if let Some((listener, policy)) = self.tunnel {
            let mut stop = stop_rx.clone();
            let serving = Serving {
                tls: Some(Arc::clone(&self.tls)),
                limits: self.limits,
                metrics: ConnectionMetrics::default(),
                tunnel: Some(policy),
            };
            admin_tasks.push(tokio::spawn(serve_https(
                listener,
                serving,
                self.router.clone(),
                async move {
                    let _ = stop.changed().await;
                },
            )));
        }
        self.admin.set_ready();
        let admin = self.admin.clone();
        let serving = Serving {
            tunnel: None,
            tls: Some(self.tls),
            limits: self.limits,
            metrics: self.connections,
        };
        let delay = self.shutdown_delay;
        serve_https(self.listener, serving, self.router, async move {
            shutdown.await;
            admin.set_not_ready("shutting down");
            if !delay.is_zero() {
                tracing::info!(?delay, "shutting down: still accepting while callers stop routing here");
                tokio::time::sleep(delay).await;
            }
        })
        .await;
        let _ = stop_tx.send(true);
        for task in admin_tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "an admin listener's task failed");
            }
        }
    }
}

#[cfg(test)]
mod tests;
