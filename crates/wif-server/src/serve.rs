//! The accept loop: HTTPS (or plain HTTP for the admin endpoints), HTTP/1.1 or HTTP/2, with
//! every client bounded by [`ConnectionLimits`], and in-flight requests drained on shutdown.
//! Each connection has a watchdog: it closes a connection that sent no request in time or sat
//! idle too long, and drops one that does not finish closing within [`CLOSE_GRACE`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::limits::{Activity, CLOSE_GRACE, ConnectionLimits};

mod metrics;
pub use metrics::ConnectionMetrics;

/// How long in-flight requests get to finish after shutdown starts.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The most request-header bytes one request may send (HTTP/1.1 and HTTP/2 alike).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Concurrent HTTP/2 streams per connection.
pub const MAX_CONCURRENT_STREAMS: u32 = 128;

/// A future that resolves on SIGTERM or Ctrl-C (SIGINT).
///
/// The handlers are installed when this is called, not when the future is first polled: a
/// command calls it before it prints that it is listening, so that a SIGTERM sent by whoever
/// read that line stops it cleanly instead of killing it with the default action. A handler
/// that cannot be installed is logged and that signal keeps its default action. Call it
/// within a Tokio runtime.
///
/// ```no_run
/// # async fn run() {
/// let stop = wif_server::shutdown_signal();
/// println!("listening");
/// stop.await;
/// # }
/// ```
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let installed = |kind: SignalKind, name: &'static str| {
            signal(kind)
                .inspect_err(|error| tracing::warn!(signal = name, %error, "cannot handle the signal"))
                .ok()
        };
        let term = installed(SignalKind::terminate(), "SIGTERM");
        let interrupt = installed(SignalKind::interrupt(), "SIGINT");
        async move {
            tokio::select! { () = received(term) => {}, () = received(interrupt) => {} }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Resolves when `signal` arrives; never, for a signal with no handler.
#[cfg(unix)]
async fn received(signal: Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(mut signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// What one listener serves and how.
#[derive(Debug, Clone)]
pub struct Serving {
    /// TLS, or `None` for plain HTTP (admin endpoints).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The bounds on each client.
    pub limits: ConnectionLimits,
    /// Where connection counts go.
    pub metrics: ConnectionMetrics,
    /// A `CONNECT` to an allowed host comes first on each connection, when set
    /// ([`crate::tunnel`]).
    pub tunnel: Option<crate::tunnel::TunnelPolicy>,
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting and waits
/// (up to [`DRAIN_TIMEOUT`]) for in-flight requests. Accept errors (out of descriptors and
/// the like) are logged and retried: the server keeps serving.
pub async fn serve_https(
    listener: TcpListener,
    serving: Serving,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
) {
    let Serving {
        tls,
        limits,
        metrics,
        tunnel,
    } = serving;
    let acceptor = tls.map(TlsAcceptor::from);
    let max_connections = limits
        .max_connections
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let slots = Arc::new(Semaphore::new(max_connections));
    let (draining_tx, draining_rx) = watch::channel(false);
    let builder = http_builder(&limits);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = accept(&listener) => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = Connection {
            builder: builder.clone(),
            router: router.clone(),
            limits,
            draining: draining_rx.clone(),
            metrics: metrics.clone(),
            peer,
        };
        let acceptor = acceptor.clone();
        let tunnel = tunnel.clone();
        metrics.open.inc();
        tokio::spawn(async move {
            let _permit = permit;
            let metrics = connection.metrics.clone();
            let mut stream = stream;
            if let Some(policy) = tunnel {
                match tokio::time::timeout(
                    limits.handshake_timeout,
                    crate::tunnel::accept_connect(&mut stream, &policy),
                )
                .await
                {
                    Ok(Ok(host)) => tracing::debug!(%peer, host = ?host, "tunnel opened"),
                    Ok(Err(error)) => {
                        tracing::info!(%peer, %error, "CONNECT refused");
                        metrics.closed("tunnel_refused");
                        metrics.open.dec();
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "CONNECT not received in time");
                        metrics.closed("handshake_timeout");
                        metrics.open.dec();
                        return;
                    }
                }
            }
            match acceptor {
                Some(acceptor) => match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => connection.serve(tls).await,
                    Ok(Err(error)) => {
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                        metrics.closed("handshake_failed");
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        metrics.closed("handshake_timeout");
                    }
                },
                None => connection.serve(stream).await,
            }
            metrics.open.dec();
        });
    }
    drop(listener);
    let _ = draining_tx.send(true);
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    match tokio::time::timeout(DRAIN_TIMEOUT, slots.acquire_many(all)).await {
        Ok(_) => tracing::info!("all connections drained"),
        Err(_) => tracing::warn!("drain timed out; closing the remaining connections"),
    }
    // Dropping `draining_tx` here ends every connection still open.
}

fn http_builder(limits: &ConnectionLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEADER_BYTES.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX));
    builder
}

