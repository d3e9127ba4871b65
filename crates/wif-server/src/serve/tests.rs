//! The accept loop against clients that stall, trickle, idle and crowd, over real sockets on
//! 127.0.0.1. Each test waits on what the server does (a closed socket, an answer, a count),
//! with an outer bound far above the limit under test so a slow CI machine cannot flake it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::*;
use crate::pki::LocalCa;
use crate::tls::{ReloadingResolver, certified_key_from_pem, server_config};

/// Far above every limit the tests set: only a server that never closes reaches it.
const OUTER_BOUND: Duration = Duration::from_secs(20);

fn limits(ms: u64) -> ConnectionLimits {
    let limit = Duration::from_millis(ms);
    ConnectionLimits {
        handshake_timeout: limit,
        header_read_timeout: limit,
        request_timeout: limit,
        idle_timeout: limit,
        max_connections: 64,
    }
}

fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route(
            "/echo",
            post(|body: axum::body::Bytes| async move { format!("{} bytes", body.len()) }),
        )
        // An answer that never ends, as a live feed's.
        .route(
            "/stream",
            get(|| async {
                let ticks = futures_util::stream::unfold((), |()| async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"tick\n")), ()))
                });
                axum::body::Body::from_stream(ticks)
            }),
        )
        // Answers before reading the body, as a refusal for a missing token does.
        .route("/refuse", post(|| async { (StatusCode::UNAUTHORIZED, "no token") }))
}

struct Running {
    address: std::net::SocketAddr,
    metrics: ConnectionMetrics,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(OUTER_BOUND, self.task)
            .await
            .expect("the server stops")
            .expect("the server task ends cleanly");
    }
}

async fn start(limits: ConnectionLimits, tls: Option<Arc<rustls::ServerConfig>>) -> Running {
    start_with(limits, tls, None).await
}

async fn start_with(
    limits: ConnectionLimits,
    tls: Option<Arc<rustls::ServerConfig>>,
    tunnel: Option<crate::tunnel::TunnelPolicy>,
) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let metrics = ConnectionMetrics::default();
    let serving = Serving {
        tunnel,
        tls,
        limits,
        metrics: metrics.clone(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_https(listener, serving, router(), async move {
        let _ = stopped.await;
    }));
    Running {
        address,
        metrics,
        stop: Some(stop),
        task,
    }
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    let ca = LocalCa::new("serve test CA").unwrap();
    let cert = ca.issue(&["127.0.0.1"]).unwrap();
    let key = certified_key_from_pem(
        cert.cert_pem.as_bytes(),
        cert.key_pem.as_bytes(),
        Path::new("cert"),
        Path::new("key"),
    )
    .unwrap();
    server_config(ReloadingResolver::new(key), "1.2").unwrap()
}

/// Reads until the server closes the connection; what it sent before.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(OUTER_BOUND, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection within its limits");
    seen
}

async fn get_hello(address: std::net::SocketAddr) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    String::from_utf8_lossy(&read_until_closed(&mut stream).await).into_owned()
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = start(limits(300), None).await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(server.address).await.unwrap();
    let seen = read_until_closed(&mut silent).await;
    assert!(seen.is_empty(), "nothing is answered to nothing");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "closed by the timeout, not at once"
    );
    server.stop().await;
}

#[tokio::test]
async fn trickled_headers_are_cut_off_at_the_header_timeout() {
    let server = start(limits(400), None).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    // A request started, then one header line every 100 ms: each read makes progress, so
    // only a deadline on the whole head (not an inactivity timer) stops it.
    stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for i in 0..200 {
            if writer.write_all(format!("x-{i}: y\r\n").as_bytes()).await.is_err() {
                return i;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        200
    });
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(OUTER_BOUND, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the trickling connection was closed");
    let lines = trickle.await.unwrap();
    assert!(
        lines < 200,
        "the server stopped reading the trickle after {lines} lines"
    );
    assert_eq!(server.metrics.closed_count("header_timeout"), 1);
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = start(limits(300), None).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let seen = String::from_utf8_lossy(&read_until_closed(&mut stream).await).into_owned();
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.ends_with("hello"), "{seen}");
    let closed = server.metrics.closed_count("idle") + server.metrics.closed_count("header_timeout");
    assert_eq!(closed, 1, "closed as idle once the request was answered");
    server.stop().await;
}

/// Reads one answer of `length` body bytes (its head and body), leaving the connection open.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(OUTER_BOUND, async {
        loop {
            let text = String::from_utf8_lossy(&seen).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|n| n.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return text;
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&seen).into_owned(),
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("an answer within the bound")
}

#[tokio::test]
async fn an_answer_given_before_the_body_was_read_says_the_connection_closes() {
    let server = start(limits(5_000), None).await;
    // The head first, the body not yet sent: Python's http.client writes them apart, and the
    // refusal comes before the body arrives.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"POST /refuse HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("\r\nconnection: close\r\n"),
        "the client must not pool a connection the server is closing: {answer}"
    );
    let _ = stream.write_all(b"ab").await;
    let rest = read_until_closed(&mut stream).await;
    assert!(rest.is_empty(), "and it is closed: {}", String::from_utf8_lossy(&rest));

    // A body read to its end keeps the connection for the next request.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nab")
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("2 bytes"),
        "{answer}"
    );
    assert!(!answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let again = read_answer(&mut stream).await;
    assert!(again.starts_with("HTTP/1.1 200") && again.ends_with("hello"), "{again}");
    server.stop().await;
}

