//! Integration tests of wif-webhook, one binary: the server over real TLS, and the in-cluster
//! ServiceAccount source against an API double.

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

mod kube_source;
mod rotation;
mod server;

/// Waits, bounded far above what any step needs, until `done` holds: tests wait on what the
/// code does, never on a fixed sleep.
pub async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while !done().await {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} never happened"));
}
