//! `wif proxy --probe`, upstream's postStart hook: kubelet starts the app only once the proxy
//! answers `/readyz` with 200. Upstream gives up at once when the proxy is not listening yet
//! (the hook races the server's start); here a refused connection is retried like a non-200.

use std::time::Duration;

/// Attempts, as upstream.
pub const ATTEMPTS: u32 = 7;
/// The wait between attempts, as upstream.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// Each attempt's timeout, as upstream.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the probe failed: upstream's words, then the last attempt's.
#[derive(Debug, thiserror::Error)]
#[error("failed to probe proxy: {last}")]
pub struct ProbeError {
    /// What the last attempt saw.
    pub last: String,
}

/// Asks `http://127.0.0.1:{port}/readyz` until it answers 200, at most `attempts` times,
/// `interval` apart.
pub async fn probe(port: u16, attempts: u32, interval: Duration) -> Result<(), ProbeError> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(ATTEMPT_TIMEOUT)
        .build()
        .map_err(|e| ProbeError { last: e.to_string() })?;
    let url = format!("http://127.0.0.1:{port}/readyz");
    let mut last = String::from("no attempt made");
    for attempt in 1..=attempts.max(1) {
        match http.get(&url).send().await {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) => {
                let status = answer.status();
                let reason = answer.text().await.unwrap_or_default();
                last = format!(
                    "{url} answered {status}: {}",
                    reason.chars().take(300).collect::<String>()
                );
            }
            Err(error) => last = format!("{url}: {}", wif_core::error_text::error_chain(&error)),
        }
        tracing::info!(attempt, %last, "proxy not ready yet");
        if attempt < attempts {
            tokio::time::sleep(interval).await;
        }
    }
    Err(ProbeError { last })
}
