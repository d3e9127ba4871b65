//! The one assembly of the emulator: `wif sts`, `wif up`, the demo and the tests all build it
//! here, from a checked [`Directory`], a signing key, the URL clients reach it at and a clock,
//! with whatever [`Plane`] is served beside the token endpoint (the local Azure plane,
//! `wif_azure::AzurePlane`). It binds the listeners a caller names ([`Emulator::bind`]) or
//! runs on loopback with a CA made for it until dropped ([`Emulator::start_local`]). An
//! emulator whose URL was not given learns it from the port it bound. A port it cannot
//! bind is named with its role: the vault `CONNECT` proxy's is [`EmulatorError::VaultProxy`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use prometheus_client::registry::Registry;
use wif_core::clock::{Clock, SystemClock};
use wif_jose::{Algorithm, SigningKey};
use wif_server::{BoundService, LocalOptions, LocalServer, ServiceOptions, TunnelPolicy};

use crate::directory::Directory;
use crate::server::{StsState, router};

/// What is served beside the token endpoint, on the same listeners and with the same key: the
/// local Azure plane is one. The emulator calls [`Plane::serve`] once, when it starts.
pub trait Plane: Send + 'static {
    /// Names the emulator's certificate must carry for this plane (its hosts without DNS).
    fn certificate_names(&self) -> Vec<String>;

    /// The hosts this plane's `CONNECT` front lets through, when it has one.
    fn tunnel_policy(&self) -> Option<TunnelPolicy>;

    /// The emulator's router with this plane's routes added: given the emulator's state (its
    /// directory, key, URL and clock) and its metrics registry.
    fn serve(self: Box<Self>, emulator: &Arc<StsState>, token_endpoint: Router, registry: &mut Registry) -> Router;
}

