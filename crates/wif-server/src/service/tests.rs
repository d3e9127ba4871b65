//! The service shell: listeners named in bind errors, and the shutdown delay.

use super::*;

/// Binds with every listener on port 0 but `taken`'s, which another socket holds.
async fn bind_with_taken(taken: Listener, addr: SocketAddr) -> ServiceError {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let at = |which: Listener| if which == taken { addr } else { any };
    let tls = LocalTls::new("test CA", &[]).unwrap();
    let mut options = ServiceOptions::new(
        at(Listener::Main),
        at(Listener::Admin),
        TlsSource::Given(tls.key),
        "1.2",
    );
    options.metrics_addr = Some(at(Listener::Metrics));
    options.tunnel = Some((at(Listener::Tunnel), crate::tunnel::TunnelPolicy::new("any", |_| true)));
    bind(options, Router::new(), Registry::default()).await.unwrap_err()
}

#[tokio::test]
async fn a_taken_port_is_named_with_its_listener() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    for (which, text) in [
        (Listener::Main, format!("cannot listen on {addr}")),
        (
            Listener::Admin,
            format!("cannot listen for /healthz, /readyz and /metrics on {addr}"),
        ),
        (Listener::Metrics, format!("cannot listen for /metrics on {addr}")),
        (
            Listener::Tunnel,
            format!("cannot listen for the CONNECT proxy on {addr}"),
        ),
    ] {
        let error = bind_with_taken(which, addr).await;
        let ServiceError::Listen {
            listener,
            addr: named,
            source,
        } = &error
        else {
            panic!("{which:?}: not Listen: {error:?}");
        };
        assert_eq!((*listener, *named), (which, addr));
        assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        assert_eq!(error.to_string(), text);
    }
}

/// `/readyz`'s status line, over a plain HTTP/1.1 request.
async fn readyz_status(health: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(health).await.unwrap();
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

/// The status line of a request to the main listener over TLS (a new connection): proof the
/// server accepts and answers, not just that the kernel queued a connection.
async fn answer_over_tls(main: SocketAddr, ca_pem: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    for der in crate::pki::pem_certificates(ca_pem) {
        roots.add(der.into()).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(main).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /anything HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Polls `/readyz` (a local request) until its status line holds `code`.
async fn readyz_becomes(health: SocketAddr, code: &str) {
    let wait = async {
        while !readyz_status(health).await.contains(code) {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("/readyz never answered {code}"));
}

#[tokio::test]
async fn after_the_signal_it_is_not_ready_but_still_answers_for_the_shutdown_delay() {
    let tls = LocalTls::new("test CA", &["127.0.0.1".to_owned()]).unwrap();
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = ServiceOptions::new(any, any, TlsSource::Given(tls.key), "1.2");
    // Long enough that the checks below happen well inside it on a busy machine.
    options.shutdown_delay = Duration::from_secs(5);
    let bound = bind(options, Router::new(), Registry::default()).await.unwrap();
    let (main, health) = (bound.address, bound.health_address);
    let (signal, signalled) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(bound.serve(async move {
        let _ = signalled.await;
    }));
    readyz_becomes(health, " 200 ").await;
    signal.send(()).unwrap();
    // Not ready at once, so endpoints stop routing here...
    readyz_becomes(health, " 503 ").await;
    // ...while a caller that has not heard yet is still answered, on a new connection.
    assert!(!serving.is_finished(), "stopped before the delay was over");
    let answer = answer_over_tls(main, &tls.ca_pem).await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    tokio::time::timeout(Duration::from_secs(30), serving)
        .await
        .expect("stopped after the delay")
        .unwrap();
    let refused = tokio::net::TcpStream::connect(main).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}