#[tokio::test]
async fn a_body_trickled_past_the_request_timeout_gets_408() {
    let server = start(limits(400), None).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n0123456789")
        .await
        .unwrap();
    let seen = String::from_utf8_lossy(&read_until_closed(&mut stream).await).into_owned();
    assert!(seen.starts_with("HTTP/1.1 408"), "{seen}");
    assert_eq!(server.metrics.request_timeout_count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_tls_handshake_never_finished_is_closed_after_the_handshake_timeout() {
    let server = start(limits(300), Some(tls_config())).await;
    let mut stalled = TcpStream::connect(server.address).await.unwrap();
    // The first bytes of a TLS record, then nothing.
    stalled.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    read_until_closed(&mut stalled).await;
    assert_eq!(server.metrics.closed_count("handshake_timeout"), 1);
    server.stop().await;
}

#[tokio::test]
async fn past_the_cap_new_connections_wait_and_the_served_ones_go_on() {
    let mut limits = limits(10_000);
    limits.max_connections = 1;
    let server = start(limits, None).await;
    // The one slot: a keep-alive connection that is served while the next one waits.
    let mut served = TcpStream::connect(server.address).await.unwrap();
    served.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = served.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let waiting = tokio::spawn(get_hello(server.address));
    // The kernel accepted the waiting connection; the server must not have.
    let early = tokio::time::timeout(Duration::from_millis(300), async {
        while !waiting.is_finished() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(early.is_err(), "a connection over the cap was served");
    assert_eq!(server.metrics.open_count(), 1);
    // The served connection is undisturbed by the one waiting.
    served.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let n = served.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    drop(served);
    let answer = tokio::time::timeout(OUTER_BOUND, waiting).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_ends_idle_connections_and_returns() {
    let server = start(limits(60_000), None).await;
    let mut idle = TcpStream::connect(server.address).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let metrics = server.metrics.clone();
    // Well inside DRAIN_TIMEOUT: an idle connection drains at once.
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("drained");
    read_until_closed(&mut idle).await;
    assert_eq!(metrics.open_count(), 0);
}

#[tokio::test]
async fn a_streamed_answer_gets_the_close_grace_not_the_whole_drain() {
    let server = start(limits(60_000), None).await;
    let mut feed = TcpStream::connect(server.address).await.unwrap();
    feed.write_all(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = feed.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    let metrics = server.metrics.clone();
    // DRAIN_TIMEOUT is 30 s; the close grace, 5 s: a stream must not hold the stop to the former.
    let started = Instant::now();
    tokio::time::timeout(DRAIN_TIMEOUT - Duration::from_secs(10), server.stop())
        .await
        .expect("stopped within the close grace, not the drain");
    assert!(
        started.elapsed() >= CLOSE_GRACE - Duration::from_millis(500),
        "the stream had its grace"
    );
    read_until_closed(&mut feed).await;
    assert_eq!(metrics.open_count(), 0);
}

#[tokio::test]
async fn a_tunnel_listener_bounds_the_connect_and_refuses_other_hosts() {
    let policy = crate::tunnel::TunnelPolicy::new("*.vault.test", |h| h.ends_with(".vault.test"));
    let server = start_with(limits(300), Some(tls_config()), Some(policy)).await;
    // Silent: closed at the handshake timeout, before any CONNECT.
    let mut silent = TcpStream::connect(server.address).await.unwrap();
    assert!(read_until_closed(&mut silent).await.is_empty());
    // Half a CONNECT head, never finished: closed too.
    let mut trickled = TcpStream::connect(server.address).await.unwrap();
    trickled
        .write_all(b"CONNECT kv.vault.test:443 HTTP/1.1\r\n")
        .await
        .unwrap();
    assert!(read_until_closed(&mut trickled).await.is_empty());
    assert_eq!(server.metrics.closed_count("handshake_timeout"), 2);
    // Another host: refused at once, in words.
    let mut other = TcpStream::connect(server.address).await.unwrap();
    other
        .write_all(b"CONNECT example.com:443 HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&read_until_closed(&mut other).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden"), "{answer}");
    assert_eq!(server.metrics.closed_count("tunnel_refused"), 1);
    // An allowed host: 200, then the TLS handshake is bounded as on any listener.
    let mut allowed = TcpStream::connect(server.address).await.unwrap();
    allowed
        .write_all(b"CONNECT kv.vault.test:443 HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&read_until_closed(&mut allowed).await).into_owned();
    assert_eq!(answer, "HTTP/1.1 200 Connection Established\r\n\r\n");
    assert_eq!(server.metrics.closed_count("handshake_timeout"), 3);
    server.stop().await;
}

#[tokio::test]
async fn accepted_sockets_send_without_waiting_for_acks() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let client = TcpStream::connect(address).await.unwrap();
    let (plain, _) = listener.accept().await.unwrap();
    assert!(!plain.nodelay().unwrap(), "the kernel's default is Nagle on");
    let _second = TcpStream::connect(address).await.unwrap();
    let (accepted, _) = accept(&listener).await.unwrap();
    assert!(accepted.nodelay().unwrap());
    drop(client);
}
