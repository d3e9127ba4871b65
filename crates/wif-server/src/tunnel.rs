//! The HTTP `CONNECT` front of a listener: clients that set `HTTPS_PROXY` to it ask
//! `CONNECT host:port`, and a host the policy allows is answered `200` and then served on the
//! same connection, TLS and all, by the listener's own router; any other host, any other
//! method, and anything malformed or oversized is refused at once with a short plain-text
//! answer. No name is resolved and nothing is forwarded: the tunnel ends here, which is how
//! names without DNS (vault hosts) reach a local server without root or a hosts file.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest `CONNECT` request head read.
pub const MAX_CONNECT_BYTES: usize = 8 * 1024;

/// Which hosts a tunnel is opened for.
#[derive(Clone)]
pub struct TunnelPolicy {
    allows: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    /// What the refusal tells the client the tunnel is for.
    pub description: String,
}

impl std::fmt::Debug for TunnelPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunnelPolicy")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl TunnelPolicy {
    /// Tunnels to the hosts `allows` accepts (it gets the host without the port).
    pub fn new(description: impl Into<String>, allows: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        TunnelPolicy {
            allows: Arc::new(allows),
            description: description.into(),
        }
    }
}

/// Why a tunnel was not opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TunnelError {
    /// Not a `CONNECT`.
    #[error("not a CONNECT request")]
    NotConnect,
    /// No valid `host:port`, or no HTTP/1 version.
    #[error("malformed CONNECT request")]
    Malformed,
    /// The head did not end within [`MAX_CONNECT_BYTES`].
    #[error("CONNECT request head over {MAX_CONNECT_BYTES} bytes")]
    TooLarge,
    /// A host the policy does not allow.
    #[error("CONNECT to {0:?} refused")]
    HostRefused(String),
    /// The client closed the connection before the head ended.
    #[error("the client closed the connection before the CONNECT head ended")]
    Closed,
    /// The socket failed.
    #[error("the CONNECT exchange failed")]
    Io(#[source] std::io::Error),
}

/// The host and port of a `CONNECT` request line, with the HTTP version checked.
pub fn parse_connect(line: &str) -> Result<(&str, u16), TunnelError> {
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TunnelError::Malformed);
    };
    if method != "CONNECT" {
        return Err(TunnelError::NotConnect);
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(TunnelError::Malformed);
    }
    let (host, port) = target.rsplit_once(':').ok_or(TunnelError::Malformed)?;
    let port: u16 = port.parse().map_err(|_| TunnelError::Malformed)?;
    let valid_host = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !valid_host {
        return Err(TunnelError::Malformed);
    }
    Ok((host, port))
}

