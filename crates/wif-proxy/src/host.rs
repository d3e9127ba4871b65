//! Which hosts a request may name: loopback ones (`localhost`, `127.0.0.1` and the rest of
//! 127/8, `[::1]`) and the metadata address `169.254.169.254`, which pods' requests name when
//! the iptables redirect brings them here; with any port or none, since the proxy's port is
//! configurable and redirected requests name port 80. Every name a request carries is checked:
//! each `Host` header and the authority of an HTTP/2 or absolute-form request. A page in a
//! browser under DNS rebinding names its own domain, so it is refused before any route runs.
//! A request that names no host at all (HTTP/1.0 without `Host`) is answered: a browser always
//! sends one, and old tools may not. Pure: the names in, a [`Refusal`] out. It does not decide
//! who may connect (the listener is on 127.0.0.1 only).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::request::Refusal;

/// The instance metadata address: pods reach the proxy by it through the iptables redirect.
pub const IMDS_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);

/// The longest part of a refused host quoted back.
const SHOWN_CHARS: usize = 200;

/// The name or address of a `Host` value (`name`, `name:port`, `[v6]`, `[v6]:port`), without
/// the brackets; `None` when the port is not a port or the brackets do not close.
fn host_part(value: &str) -> Option<&str> {
    let (host, port) = match value.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']')?;
            match after {
                "" => (inside, None),
                _ => (inside, Some(after.strip_prefix(':')?)),
            }
        }
        None => match value.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        },
    };
    // An empty port is allowed by the URI grammar (`host:`).
    match port {
        Some(port) if !port.is_empty() && port.parse::<u16>().is_err() => None,
        _ => Some(host),
    }
}

/// Whether `value` (a `Host` header's value or an authority) names a host the proxy answers.
pub fn allowed(value: &str) -> bool {
    let bracketed = value.starts_with('[');
    let Some(host) = host_part(value) else {
        return false;
    };
    if bracketed {
        return host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback() || ip == IMDS_ADDRESS)
}

/// Refuses (403) the first of `named` (the request's `Host` values and authority, as sent)
/// that is not [`allowed`]; no name at all is allowed.
pub fn check<'a>(named: impl IntoIterator<Item = &'a [u8]>) -> Result<(), Refusal> {
    for value in named {
        let text = std::str::from_utf8(value).ok();
        if text.is_some_and(allowed) {
            continue;
        }
        let shown: String = String::from_utf8_lossy(value).chars().take(SHOWN_CHARS).collect();
        return Err(Refusal::new(
            403,
            "forbidden_host",
            format!(
                "the wif proxy answers requests for localhost, 127.0.0.1, [::1] or {IMDS_ADDRESS} only (any port); the host {shown:?} is refused, as a web page reaching the proxy under DNS rebinding would name its own"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_the_metadata_address_with_any_port_are_allowed() {
        for host in [
            "localhost",
            "LocalHost:8000",
            "localhost:",
            "127.0.0.1",
            "127.0.0.1:8000",
            "127.0.0.53:80",
            "[::1]",
            "[::1]:8000",
            "[0:0:0:0:0:0:0:1]:1",
            "169.254.169.254",
            "169.254.169.254:80",
        ] {
            assert!(allowed(host), "{host}");
        }
    }

    #[test]
    fn other_names_and_malformed_hosts_are_refused() {
        for host in [
            "",
            "evil.example",
            "evil.example:8000",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "localhost:80:80",
            "localhost:http",
            "127.0.0.1:65536",
            "127.1",
            "0.0.0.0",
            "10.0.0.1:8000",
            "169.254.169.253",
            "::1",
            "[::1",
            "[::1]x",
            "[::2]:80",
            "[::ffff:127.0.0.1]",
            "[localhost]",
        ] {
            assert!(!allowed(host), "{host}");
        }
    }

    #[test]
    fn every_name_is_checked_and_none_at_all_passes() {
        assert_eq!(check([]), Ok(()));
        assert_eq!(check([b"127.0.0.1:8000".as_slice(), b"localhost"]), Ok(()));
        let refused = check([b"localhost".as_slice(), b"rebound.example:8000"]).unwrap_err();
        assert_eq!((refused.status, refused.error.as_str()), (403, "forbidden_host"));
        assert!(
            refused
                .description
                .contains("the host \"rebound.example:8000\" is refused"),
            "{}",
            refused.description
        );
        let binary = check([b"\xff\xfe".as_slice()]).unwrap_err();
        assert_eq!(binary.status, 403);
    }
}
