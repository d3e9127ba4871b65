//! Command-line choices shared by every wif server command: where the serving certificate
//! comes from, and the bounds on every client. (TLS minimum and admin address defaults differ
//! per server, so they stay there.)

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use wif_server::{ConnectionLimits, TlsSource};

/// `--cert-dir` or `--self-signed-ca-out`, one of them required.
#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// Directory with tls.crt and tls.key, reloaded when they change.
    #[arg(long, value_name = "DIR", conflicts_with = "self_signed_ca_out")]
    pub cert_dir: Option<PathBuf>,
    /// Make a throwaway CA and serving certificate instead, and write the CA here for clients.
    #[arg(long, value_name = "FILE")]
    pub self_signed_ca_out: Option<PathBuf>,
}

impl TlsArgs {
    /// The source; a self-signed certificate also names `extra_names` besides loopback.
    pub fn source(&self, extra_names: &[&str]) -> Result<TlsSource> {
        Ok(match (&self.cert_dir, &self.self_signed_ca_out) {
            (Some(dir), _) => TlsSource::CertDir(dir.clone()),
            (None, Some(ca_out)) => TlsSource::SelfSigned {
                ca_out: ca_out.clone(),
                extra_names: extra_names
                    .iter()
                    .map(|n| n.trim_start_matches('[').trim_end_matches(']').to_owned())
                    .filter(|n| !n.is_empty())
                    .collect(),
            },
            (None, None) => bail!("pass --cert-dir DIR (tls.crt, tls.key) or --self-signed-ca-out FILE"),
        })
    }
}

/// The bounds on every client, each with the default `wif-server` gives it. Durations are
/// written as Go's (`10s`, `500ms`, `2m`), as upstream's flags are.
#[derive(Debug, Clone, Args)]
pub struct LimitsArgs {
    /// How long a client may take to finish the TLS handshake.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub handshake_timeout: Duration,
    /// How long a client may take to send a request's headers (and the first request after
    /// connecting).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub header_read_timeout: Duration,
    /// How long a whole request may take, body included; past it the answer is 408.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub request_timeout: Duration,
    /// How long a keep-alive connection may sit idle.
    #[arg(long, default_value = "90s", value_parser = parse_duration, value_name = "DURATION")]
    pub idle_timeout: Duration,
    /// Connections served at once per listener; more wait to be accepted.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
}

impl LimitsArgs {
    /// The limits these flags name, with the process's open-files limit raised to fit them.
    pub fn limits(&self) -> ConnectionLimits {
        let limits = self.flag_limits();
        wif_server::limits::raise_open_files_limit(&limits);
        limits
    }

    fn flag_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            handshake_timeout: self.handshake_timeout,
            header_read_timeout: self.header_read_timeout,
            request_timeout: self.request_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }
}

/// [`parse_duration`], or zero (`0s`, `0`): for delays that may be off.
pub fn parse_delay(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if !number.is_empty() && number.bytes().all(|b| b == b'0') && matches!(unit, "" | "ms" | "s" | "m" | "h") {
        return Ok(Duration::ZERO);
    }
    parse_duration(text)
}

/// A Go-style duration: a whole number and a unit (`ms`, `s`, `m`, `h`), more than zero and at
/// most a day.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 10s or 2m"))?;
    let millis = match unit {
        "ms" => Some(number),
        "s" => number.checked_mul(1000),
        "m" => number.checked_mul(60_000),
        "h" => number.checked_mul(3_600_000),
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    match millis {
        Some(ms) if ms > 0 && ms <= 86_400_000 => Ok(Duration::from_millis(ms)),
        _ => Err(format!("{text:?}: a duration must be more than 0 and at most 24h")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_defaults_are_the_servers_defaults() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            limits: LimitsArgs,
        }
        let parsed = <Command as clap::Parser>::try_parse_from(["wif"]).unwrap();
        assert_eq!(parsed.limits.flag_limits(), ConnectionLimits::default());
        let refused = <Command as clap::Parser>::try_parse_from(["wif", "--max-connections", "0"]);
        assert!(refused.is_err_and(|e| e.kind() == clap::error::ErrorKind::ValueValidation));
    }

    #[test]
    fn durations_read_as_go_writes_them() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(
            parse_duration("10"),
            Err("\"10\": the unit must be ms, s, m or h".to_owned())
        );
        assert_eq!(
            parse_duration("s"),
            Err("\"s\" is not a duration such as 500ms, 10s or 2m".to_owned())
        );
        assert_eq!(
            parse_duration("0s"),
            Err("\"0s\": a duration must be more than 0 and at most 24h".to_owned())
        );
        assert_eq!(
            parse_duration("25h"),
            Err("\"25h\": a duration must be more than 0 and at most 24h".to_owned())
        );
        assert!(parse_duration("99999999999999999999h").is_err_and(|e| e.contains("not a duration")));
        assert!(parse_duration("5é").is_err_and(|e| e.contains("the unit must be")));
    }

    #[test]
    fn a_delay_may_be_zero_and_is_otherwise_a_duration() {
        for zero in ["0", "0s", "00ms", "0m"] {
            assert_eq!(parse_delay(zero), Ok(Duration::ZERO), "{zero}");
        }
        assert_eq!(parse_delay("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(
            parse_delay("0x"),
            Err("\"0x\": the unit must be ms, s, m or h".to_owned())
        );
        assert_eq!(
            parse_delay("-1s"),
            Err("\"-1s\" is not a duration such as 500ms, 10s or 2m".to_owned())
        );
        assert!(parse_delay("25h").is_err_and(|e| e.contains("at most 24h")));
    }
}
