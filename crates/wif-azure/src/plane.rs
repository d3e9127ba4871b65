//! The local Azure plane as the emulator serves it ([`AzurePlane`], a [`wif_sts::Plane`]): on
//! the emulator's own listeners and key, which surface answers a request. A vault host
//! (`V.<vault suffix>`) is the vault's whatever its path; otherwise the token endpoint's routes
//! come first, and what they leave goes to ARM or Graph by its first path segment (matched
//! case-insensitively, as Azure does). Every answer is counted by surface and status.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::registry::Registry;
use wif_server::TunnelPolicy;
use wif_sts::StsState;
use wif_sts::directory::Directory;

use crate::config::AzureConfig;
use crate::state::{AzureMetrics, AzureState};
use crate::store::{InvalidConfig, Store, checked};

/// The local Azure plane, before the emulator starts it.
pub struct AzurePlane {
    config: AzureConfig,
    base_dir: PathBuf,
    state_file: Option<PathBuf>,
    admin_token: Option<String>,
    vault_dns_suffix: String,
    storage_suffix: String,
    production_names: bool,
    started: Arc<OnceLock<Arc<AzureState>>>,
    beside: Option<Beside>,
}

// By hand: the admin token (and the state's secrets) stay out of any debug output.
impl std::fmt::Debug for AzurePlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzurePlane")
            .field("state_file", &self.state_file)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<redacted>"))
            .field("vault_dns_suffix", &self.vault_dns_suffix)
            .field("storage_suffix", &self.storage_suffix)
            .field("production_names", &self.production_names)
            .finish_non_exhaustive()
    }
}

/// A router served beside the plane under its own path, made once the plane's state exists
/// (the operator's console, which lives in a crate of its own above this one).
pub struct Beside {
    /// The path its routes are under (`/_console`); the router names them in full.
    pub path: &'static str,
    /// Makes its router from the plane's state.
    pub make: Box<dyn FnOnce(Arc<AzureState>) -> Router + Send>,
}

impl std::fmt::Debug for Beside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Beside")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl AzurePlane {
    /// The plane over `config` (its relative paths resolved against `base_dir`), keeping every
    /// change in `state_file` when given (else in memory), and the directory the emulator
    /// serves from it. The whole file is checked first.
    ///
    /// ```
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let yaml = "tenants: [{tenantId: aaaaaaaa-0000-4000-8000-00000000000a}]\nsubscriptions:\n  - {subscriptionId: 5ab5c71b-0000-4000-8000-000000000001, tenantId: aaaaaaaa-0000-4000-8000-00000000000a}\n";
    /// let config: wif_azure::AzureConfig = serde_saphyr::from_str(yaml)?;
    /// let (directory, plane) = wif_azure::AzurePlane::new(config, ".".into(), None)?;
    /// let emulator = wif_sts::Emulator::new(directory).plane(plane).start_local().await?;
    /// println!("ARM at {}/, vault hosts through http://{:?}", emulator.url, emulator.tunnel_address);
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().expect("a runtime").block_on(example()).expect("the example runs");
    /// ```
    pub fn new(
        config: AzureConfig,
        base_dir: PathBuf,
        state_file: Option<PathBuf>,
    ) -> Result<(Directory, AzurePlane), InvalidConfig> {
        let directory = checked(&config, &base_dir)?;
        let vault_dns_suffix = config.vault_dns_suffix();
        let storage_suffix = config.storage_endpoint_suffix();
        Ok((
            directory,
            AzurePlane {
                config,
                base_dir,
                state_file,
                admin_token: None,
                vault_dns_suffix,
                storage_suffix,
                production_names: false,
                started: Arc::default(),
                beside: None,
            },
        ))
    }

    /// Turns the management API's admin token on (`wif sts --admin-token-file`).
    #[must_use]
    pub fn with_admin_token(mut self, token: String) -> Self {
        self.admin_token = Some(token);
        self
    }

    /// Answers as Azure's public hosts (`wif up --production-names`): vaults are
    /// `V.vault.azure.net`, blob services `A.blob.core.windows.net`, and the `CONNECT` front
    /// and the certificate take `login.microsoftonline.com`, `management.azure.com` and
    /// `graph.microsoft.com` too, whatever suffixes the config names. The emulator's URL is the
    /// caller's to set (`https://login.microsoftonline.com`), so tokens and challenges carry it.
    ///
    /// ```
    /// # fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let config: wif_azure::AzureConfig = serde_saphyr::from_str("tenants: [{tenantId: aaaaaaaa-0000-4000-8000-00000000000a}]\n")?;
    /// let (_, plane) = wif_azure::AzurePlane::new(config, ".".into(), None)?;
    /// let plane = plane.production_names();
    /// assert_eq!(plane.vault_dns_suffix(), "vault.azure.net");
    /// # Ok(()) }
    /// # example().expect("the example runs");
    /// ```
    #[must_use]
    pub fn production_names(mut self) -> Self {
        self.vault_dns_suffix = wif_core::cloud::public::VAULT_SUFFIX.to_owned();
        self.storage_suffix = wif_core::cloud::public::STORAGE_SUFFIX.to_owned();
        self.production_names = true;
        self
    }

    /// Serves `beside`'s router under its path on the emulator's own host (a vault or blob
    /// host keeps its whole path space), made from the plane's state when the plane starts.
    #[must_use]
    pub fn beside(mut self, beside: Beside) -> Self {
        self.beside = Some(beside);
        self
    }

    /// The Key Vault DNS suffix.
    pub fn vault_dns_suffix(&self) -> &str {
        &self.vault_dns_suffix
    }

    /// The storage endpoint suffix (blob hosts are `A.blob.<suffix>`).
    pub fn storage_suffix(&self) -> &str {
        &self.storage_suffix
    }

    /// The plane's state once the emulator has started it (tests, diagnostics).
    pub fn handle(&self) -> PlaneHandle {
        PlaneHandle(Arc::clone(&self.started))
    }
}

