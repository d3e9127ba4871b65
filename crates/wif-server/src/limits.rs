//! What a server grants one client: how long it may take to finish TLS, to send a request's
//! headers, to get a whole request (body included) handled, how long a keep-alive connection
//! may sit idle, and how many connections are served at once. It owns the limits and the
//! per-connection activity record the accept loop checks them against; the loop is in `serve`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The bounds on every client of a server. The defaults suit each wif server: kube-apiserver
/// calls a webhook with a 10 s timeout and reuses a handful of connections; SDKs send one
/// small form per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From accept to the end of the TLS handshake.
    pub handshake_timeout: Duration,
    /// From the end of the handshake (or the previous response) to the last header line of a
    /// request. Headers trickled a line at a time still count from the start.
    pub header_read_timeout: Duration,
    /// From the request's headers to its response, reading the body included; past it the
    /// client gets 408 and the connection is closed.
    pub request_timeout: Duration,
    /// How long a keep-alive connection with no request in flight stays open.
    pub idle_timeout: Duration,
    /// Connections served at once on one listener. Past it new connections wait in the
    /// kernel's accept queue; the ones being served are not disturbed.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            max_connections: 4096,
        }
    }
}

/// Raises the process's soft limit on open files to its hard limit, as Go programs do at
/// start (upstream's webhook gets that for free): containers often start with a soft limit
/// of 1,024, too few for `max_connections` of 4,096. Returns the limit now in force, and logs
/// a warning when it is still below what `limits` may need (two descriptors a connection on
/// the main listener and the admin ones, plus a margin).
pub fn raise_open_files_limit(limits: &ConnectionLimits) -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let current = getrlimit(Resource::Nofile);
    let raised = rustix::process::Rlimit {
        current: current.maximum,
        maximum: current.maximum,
    };
    let now = match setrlimit(Resource::Nofile, raised) {
        Ok(()) => getrlimit(Resource::Nofile).current,
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-files limit");
            current.current
        }
    };
    let wanted = u64::try_from(limits.max_connections)
        .unwrap_or(u64::MAX)
        .saturating_mul(2)
        .saturating_add(64);
    if let Some(limit) = now.filter(|limit| *limit < wanted) {
        tracing::warn!(
            open_files = limit,
            max_connections = limits.max_connections,
            "the open-files limit is below what --max-connections may need; past it, accepts fail and are retried"
        );
    }
    now
}

/// How long a connection told to close (idle, or draining at shutdown) gets to finish the
/// response it is writing before it is dropped: a client that stopped reading must not keep
/// it open.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// A connection's activity: requests in flight and when the last one began or ended. Shared
/// by the connection's service (which records) and its watchdog (which reads).
#[derive(Debug)]
pub(crate) struct Activity {
    origin: Instant,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    /// Milliseconds from `origin` to the last change.
    last_change_ms: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Activity {
            origin: Instant::now(),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            last_change_ms: AtomicU64::new(0),
        })
    }

    fn touch(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_change_ms.store(ms, Ordering::Relaxed);
    }

    /// Records a request's start; the guard records its end.
    pub(crate) fn begin(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.touch();
        RequestGuard(Arc::clone(self))
    }

    /// When the connection counts as idle too long, or `None` while a request is in flight
    /// (the request deadline bounds that). Before the first request the header timeout is the
    /// limit: a client that connects and sends nothing gets no more time than one that
    /// trickles.
    pub(crate) fn idle_deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let limit = if self.requests.load(Ordering::Relaxed) == 0 {
            limits.header_read_timeout
        } else {
            limits.idle_timeout
        };
        let since = Duration::from_millis(self.last_change_ms.load(Ordering::Relaxed));
        Some(self.origin + since + limit)
    }
}

/// Ends a request's record when dropped (the handler finished, failed or was cancelled).
#[derive(Debug)]
pub(crate) struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_files_soft_limit_is_raised_to_the_hard_one() {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let hard = getrlimit(Resource::Nofile).maximum;
        // Start as a container does, with a soft limit of 1,024 (the other tests of this
        // binary need far fewer descriptors, and the limit is raised again at once).
        let low = hard.map_or(1024, |h| h.min(1024));
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(low),
                maximum: hard,
            },
        )
        .unwrap();
        assert_eq!(getrlimit(Resource::Nofile).current, Some(low));
        let now = raise_open_files_limit(&ConnectionLimits::default());
        assert_eq!(now, hard, "soft = hard (None means unlimited)");
        assert_eq!(getrlimit(Resource::Nofile).current, hard);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_deadline_follows_the_requests() {
        let limits = ConnectionLimits {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(7),
            ..ConnectionLimits::default()
        };
        let activity = Activity::new();
        let start = Instant::now();
        assert_eq!(activity.idle_deadline(&limits), Some(start + Duration::from_secs(2)));
        tokio::time::advance(Duration::from_secs(1)).await;
        let guard = activity.begin();
        assert_eq!(activity.idle_deadline(&limits), None, "a request is in flight");
        tokio::time::advance(Duration::from_secs(3)).await;
        drop(guard);
        assert_eq!(
            activity.idle_deadline(&limits),
            Some(start + Duration::from_secs(4 + 7))
        );
    }
}
