//! The `Host` rule over real sockets, with requests written by hand so every header is as
//! sent: a host that is neither loopback's nor the metadata address (a page under DNS
//! rebinding) is refused with 403 in the route's protocol, logged and counted, before any
//! token is looked up; every way a legitimate client names the proxy still gets its token.
//! Nothing is sent to 169.254.169.254: it is only a `Host` value sent to 127.0.0.1.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

const IMDS_PATH: &str = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net";

/// Sends `head` (the request line and headers, without the blank line) to the proxy and
/// answers the status and the JSON body.
async fn raw(proxy: &RunningProxy, head: &str) -> (u16, Value) {
    let address = proxy.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let status = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_host_that_is_not_loopback_is_refused_before_any_token() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    let refused_text = |host: &str| {
        format!(
            "the wif proxy answers requests for localhost, 127.0.0.1, [::1] or 169.254.169.254 only (any port); the host {host:?} is refused, as a web page reaching the proxy under DNS rebinding would name its own"
        )
    };

    let (status, body) = raw(
        &proxy,
        &format!("GET {IMDS_PATH} HTTP/1.1\r\nHost: rebound.example:8000\r\nMetadata: true"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body,
        json!({"error": "forbidden_host", "error_description": refused_text("rebound.example:8000")})
    );

    // The authority of an absolute-form request is a name too, whatever Host says.
    let (status, body) = raw(
        &proxy,
        &format!("GET http://rebound.example{IMDS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nMetadata: true"),
    )
    .await;
    assert_eq!((status, &body["error"]), (403, &json!("forbidden_host")), "{body}");

    // A second Host header cannot slip one past.
    let (status, _) = raw(
        &proxy,
        &format!("GET {IMDS_PATH} HTTP/1.1\r\nHost: localhost\r\nHost: rebound.example\r\nMetadata: true"),
    )
    .await;
    assert_eq!(status, 403);

    // App Service's endpoint answers in its own shape, the secret notwithstanding.
    let (status, body) = raw(
        &proxy,
        &format!(
            "GET /msi/token?api-version=2019-08-01&resource=https://vault.azure.net HTTP/1.1\r\nHost: rebound.example\r\nX-IDENTITY-HEADER: {SECRET}"
        ),
    )
    .await;
    assert_eq!(
        body,
        json!({"statusCode": 403, "message": format!("forbidden_host: {}", refused_text("rebound.example"))})
    );
    assert_eq!(status, 403);

    assert_eq!(proxy.metrics.request_count("imds_token", "host_refused"), 3);
    assert_eq!(proxy.metrics.request_count("app_service_token", "host_refused"), 1);
    assert_eq!(setup.exchanges(), 0, "no token was asked for");
}

#[tokio::test]
async fn every_way_a_pod_names_the_proxy_still_gets_a_token() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    let port = proxy.url.rsplit(':').next().unwrap().to_owned();
    for host in [
        // azure-identity and curl through the iptables redirect.
        "169.254.169.254".to_owned(),
        "169.254.169.254:80".to_owned(),
        // IDENTITY_ENDPOINT / AZURE_POD_IDENTITY_AUTHORITY_HOST on loopback.
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("[::1]:{port}"),
    ] {
        let (status, body) = raw(
            &proxy,
            &format!("GET {IMDS_PATH} HTTP/1.1\r\nHost: {host}\r\nMetadata: true"),
        )
        .await;
        assert_eq!(status, 200, "{host}: {body}");
        assert_eq!(body["client_id"], READER, "{host}");
    }
    // HTTP/1.0 without Host: answered (a browser always names a host).
    let (status, body) = raw(&proxy, &format!("GET {IMDS_PATH} HTTP/1.0\r\nMetadata: true")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = raw(
        &proxy,
        &format!(
            "GET /msi/token?api-version=2019-08-01&resource=https://vault.azure.net HTTP/1.1\r\nHost: 169.254.169.254\r\nX-IDENTITY-HEADER: {SECRET}"
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The ordinary client and the probe's host.
    assert_eq!(proxy.imds("resource=https://vault.azure.net").await.status, 200);
    assert_eq!(proxy.get("/readyz", &[]).await.status, 200);
    assert_eq!(proxy.metrics.request_count("imds_token", "host_refused"), 0);
}
