//! The one "server on loopback with a CA made for it, stopped on drop": what the demo, the
//! in-process emulator and every server test start. It binds 127.0.0.1 (port 0 unless told),
//! makes a fresh CA and a certificate for the loopback names (and any others asked for),
//! serves the router with the same limits and admin listener as any server, and stops when
//! dropped. Clients trust [`LocalServer::ca_pem`].

use std::net::SocketAddr;

use axum::Router;
use prometheus_client::registry::Registry;

use crate::limits::ConnectionLimits;
use crate::pki::LocalTls;
use crate::service::{BoundService, ServiceError, ServiceOptions, TlsSource, bind};
use crate::tunnel::TunnelPolicy;

/// How a [`LocalServer`] starts; [`LocalOptions::default`] is port 0, TLS 1.2 and up, the
/// default limits, no `CONNECT` front, ready once serving.
pub struct LocalOptions {
    /// The main address (`127.0.0.1:0` by default; a fixed port when a URL must name it first).
    pub addr: SocketAddr,
    /// The CA's common name.
    pub ca_name: String,
    /// Names the certificate carries besides the loopback ones.
    pub extra_names: Vec<String>,
    /// `1.2` or `1.3`.
    pub tls_min_version: String,
    /// The bounds on every client.
    pub limits: ConnectionLimits,
    /// A `CONNECT` front on a port of its own for the hosts the policy allows.
    pub tunnel: Option<TunnelPolicy>,
    /// A CA and key made beforehand (a client must trust the CA before the server exists);
    /// a new CA named `ca_name` for `extra_names` when `None`.
    pub tls: Option<LocalTls>,
    /// A further readiness condition for `/readyz` (`None`: ready once serving).
    pub readiness_gate: Option<crate::admin::ReadinessGate>,
}

impl std::fmt::Debug for LocalOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalOptions")
            .field("addr", &self.addr)
            .field("ca_name", &self.ca_name)
            .field("extra_names", &self.extra_names)
            .field("tls_min_version", &self.tls_min_version)
            .finish_non_exhaustive()
    }
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ca_name: "wif local CA".into(),
            extra_names: Vec::new(),
            tls_min_version: "1.2".into(),
            limits: ConnectionLimits::default(),
            tunnel: None,
            tls: None,
            readiness_gate: None,
        }
    }
}

/// A server on loopback, serving until dropped.
#[derive(Debug)]
pub struct LocalServer {
    /// Its main (HTTPS) address.
    pub address: SocketAddr,
    /// Its admin address (`/healthz`, `/readyz`, `/metrics`, plain HTTP).
    pub health_address: SocketAddr,
    /// Its `CONNECT` front, when asked for.
    pub tunnel_address: Option<SocketAddr>,
    /// The CA its certificate chains to (PEM).
    pub ca_pem: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl LocalServer {
    /// Starts `router` on loopback.
    ///
    /// ```
    /// # async fn example() -> Result<(), wif_server::ServiceError> {
    /// use wif_server::local::{LocalOptions, LocalServer};
    /// let router = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    /// let server = LocalServer::start(router, Default::default(), LocalOptions::default()).await?;
    /// println!("{} (trust {} bytes of CA)", server.url(), server.ca_pem.len());
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().expect("a runtime").block_on(example()).expect("the example runs");
    /// ```
    pub async fn start(router: Router, registry: Registry, options: LocalOptions) -> Result<Self, ServiceError> {
        Self::start_with(router, registry, options, |_| {}).await
    }

    /// As [`LocalServer::start`], running `before_serving` once the ports are bound and before
    /// the first request is taken (a server whose URL names its own port learns it here).
    pub async fn start_with(
        router: Router,
        registry: Registry,
        options: LocalOptions,
        before_serving: impl FnOnce(&BoundService),
    ) -> Result<Self, ServiceError> {
        let tls = match options.tls {
            Some(tls) => tls,
            None => LocalTls::new(&options.ca_name, &options.extra_names)?,
        };
        let mut service = ServiceOptions::new(
            options.addr,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            TlsSource::Given(tls.key),
            &options.tls_min_version,
        );
        service.limits = options.limits;
        service.readiness_gate = options.readiness_gate;
        service.tunnel = options
            .tunnel
            .map(|policy| (SocketAddr::from(([127, 0, 0, 1], 0)), policy));
        let bound = bind(service, router, registry).await?;
        before_serving(&bound);
        let (address, health_address, tunnel_address) = (bound.address, bound.health_address, bound.tunnel_address);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(bound.serve(async move {
            let _ = stopped.await;
        }));
        Ok(LocalServer {
            address,
            health_address,
            tunnel_address,
            ca_pem: tls.ca_pem,
            stop: Some(stop),
        })
    }

    /// Its base URL, `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// Stops it now (dropping it does the same).
    pub fn stop(mut self) {
        self.send_stop();
    }

    fn send_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.send_stop();
    }
}