/// Why the emulator did not start; the cause is kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// A signing key could not be made.
    #[error("cannot make the emulator's signing key")]
    Key(#[from] wif_jose::KeyError),
    /// A CA file its directory names cannot be read.
    #[error("the directory's issuers cannot be prepared")]
    Issuers(#[from] wif_issuer::FetchError),
    /// Its listeners could not be bound, or its certificate made.
    #[error("cannot start the emulator's server")]
    Serve(#[from] wif_server::ServiceError),
    /// The plane's `CONNECT` front (`wif sts --vault-proxy-addr`) cannot listen on `addr`:
    /// named apart from the emulator's own port, which is not the one to free.
    // The cause is the source, not part of the text: printing a chain would say it twice.
    #[error("cannot listen for the vault CONNECT proxy on {addr}")]
    VaultProxy {
        /// The proxy's address.
        addr: SocketAddr,
        /// Why (the port is taken, the address is not this host's).
        #[source]
        source: std::io::Error,
    },
}

impl EmulatorError {
    /// The server's error, the `CONNECT` front's bind failure told apart.
    fn of_service(error: wif_server::ServiceError) -> Self {
        match error {
            wif_server::ServiceError::Listen {
                listener: wif_server::Listener::Tunnel,
                addr,
                source,
            } => EmulatorError::VaultProxy { addr, source },
            other => EmulatorError::Serve(other),
        }
    }
}

/// The emulator, before it starts.
pub struct Emulator {
    directory: Directory,
    signing_key: Option<SigningKey>,
    public_url: Option<String>,
    clock: Arc<dyn Clock>,
    plane: Option<Box<dyn Plane>>,
    wrap: Option<Box<dyn FnOnce(Router) -> Router + Send>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("tenants", &self.directory.tenants.len())
            .field("public_url", &self.public_url)
            .field("plane", &self.plane.is_some())
            .finish_non_exhaustive()
    }
}

/// A bound emulator: its state, and its listeners, which serve once [`BoundService::serve`] runs.
#[derive(Debug)]
pub struct BoundEmulator {
    /// The emulator's state.
    pub state: Arc<StsState>,
    /// Its listeners.
    pub service: BoundService,
}

/// An emulator serving on 127.0.0.1 until dropped.
#[derive(Debug)]
pub struct LocalEmulator {
    /// Its base URL (`https://127.0.0.1:PORT`): the authority host to give clients.
    pub url: String,
    /// The CA its certificate chains to (PEM): what clients must trust.
    pub ca_pem: String,
    /// Its state (directory, metrics), for inspection.
    pub state: Arc<StsState>,
    /// Its plane's `CONNECT` front (`HTTPS_PROXY=http://ADDR`), when the plane has one.
    pub tunnel_address: Option<SocketAddr>,
    _server: LocalServer,
}

impl Emulator {
    /// The emulator of `directory`, with a new signing key, the system clock and nothing beside
    /// the token endpoint until told.
    ///
    /// ```
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let directory = wif_sts::Directory::from_yaml("tenants: [{tenantId: aaaaaaaa-0000-4000-8000-00000000000a}]\n", ".".as_ref())?;
    /// let emulator = wif_sts::Emulator::new(directory).start_local().await?;
    /// println!("AZURE_AUTHORITY_HOST={} (trust its CA: {} bytes)", emulator.url, emulator.ca_pem.len());
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().expect("a runtime").block_on(example()).expect("the example runs");
    /// ```
    pub fn new(directory: Directory) -> Self {
        Emulator {
            directory,
            signing_key: None,
            public_url: None,
            clock: Arc::new(SystemClock),
            plane: None,
            wrap: None,
        }
    }

    /// Signs tokens with `key` (kept across restarts, tokens clients cached stay valid).
    #[must_use]
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// The URL clients reach it at (behind a port-forward or a proxy): every advertised URL and
    /// token `iss` uses it, whatever `Host` a request names.
    #[must_use]
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// What "now" is (tests move time with a [`wif_core::clock::ManualClock`]).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Serves `plane` beside the token endpoint.
    #[must_use]
    pub fn plane(mut self, plane: impl Plane) -> Self {
        self.plane = Some(Box::new(plane));
        self
    }

    /// Wraps the whole router (a counting layer in tests).
    #[must_use]
    pub fn wrap(mut self, wrap: impl FnOnce(Router) -> Router + Send + 'static) -> Self {
        self.wrap = Some(Box::new(wrap));
        self
    }

    /// Names the emulator's certificate must carry besides the listen address (its plane's hosts).
    pub fn certificate_names(&self) -> Vec<String> {
        self.plane.as_ref().map(|p| p.certificate_names()).unwrap_or_default()
    }

    /// The state, the router and the plane's tunnel policy, with metrics in `registry`.
    fn assemble(self, registry: &mut Registry) -> Result<(Arc<StsState>, Router, Option<TunnelPolicy>), EmulatorError> {
        let signing_key = match self.signing_key {
            Some(key) => key,
            None => SigningKey::generate(Algorithm::RS256)?,
        };
        let url = self.public_url.clone().unwrap_or_default();
        let state = StsState::new(self.directory, signing_key, url, registry, self.clock)?;
        let mut routes = router(Arc::clone(&state));
        let mut tunnel = None;
        if let Some(plane) = self.plane {
            tunnel = plane.tunnel_policy();
            routes = plane.serve(&state, routes, registry);
        }
        if let Some(wrap) = self.wrap {
            routes = wrap(routes);
        }
        Ok((state, routes, tunnel))
    }

    /// Binds `options`' listeners, and the plane's `CONNECT` front on `tunnel` when given.
    pub async fn bind(
        self,
        mut options: ServiceOptions,
        tunnel: Option<SocketAddr>,
    ) -> Result<BoundEmulator, EmulatorError> {
        let configured_url = self.public_url.is_some();
        let mut registry = Registry::default();
        let (state, routes, policy) = self.assemble(&mut registry)?;
        options.tunnel = tunnel.zip(policy);
        let service = wif_server::bind(options, routes, registry)
            .await
            .map_err(EmulatorError::of_service)?;
        if !configured_url {
            let mut reached = service.address;
            if reached.ip().is_unspecified() {
                reached.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            state.set_public_url(format!("https://{reached}"));
        }
        Ok(BoundEmulator { state, service })
    }

    /// Runs on an ephemeral loopback port with a CA made for it (and the plane's `CONNECT`
    /// front on another), until the returned emulator is dropped. A URL given with
    /// [`Emulator::public_url`] is kept: tokens and documents name it, `url` is the loopback one.
    pub async fn start_local(self) -> Result<LocalEmulator, EmulatorError> {
        let names = self.certificate_names();
        let configured_url = self.public_url.is_some();
        let mut registry = Registry::default();
        let (state, routes, tunnel) = self.assemble(&mut registry)?;
        let options = LocalOptions {
            ca_name: "wif local emulator CA".into(),
            extra_names: names,
            tunnel,
            ..LocalOptions::default()
        };
        let server = LocalServer::start_with(routes, registry, options, |bound| {
            if !configured_url {
                state.set_public_url(format!("https://{}", bound.address));
            }
        })
        .await
        .map_err(EmulatorError::of_service)?;
        Ok(LocalEmulator {
            url: server.url(),
            ca_pem: server.ca_pem.clone(),
            state,
            tunnel_address: server.tunnel_address,
            _server: server,
        })
    }
}

/// The emulator in-process for tests (ours, and users' own), from a directory's YAML.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use std::path::Path;

    use super::{Emulator, EmulatorError, LocalEmulator};
    use crate::directory::{Directory, DirectoryError};

    /// Why a test emulator did not start.
    #[derive(Debug, thiserror::Error)]
    #[non_exhaustive]
    pub enum TestingError {
        /// The YAML is not a directory.
        #[error(transparent)]
        Directory(#[from] DirectoryError),
        /// It did not start.
        #[error(transparent)]
        Start(#[from] EmulatorError),
    }

    impl LocalEmulator {
        /// Starts one with the directory in `yaml` (relative paths resolved against `base_dir`).
        pub async fn start(yaml: &str, base_dir: &Path) -> Result<Self, TestingError> {
            Self::start_with(yaml, base_dir, |router| router).await
        }

        /// As [`LocalEmulator::start`], letting the caller wrap the router (a counting layer).
        pub async fn start_with(
            yaml: &str,
            base_dir: &Path,
            wrap: impl FnOnce(axum::Router) -> axum::Router + Send + 'static,
        ) -> Result<Self, TestingError> {
            let directory = Directory::from_yaml(yaml, base_dir)?;
            Ok(Emulator::new(directory).wrap(wrap).start_local().await?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plane with a `CONNECT` front and no routes of its own.
    struct Fronted;

    impl Plane for Fronted {
        fn certificate_names(&self) -> Vec<String> {
            Vec::new()
        }

        fn tunnel_policy(&self) -> Option<TunnelPolicy> {
            Some(TunnelPolicy::new("vault hosts", |_| true))
        }

        fn serve(self: Box<Self>, _: &Arc<StsState>, token_endpoint: Router, _: &mut Registry) -> Router {
            token_endpoint
        }
    }

    #[tokio::test]
    async fn a_taken_vault_proxy_port_is_named_as_the_proxys() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let directory = Directory::from_yaml(
            "tenants: [{tenantId: aaaaaaaa-0000-4000-8000-00000000000a}]\n",
            ".".as_ref(),
        )
        .unwrap();
        let tls = wif_server::LocalTls::new("test CA", &[]).unwrap();
        let options = ServiceOptions::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            wif_server::TlsSource::Given(tls.key),
            "1.2",
        );
        let error = Emulator::new(directory)
            .plane(Fronted)
            .bind(options, Some(addr))
            .await
            .unwrap_err();
        let EmulatorError::VaultProxy { addr: named, source } = &error else {
            panic!("not VaultProxy: {error:?}");
        };
        assert_eq!(*named, addr);
        assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        assert_eq!(
            error.to_string(),
            format!("cannot listen for the vault CONNECT proxy on {addr}")
        );
        drop(taken);
    }
}
