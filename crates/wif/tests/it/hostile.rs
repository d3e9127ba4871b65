//! Every wif server under the two cheapest attacks on a TLS server: a thousand connections
//! that never finish the handshake and a thousand that finish it and then trickle a header
//! line a second (for the proxy, plain HTTP as IMDS: a thousand that send nothing and a
//! thousand that trickle). While they are all open (the server's own gauge says so) a normal request
//! must be answered within a second, and the server must close every stalled connection
//! within its timeouts. Loopback only; bounded in count and time.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::*;

const STALLED_HANDSHAKES: usize = 1000;
const TRICKLING: usize = 1000;
/// The servers' handshake and header timeouts in this test: long enough that every stalled
/// connection is still open when the normal request is made, short enough to end quickly.
const TIMEOUT: &str = "6s";
/// The timeout, plus the grace a closing connection gets, plus a wide margin for a slow CI.
const CLOSE_BOUND: Duration = Duration::from_secs(6 + 5 + 20);

struct Server {
    child: Child,
    address: String,
    metrics: String,
    ca: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(name: &str, args: &[&str], write_files: impl FnOnce(&Path)) -> Server {
    let dir = std::env::temp_dir().join(format!("wif-it-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    write_files(&dir);
    let ca = dir.join("ca.pem");
    let (child, line) = spawn_with_banner(
        Command::new(env!("CARGO_BIN_EXE_wif"))
            .current_dir(&dir)
            .args(args)
            .args(["--handshake-timeout", TIMEOUT, "--header-read-timeout", TIMEOUT])
            .arg("--self-signed-ca-out")
            .arg(&ca)
            .env("KUBECONFIG", "/nonexistent/wif-test-kubeconfig")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .stderr(Stdio::null()),
    );
    let address = banner_field(&line, "listening on ");
    let metrics = banner_field(
        &line,
        if line.contains("metrics on ") {
            "metrics on "
        } else {
            "health on "
        },
    );
    Server {
        child,
        address,
        metrics,
        ca,
        dir,
    }
}

fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

fn host_port(url: &str) -> String {
    let rest = url.trim_start_matches("https://").trim_start_matches("http://");
    rest.split('/').next().unwrap().to_owned()
}

async fn open_connections(metrics_url: &str) -> u64 {
    let text = reqwest::get(format!("{metrics_url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("wif_connections_open "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no wif_connections_open in {text}"))
}

/// Waits until the server closes the stream; true if it did within the bound.
async fn closed_by_server<S: tokio::io::AsyncRead + Unpin>(mut stream: S) -> bool {
    let mut buf = [0u8; 256];
    tokio::time::timeout(CLOSE_BOUND, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// Sends a header line a second on `writer` until the server closes `reader`: true if it did
/// within the bound. (The pacing is the attack, not a wait for an event.)
async fn trickled<R, W>(reader: R, mut writer: W) -> bool
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let trickle = async move {
        for i in 0..60 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if writer.write_all(format!("x-{i}: y\r\n").as_bytes()).await.is_err() {
                break;
            }
        }
        std::future::pending::<()>().await;
    };
    tokio::select! { closed = closed_by_server(reader) => closed, () = trickle => false }
}

/// Waits for every stalled connection: the server must have closed them all.
async fn all_closed_by_server(address: &str, mut closed: JoinSet<bool>, expected: usize) {
    let mut by_server = 0;
    while let Some(result) = closed.join_next().await {
        if result.unwrap() {
            by_server += 1;
        }
    }
    assert_eq!(by_server, expected, "{address}: stalled connections left open");
}

/// The proxy's listener is plain HTTP (as IMDS): a thousand connections that send nothing and
/// a thousand that trickle a header line a second; an SDK's probe must still be answered at
/// once, and every stalled connection closed.
async fn attack_plain(address: &str) -> Duration {
    let mut closed = JoinSet::new();
    for _ in 0..TRICKLING {
        let mut tcp = TcpStream::connect(address).await.unwrap();
        tcp.write_all(b"GET /metadata/identity/oauth2/token HTTP/1.1\r\nhost: 127.0.0.1\r\n")
            .await
            .unwrap();
        let (reader, writer) = tcp.into_split();
        closed.spawn(trickled(reader, writer));
    }
    for _ in 0..STALLED_HANDSHAKES {
        let tcp = TcpStream::connect(address).await.unwrap();
        closed.spawn(closed_by_server(tcp));
    }
    let open = open_connections(&format!("http://{address}")).await;
    assert!(
        open > (STALLED_HANDSHAKES + TRICKLING) as u64,
        "{address}: only {open} stalled connections open at once: the attack is not in place"
    );
    let started = Instant::now();
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!(
            "http://{address}/metadata/identity/oauth2/token?resource=https://vault.azure.net"
        ))
        .send()
        .await
        .unwrap();
    let answered_in = started.elapsed();
    assert_eq!(answer.status().as_u16(), 400, "{address}: the probe's answer");
    assert!(
        answered_in < Duration::from_secs(1),
        "{address}: a probe took {answered_in:?} among {open} stalled connections"
    );
    all_closed_by_server(address, closed, STALLED_HANDSHAKES + TRICKLING).await;
    answered_in
}

async fn attack(server: &Server) -> Duration {
    let address = host_port(&server.address);
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&server.ca).unwrap();
    for cert in <rustls_pki_types::CertificateDer as rustls_pki_types::pem::PemObject>::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();

    let mut closed = JoinSet::new();
    // A thousand that finish TLS, start a request and send one header line a second.
    for _ in 0..TRICKLING {
        let tcp = TcpStream::connect(&address).await.unwrap();
        let mut tls = connector.connect(name.clone(), tcp).await.unwrap();
        tls.write_all(b"POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\n").await.unwrap();
        let (reader, writer) = tokio::io::split(tls);
        closed.spawn(trickled(reader, writer));
    }
    // A thousand that send the first bytes of a TLS record and then nothing.
    for _ in 0..STALLED_HANDSHAKES {
        let mut tcp = TcpStream::connect(&address).await.unwrap();
        tcp.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
        closed.spawn(closed_by_server(tcp));
    }
    let open = open_connections(&server.metrics).await;
    assert!(
        open >= (STALLED_HANDSHAKES + TRICKLING) as u64,
        "{}: only {open} stalled connections open at once: the attack is not in place",
        server.address
    );

    let ca = reqwest::Certificate::from_pem(&std::fs::read(&server.ca).unwrap()).unwrap();
    let http = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let started = Instant::now();
    let answer = http
        .get(format!("https://{address}/healthz-not-here"))
        .send()
        .await
        .unwrap();
    let answered_in = started.elapsed();
    assert!(
        answer.status().is_client_error(),
        "{}: {}",
        server.address,
        answer.status()
    );
    assert!(
        answered_in < Duration::from_secs(1),
        "{}: a normal request took {answered_in:?} among {open} stalled connections",
        server.address
    );

    all_closed_by_server(&server.address, closed, STALLED_HANDSHAKES + TRICKLING).await;
    answered_in
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_answers_under_stalled_connections_and_closes_them() {
    // As the servers do for themselves: the soft limit up to the hard one.
    wif_server::limits::raise_open_files_limit(&wif_server::ConnectionLimits::default());
    let limit = open_files_limit();
    assert!(
        limit >= 3 * (STALLED_HANDSHAKES + TRICKLING) as u64,
        "this test needs {} open files; the limit is {limit} (raise it with ulimit -n)",
        3 * (STALLED_HANDSHAKES + TRICKLING)
    );
    let mut figures = Vec::new();

    let webhook = start(
        "webhook",
        &[
            "webhook",
            "--bind-address",
            "127.0.0.1",
            "--port",
            "0",
            "--health-addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "127.0.0.1:0",
            "--service-accounts",
            "sas.yaml",
            "--tenant-id",
            "33333333-0000-4000-8000-000000000003",
        ],
        |dir| {
            std::fs::write(
                dir.join("sas.yaml"),
                "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: demo}\n",
            )
            .unwrap()
        },
    );
    figures.push(("webhook", attack(&webhook).await));
    drop(webhook);

    let sts = start(
        "sts",
        &[
            "sts",
            "--config",
            "directory.yaml",
            "--addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:0",
        ],
        |dir| {
            std::fs::write(
                dir.join("directory.yaml"),
                "tenants:\n  - tenantId: 33333333-0000-4000-8000-000000000003\n    domain: contoso.onmicrosoft.com\n",
            )
            .unwrap()
        },
    );
    figures.push(("sts", attack(&sts).await));
    drop(sts);

    let issuer = start(
        "issuer",
        &[
            "issuer",
            "serve",
            "--key",
            "issuer.key",
            "--issuer",
            "https://127.0.0.1:1",
            "--addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:0",
        ],
        |dir| {
            let out = wif(
                &["issuer", "keygen", "--out", &dir.join("issuer.key").to_string_lossy()],
                b"",
            );
            assert!(out.status.success(), "{}", stderr(&out));
        },
    );
    figures.push(("issuer", attack(&issuer).await));
    drop(issuer);

    let dir = std::env::temp_dir().join(format!("wif-it-hostile-proxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token"), "not.read.here").unwrap();
    let (mut proxy, line) = spawn_with_banner(
        Command::new(env!("CARGO_BIN_EXE_wif"))
            .args(["proxy", "--proxy-port", "0", "--header-read-timeout", TIMEOUT])
            .env("AZURE_TENANT_ID", "33333333-0000-4000-8000-000000000003")
            .env("AZURE_CLIENT_ID", "11111111-0000-4000-8000-000000000001")
            .env("AZURE_FEDERATED_TOKEN_FILE", dir.join("token"))
            .stderr(Stdio::null()),
    );
    let address = host_port(&banner_field(&line, "listening on "));
    figures.push(("proxy", attack_plain(&address).await));
    let _ = Command::new("kill").args(["-TERM", &proxy.id().to_string()]).status();
    let _ = proxy.wait();
    let _ = std::fs::remove_dir_all(&dir);

    // The closing note's figures: `cargo test -- --nocapture` shows them.
    for (server, took) in figures {
        println!("{server}: normal request answered in {took:?} among 2000 stalled connections");
    }
}