/// Accepts a connection with Nagle's algorithm off: a TLS handshake and an answer are small
/// writes that would otherwise wait for the peer's delayed ACK, about 40 ms on a new connection.
async fn accept(listener: &TcpListener) -> std::io::Result<(tokio::net::TcpStream, std::net::SocketAddr)> {
    let (stream, peer) = listener.accept().await?;
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "TCP_NODELAY could not be set");
    }
    Ok((stream, peer))
}

/// One accepted connection and what it needs to be served.
struct Connection {
    builder: Builder<TokioExecutor>,
    router: Router,
    limits: ConnectionLimits,
    draining: watch::Receiver<bool>,
    metrics: ConnectionMetrics,
    peer: std::net::SocketAddr,
}

impl Connection {
    /// Serves requests on `io` until the client leaves, a limit closes it, or the server stops.
    async fn serve<I>(mut self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Activity::new();
        let service = BoundedService {
            router: self.router.clone(),
            activity: Arc::clone(&activity),
            request_timeout: self.limits.request_timeout,
            metrics: self.metrics.clone(),
        };
        let conn = self.builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        let mut closing_since: Option<Instant> = None;
        let mut draining = false;
        loop {
            // While a request is in flight its own deadline bounds it: look again after that.
            let deadline = match closing_since {
                Some(since) => since + CLOSE_GRACE,
                None => activity
                    .idle_deadline(&self.limits)
                    .unwrap_or_else(|| Instant::now() + self.limits.request_timeout),
            };
            tokio::select! {
                result = conn.as_mut() => {
                    match result {
                        Ok(()) => self.metrics.closed(if closing_since.is_some() { "idle" } else { "done" }),
                        Err(error) => {
                            tracing::debug!(peer = %self.peer, %error, "connection ended with an error");
                            self.metrics.closed(if is_header_timeout(&*error) { "header_timeout" } else { "error" });
                        }
                    }
                    return;
                }
                () = tokio::time::sleep_until(deadline) => {
                    if closing_since.is_some() {
                        tracing::debug!(peer = %self.peer, "connection did not close in time; dropped");
                        self.metrics.closed("close_grace");
                        return;
                    }
                    if activity.idle_deadline(&self.limits).is_some_and(|d| d <= Instant::now()) {
                        tracing::debug!(peer = %self.peer, "connection idle too long; closing");
                        conn.as_mut().graceful_shutdown();
                        closing_since = Some(Instant::now());
                    }
                }
                // Once draining, the next `changed` is the server giving up on the drain.
                changed = self.draining.changed() => {
                    if changed.is_err() {
                        self.metrics.closed("shutdown");
                        return;
                    }
                    if !draining {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                        // No request in flight: only a streamed answer (a live feed) can be
                        // holding the connection, and it gets the close grace, not the drain.
                        if closing_since.is_none() && activity.idle_deadline(&self.limits).is_some() {
                            closing_since = Some(Instant::now());
                        }
                    }
                }
            }
        }
    }
}

fn is_header_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(hyper_error) = e.downcast_ref::<hyper::Error>()
            && hyper_error.is_timeout()
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// The router with the request deadline around it and the connection's activity recorded.
#[derive(Clone)]
struct BoundedService {
    router: Router,
    activity: Arc<Activity>,
    request_timeout: Duration,
    metrics: ConnectionMetrics,
}

impl hyper::service::Service<Request<Incoming>> for BoundedService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let mut router = self.router.clone();
        let guard = self.activity.begin();
        let deadline = self.request_timeout;
        let metrics = self.metrics.clone();
        let version = request.version();
        let (parts, body) = request.into_parts();
        let (body, read_to_end) = crate::body::Watched::new(body);
        let request = Request::from_parts(parts, Body::new(body));
        Box::pin(async move {
            let _guard = guard;
            let handled = tower_service::Service::call(&mut router, request);
            match tokio::time::timeout(deadline, handled).await {
                Ok(Ok(mut response)) => {
                    // hyper closes an HTTP/1 connection whose request body was left unread:
                    // say so, or the client pools it and its next request meets a closed socket.
                    if !read_to_end.get() && version <= axum::http::Version::HTTP_11 {
                        response
                            .headers_mut()
                            .insert(header::CONNECTION, header::HeaderValue::from_static("close"));
                    }
                    Ok(response)
                }
                Ok(Err(never)) => match never {},
                Err(_) => {
                    metrics.request_timeouts.inc();
                    Ok(request_timed_out())
                }
            }
        })
    }
}

fn request_timed_out() -> Response<Body> {
    let mut response = Response::new(Body::from("request not received in time\n"));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    response
        .headers_mut()
        .insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests;