/// The plane's state once started.
#[derive(Debug, Clone)]
pub struct PlaneHandle(Arc<OnceLock<Arc<AzureState>>>);

impl PlaneHandle {
    /// The state, once the emulator has started the plane.
    pub fn state(&self) -> Option<Arc<AzureState>> {
        self.0.get().cloned()
    }
}

impl wif_sts::Plane for AzurePlane {
    fn certificate_names(&self) -> Vec<String> {
        let mut names = vec![
            format!("*.{}", self.vault_dns_suffix),
            self.vault_dns_suffix.clone(),
            format!("*.blob.{}", self.storage_suffix),
        ];
        if self.production_names {
            names.extend(wif_core::cloud::public::HOSTS.map(str::to_owned));
        }
        names
    }

    fn tunnel_policy(&self) -> Option<TunnelPolicy> {
        // Vault hosts and blob hosts (and Azure's own hosts when answering as Azure); every
        // other host is refused at once.
        let (vaults, blobs) = (self.vault_dns_suffix.clone(), self.storage_suffix.clone());
        let hosts: &'static [&'static str] = if self.production_names {
            &wif_core::cloud::public::HOSTS
        } else {
            &[]
        };
        let mut description = format!("vault hosts *.{vaults} and blob hosts *.blob.{blobs}");
        if !hosts.is_empty() {
            description = format!("{}, {description}", hosts.join(", "));
        }
        Some(TunnelPolicy::new(description, move |host| {
            hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
                || crate::vault::vault_of_host(host, &vaults).is_some()
                || crate::blob::account_of_host(host, &blobs).is_some()
        }))
    }

    fn serve(self: Box<Self>, emulator: &Arc<StsState>, token_endpoint: Router, registry: &mut Registry) -> Router {
        let plane = *self;
        let blob_files = plane.state_file.as_deref().map(crate::blob::BlobFiles::beside);
        let state = Arc::new(AzureState {
            emulator: Arc::clone(emulator),
            store: Store::new(
                plane.config,
                plane.base_dir,
                plane.state_file,
                Arc::clone(emulator),
                plane.admin_token,
            ),
            vault_dns_suffix: plane.vault_dns_suffix,
            storage_suffix: plane.storage_suffix,
            blobs: tokio::sync::Mutex::default(),
            blob_files,
            metrics: AzureMetrics::register(registry),
            production_names: plane.production_names,
        });
        let _ = plane.started.set(Arc::clone(&state));
        let surfaces = Router::new().fallback(other).with_state(Arc::clone(&state));
        let token_endpoint = match plane.beside {
            Some(Beside { path, make }) => {
                tracing::debug!(path, "a router served beside the plane");
                token_endpoint.merge(make(Arc::clone(&state)))
            }
            None => token_endpoint,
        };
        token_endpoint
            .fallback_service(surfaces)
            .layer(axum::middleware::from_fn_with_state(state, by_host))
    }
}

/// The host a request names: HTTP/2's authority, else `Host`.
fn request_host<'r>(uri: &'r Uri, headers: &'r HeaderMap) -> Option<&'r str> {
    uri.authority()
        .map(axum::http::uri::Authority::as_str)
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
}

/// Requests for a vault host (`V.<vault suffix>`) are the vault's, whatever their path.
async fn by_host(State(state): State<Arc<AzureState>>, request: Request, next: Next) -> Response {
    // Borrowed until it is a vault's: the token endpoint's requests allocate nothing here.
    let vault = request_host(request.uri(), request.headers()).and_then(|host| {
        let name = crate::vault::vault_of_host(host, &state.vault_dns_suffix)?;
        Some((host.to_owned(), name.to_owned()))
    });
    if let Some((host, name)) = vault {
        let response = crate::vault::handle(&state, &host, &name, request).await;
        state.metrics.count("vault", response.status().as_u16());
        return response;
    }
    let account = request_host(request.uri(), request.headers())
        .and_then(|host| crate::blob::account_of_host(host, &state.storage_suffix))
        .map(str::to_owned);
    if let Some(account) = account {
        let response = crate::blob::handle(&state, &account, request).await;
        state.metrics.count("blob", response.status().as_u16());
        return response;
    }
    next.run(request).await
}

/// ARM's and Graph's paths (matched case-insensitively, as Azure does), else the emulator's 404.
async fn other(State(state): State<Arc<AzureState>>, request: Request) -> Response {
    let path = request.uri().path();
    let (surface, response) = if crate::arm::claims(path) {
        ("arm", crate::arm::handle(&state, request).await)
    } else if crate::graph::claims(path) {
        ("graph", crate::graph::handle(&state, request).await)
    } else {
        return wif_sts::server::not_found().await;
    };
    state.metrics.count(surface, response.status().as_u16());
    response
}
