//! Which requests are a vault's: a host `V.<suffix>` names vault `V`, the `CONNECT` front lets
//! exactly those hosts through, and a vault's tokens are for `https://<suffix>`.

/// The vault a host names, when it is `V.<suffix>` (ports ignored on both sides).
pub fn vault_of_host<'h>(host: &'h str, suffix: &str) -> Option<&'h str> {
    let host = strip_port(host);
    let suffix = strip_port(suffix.trim_start_matches('.'));
    let name = host
        .len()
        .checked_sub(suffix.len() + 1)
        .and_then(|at| host.get(..at).filter(|_| host.get(at..at + 1) == Some(".")))?;
    let tail = host.get(name.len() + 1..)?;
    (tail.eq_ignore_ascii_case(suffix) && !name.is_empty() && !name.contains('.')).then_some(name)
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

/// The CONNECT policy for vault hosts under `suffix`: one label under it, nothing else.
pub fn tunnel_policy(suffix: &str) -> wif_server::TunnelPolicy {
    let owned = suffix.trim_start_matches('.').to_owned();
    wif_server::TunnelPolicy::new(format!("vault hosts *.{owned}"), move |host| {
        vault_of_host(host, &owned).is_some()
    })
}

/// The resource a vault's tokens are for: `https://<suffix>` (`https://vault.azure.net` for
/// Azure's own suffix), a dot-suffix of every vault host as the SDKs' challenge check needs.
pub fn resource(suffix: &str) -> String {
    format!("https://{}", suffix.trim_start_matches('.'))
}
