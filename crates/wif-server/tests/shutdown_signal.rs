//! `shutdown_signal` installs its handlers when called, before its future is polled: a command
//! prints that it listens between the two, and a SIGTERM sent by the reader of that line must
//! stop it cleanly, not kill it (what a test of `wif up` once saw on a slow host). Its own test
//! binary: the signals go to this process.

use std::process::Command;
use std::time::Duration;

/// Sends `signal` to this process, as a supervisor or a test would.
fn send(signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal}: {status}");
}

#[tokio::test]
async fn a_signal_sent_before_the_future_is_polled_stops_it_and_kills_nothing() {
    for signal in ["TERM", "INT"] {
        let stop = wif_server::shutdown_signal();
        // Sent and delivered before anything polls `stop`: with a handler installed on first
        // poll, the default action would end this test binary here.
        send(signal);
        tokio::time::timeout(Duration::from_secs(30), stop)
            .await
            .unwrap_or_else(|_| panic!("SIG{signal} sent before the first poll was never seen"));
    }
}
