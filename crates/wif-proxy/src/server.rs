//! The proxy's HTTP server: plain HTTP on 127.0.0.1 (as IMDS), every client bounded by
//! `wif-server`'s limits, one handler that refuses a host that is not loopback's or the
//! metadata address ([`crate::host`]), routes by [`Route`], checks the request
//! ([`crate::request`]), selects the identity ([`IdentityTable`]: a configured one, or any
//! other GUID ad hoc), takes the token from `wif-client`'s cache and answers in the request's
//! protocol ([`crate::answer`]).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use wif_client::{CacheOutcome, WorkloadIdentity};
use wif_server::{AdminState, ConnectionLimits, ConnectionMetrics, Serving};

use crate::answer::{self, Issued};
use crate::credentials::Credentials;
use crate::identities::IdentityTable;
use crate::metrics::ProxyMetrics;
use crate::passthrough::Passthrough;
use crate::request::{self, Headers, Protocol, Refusal};
use crate::route::Route;

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// The port on 127.0.0.1 (0: any free one).
    pub port: u16,
    /// App Service's `IDENTITY_HEADER`: the endpoint is on only when given.
    pub identity_header: Option<String>,
    /// Where other IMDS paths are forwarded; `None`: refused with 404.
    pub passthrough: Option<SocketAddr>,
    /// How long a request waits for a token it has to exchange for.
    pub token_timeout: Duration,
    /// The bounds on every client.
    pub limits: ConnectionLimits,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            port: 8000,
            identity_header: None,
            passthrough: None,
            token_timeout: Duration::from_secs(10),
            limits: ConnectionLimits::default(),
        }
    }
}

/// Why the proxy did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The port could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The passthrough client.
    #[error(transparent)]
    Passthrough(#[from] crate::passthrough::PassthroughError),
    /// `IDENTITY_HEADER` too short to be a secret.
    #[error("IDENTITY_HEADER must be at least 16 characters (it is the App Service endpoint's only guard)")]
    WeakIdentityHeader,
}

struct ProxyState {
    table: IdentityTable,
    credentials: Credentials,
    secret: Option<Vec<u8>>,
    passthrough: Option<Passthrough>,
    token_timeout: Duration,
    metrics: ProxyMetrics,
    admin: AdminState,
    workload: WorkloadIdentity,
}

/// A proxy bound to its port, not yet serving.
pub struct Proxy {
    /// Its address (127.0.0.1 and the bound port).
    pub address: SocketAddr,
    /// Readiness and metrics.
    pub admin: AdminState,
    /// Its request, exchange and cache counts.
    pub metrics: ProxyMetrics,
    /// Its connection counts.
    pub connections: ConnectionMetrics,
    listener: TcpListener,
    limits: ConnectionLimits,
    state: Arc<ProxyState>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// The readiness condition: the projected token can be read and parses as a JWT.
fn token_gate(workload: &WorkloadIdentity) -> wif_server::admin::ReadinessGate {
    let source = Arc::clone(workload.assertion_source());
    Arc::new(move || match source.assertion() {
        Err(error) => Some(wif_core::error_text::error_chain(&error)),
        Ok(token) => wif_jose::decode_unverified(&token)
            .err()
            .map(|e| format!("the projected token is not a JWT: {e}")),
    })
}

impl Proxy {
    /// Binds 127.0.0.1:`options.port` for the identities of `table`, tokens from `workload`.
    pub async fn bind(
        options: ProxyOptions,
        workload: WorkloadIdentity,
        table: IdentityTable,
    ) -> Result<Self, ProxyError> {
        let secret = match options.identity_header.as_deref().map(str::trim) {
            Some(s) if s.chars().count() < 16 => return Err(ProxyError::WeakIdentityHeader),
            Some(s) => Some(s.as_bytes().to_vec()),
            None => None,
        };
        let passthrough = options
            .passthrough
            .map(|target| Passthrough::new(target, options.token_timeout))
            .transpose()?;
        let mut registry = Registry::default();
        let metrics = ProxyMetrics::register(&mut registry);
        let connections = ConnectionMetrics::register(&mut registry);
        let admin = AdminState::new(registry, "starting").with_gate(token_gate(&workload));
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ProxyError::Bind { addr, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| ProxyError::Bind { addr, source })?;
        let credentials = Credentials::new(&workload, &table);
        let state = Arc::new(ProxyState {
            table,
            credentials,
            secret,
            passthrough,
            token_timeout: options.token_timeout,
            metrics: metrics.clone(),
            admin: admin.clone(),
            workload,
        });
        Ok(Proxy {
            address,
            admin,
            metrics,
            connections,
            listener,
            limits: options.limits,
            state,
        })
    }