async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, status: &str, text: &str) {
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads the `CONNECT` head from `stream` and answers it: `200` when the policy allows the
/// host (the stream is then the tunnel), else a refusal and the error. The caller bounds the
/// time this takes.
pub async fn accept_connect<S>(stream: &mut S, policy: &TunnelPolicy) -> Result<String, TunnelError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // One byte at a time: nothing past the head may be read, since the client's TLS
    // handshake follows it on the same stream.
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_CONNECT_BYTES {
            refuse(
                stream,
                "431 Request Header Fields Too Large",
                "CONNECT request head too large\n",
            )
            .await;
            return Err(TunnelError::TooLarge);
        }
        let mut byte = [0u8; 1];
        match stream.read(&mut byte).await {
            Ok(0) => return Err(TunnelError::Closed),
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(TunnelError::Io(e)),
        }
    }
    let line = head
        .split(|b| *b == b'\n')
        .next()
        .and_then(|l| std::str::from_utf8(l).ok())
        .map(|l| l.trim_end_matches('\r'))
        .unwrap_or_default();
    let (host, _port) = match parse_connect(line) {
        Ok(target) => target,
        Err(error) => {
            let (status, text) = match error {
                TunnelError::NotConnect => (
                    "405 Method Not Allowed",
                    format!("this port is a CONNECT proxy for {} only\n", policy.description),
                ),
                _ => ("400 Bad Request", "malformed CONNECT request\n".to_owned()),
            };
            refuse(stream, status, &text).await;
            return Err(error);
        }
    };
    if !(policy.allows)(host) {
        let text = format!(
            "wif: CONNECT to {host} refused: this proxy tunnels only to {}; set NO_PROXY for other hosts\n",
            policy.description
        );
        refuse(stream, "403 Forbidden", &text).await;
        return Err(TunnelError::HostRefused(host.to_owned()));
    }
    let host = host.to_owned();
    stream
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .map_err(TunnelError::Io)?;
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vaults() -> TunnelPolicy {
        TunnelPolicy::new("*.vault.wif.test", |h| h.ends_with(".vault.wif.test"))
    }

    async fn exchange(request: &[u8]) -> (Result<String, TunnelError>, String) {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        client.write_all(request).await.unwrap();
        let result = accept_connect(&mut server, &vaults()).await;
        drop(server);
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        (result, answer)
    }

    #[tokio::test]
    async fn an_allowed_host_is_tunnelled_and_nothing_past_the_head_is_read() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        client
            .write_all(b"CONNECT kv1.vault.wif.test:443 HTTP/1.0\r\nHost: kv1.vault.wif.test:443\r\n\r\n\x16\x03\x01")
            .await
            .unwrap();
        assert_eq!(
            accept_connect(&mut server, &vaults()).await.unwrap(),
            "kv1.vault.wif.test"
        );
        let mut rest = [0u8; 3];
        server.read_exact(&mut rest).await.unwrap();
        assert_eq!(
            &rest, b"\x16\x03\x01",
            "the TLS bytes after the head stay for the handshake"
        );
        let mut answer = [0u8; 39];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200 Connection Established\r\n\r\n");
    }

    #[tokio::test]
    async fn other_hosts_methods_and_garbage_are_refused_with_a_reason() {
        let (result, answer) = exchange(b"CONNECT azcliprod.blob.core.windows.net:443 HTTP/1.1\r\n\r\n").await;
        assert!(
            matches!(&result, Err(TunnelError::HostRefused(host)) if host == "azcliprod.blob.core.windows.net"),
            "{result:?}"
        );
        assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
        assert!(answer.contains("tunnels only to *.vault.wif.test"), "{answer}");
        let (result, answer) = exchange(b"GET http://example.com/ HTTP/1.1\r\n\r\n").await;
        assert!(matches!(result, Err(TunnelError::NotConnect)), "{result:?}");
        assert!(answer.starts_with("HTTP/1.1 405 "), "{answer}");
        for bad in [
            &b"CONNECT kv1.vault.wif.test HTTP/1.1\r\n\r\n"[..],
            b"CONNECT a:99999 HTTP/1.1\r\n\r\n",
            b"CONNECT a b:1 HTTP/1.1\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
        ] {
            let (result, answer) = exchange(bad).await;
            assert!(matches!(result, Err(TunnelError::Malformed)), "{bad:?}: {result:?}");
            assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        }
        let mut huge = b"CONNECT kv1.vault.wif.test:443 HTTP/1.1\r\n".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_CONNECT_BYTES));
        let (result, answer) = exchange(&huge).await;
        assert!(matches!(result, Err(TunnelError::TooLarge)), "{result:?}");
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    }

    #[tokio::test]
    async fn a_client_that_leaves_mid_head_is_told_apart_from_a_failed_socket() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        client
            .write_all(b"CONNECT kv1.vault.wif.test:443 HTTP/1.1\r\n")
            .await
            .unwrap();
        client.shutdown().await.unwrap();
        let result = accept_connect(&mut server, &vaults()).await;
        assert!(matches!(result, Err(TunnelError::Closed)), "{result:?}");
    }
}