    /// The identities served.
    pub fn identities(&self) -> &IdentityTable {
        &self.state.table
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()> + Send) {
        let router = Router::new().fallback(handle).with_state(Arc::clone(&self.state));
        let serving = Serving {
            tunnel: None,
            tls: None,
            limits: self.limits,
            metrics: self.connections,
        };
        self.admin.set_ready();
        let admin = self.admin.clone();
        wif_server::serve_https(self.listener, serving, router, async move {
            shutdown.await;
            admin.set_not_ready("shutting down");
        })
        .await;
        // Kept alive until here: the credentials' cache refreshes run on its client.
        drop(self.state);
    }
}

fn json_response(status: u16, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn refused(protocol: Protocol, refusal: &Refusal) -> Response<Body> {
    json_response(refusal.status, answer::error_body(protocol, refusal))
}

fn headers_of(request: &Parts) -> Headers<'_> {
    let headers = &request.headers;
    Headers {
        metadata: headers.get("metadata").map(HeaderValue::as_bytes),
        forwarded_for: headers.contains_key("x-forwarded-for"),
        identity_header: headers.get("x-identity-header").map(HeaderValue::as_bytes),
    }
}

/// Every host the request names: its authority (HTTP/2, absolute form) and each `Host`.
fn named_hosts(request: &Parts) -> impl Iterator<Item = &[u8]> {
    let authority = request.uri.authority().map(|a| a.as_str().as_bytes());
    authority
        .into_iter()
        .chain(request.headers.get_all(header::HOST).iter().map(HeaderValue::as_bytes))
}

async fn handle(State(state): State<Arc<ProxyState>>, request: Request<Body>) -> Response<Body> {
    // The body is not `Sync`: only the head is borrowed across awaits.
    let (head, body) = request.into_parts();
    let route = Route::of(head.uri.path());
    if let Err(refusal) = crate::host::check(named_hosts(&head)) {
        tracing::warn!(route = route.label(), description = %refusal.description, "request refused: not a loopback host");
        state.metrics.request(route.label(), "host_refused");
        let protocol = match route {
            Route::AppServiceToken => Protocol::AppService,
            _ => Protocol::Imds,
        };
        return refused(protocol, &refusal);
    }
    let (response, outcome) = match route {
        Route::Healthz => (wif_server::admin::healthz().await.into_response(), "ok"),
        Route::Readyz => {
            let ready = state.admin.is_ready();
            let response = wif_server::admin::readyz(State(state.admin.clone()))
                .await
                .into_response();
            (response, if ready { "ok" } else { "not_ready" })
        }
        Route::Metrics => (
            wif_server::admin::metrics(State(state.admin.clone()))
                .await
                .into_response(),
            "ok",
        ),
        Route::ImdsToken => token(&state, Protocol::Imds, &head).await,
        Route::AppServiceToken => token(&state, Protocol::AppService, &head).await,
        Route::OtherImds => other(&state, head, body).await,
    };
    state.metrics.request(route.label(), outcome);
    response
}

/// Any other path: IMDS's header rules, then forwarded when a passthrough is set, else 404.
async fn other(state: &ProxyState, head: Parts, body: Body) -> (Response<Body>, &'static str) {
    if let Err(refusal) = request::check_imds_headers(&headers_of(&head)) {
        return (refused(Protocol::Imds, &refusal), "refused");
    }
    match &state.passthrough {
        Some(passthrough) => (
            passthrough.forward(Request::from_parts(head, body)).await,
            "passed_through",
        ),
        None => {
            let refusal = Refusal::new(
                404,
                "not_found",
                format!(
                    "the wif proxy serves {} only; {} is not forwarded (start it with --imds-passthrough ADDR to forward other IMDS paths)",
                    crate::route::IMDS_TOKEN_PATH,
                    head.uri.path().chars().take(200).collect::<String>()
                ),
            );
            (refused(Protocol::Imds, &refusal), "not_found")
        }
    }
}

async fn token(state: &ProxyState, protocol: Protocol, request: &Parts) -> (Response<Body>, &'static str) {
    let headers = headers_of(request);
    let checked = match protocol {
        Protocol::Imds => request::check_imds_headers(&headers),
        Protocol::AppService => request::check_app_service_secret(&headers, state.secret.as_deref()),
    };
    let asked = checked
        .and_then(|()| request::parse_query(protocol, request.uri.query()))
        .and_then(|asked| state.table.select(&asked.selector).map(|selected| (asked, selected)));
    let (asked, selected) = match asked {
        Ok(found) => found,
        Err(refusal) => {
            tracing::debug!(status = refusal.status, description = %refusal.description, "token request refused");
            return (refused(protocol, &refusal), "refused");
        }
    };
    let credential = match state
        .credentials
        .choose(&selected, &state.table, &state.workload, &state.metrics)
    {
        Ok(credential) => credential,
        Err(refusal) => {
            tracing::warn!(status = refusal.status, description = %refusal.description, "no credential");
            return (refused(protocol, &refusal), "failed");
        }
    };
    let metrics = state.metrics.clone();
    let scope = asked.scope();
    let lookup = credential.get_token_observed(&scope, move |took, result| {
        metrics.exchange(took, result.is_ok());
    });
    let (result, outcome) = match tokio::time::timeout(state.token_timeout, lookup).await {
        Ok(answered) => answered,
        Err(_) => {
            state.metrics.cache(false);
            let refusal = answer::timed_out(state.token_timeout);
            tracing::warn!(client_id = %credential.identity().client_id, resource = %asked.resource, "no token within the deadline");
            return (refused(protocol, &refusal), "failed");
        }
    };
    state.metrics.cache(outcome != CacheOutcome::Miss);
    match result {
        Ok(token) => {
            let issued = Issued {
                access_token: &token.token,
                client_id: &credential.identity().client_id,
                resource: &asked.resource,
                expires_on: token.expires_on,
                obtained_on: token.obtained_on,
            };
            let now = state.workload_now();
            (json_response(200, answer::token_body(protocol, &issued, now)), "ok")
        }
        Err(error) => {
            let refusal = answer::refusal_of(&error);
            tracing::warn!(
                client_id = %credential.identity().client_id,
                resource = %asked.resource,
                status = refusal.status,
                error = %wif_core::error_text::error_chain(&error),
                "no token"
            );
            let outcome = if refusal.status < 500 {
                "entra_refused"
            } else {
                "failed"
            };
            (refused(protocol, &refusal), outcome)
        }
    }
}

impl ProxyState {
    /// Now, by the cache's clock (Unix seconds), so that `expires_in` agrees with the cache.
    fn workload_now(&self) -> i64 {
        self.workload.cache().clock().now_ms() / 1000
    }
}
