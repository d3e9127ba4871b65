//! Background tasks that cannot die silently: [`supervise`] runs one for ever, and when it
//! panics or returns, says so in the log and starts it again after a backoff. A certificate
//! rotation or a cache watch that stopped would otherwise fail the cluster's pods hours later
//! with nothing in the log.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The first restart's delay; it doubles with each restart in a row, up to [`MAX_RESTART_DELAY`].
pub const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);
/// The longest delay between two restarts.
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);
/// A task that ran this long before it ended starts again from the first delay.
const HEALTHY_RUN: Duration = Duration::from_secs(300);

/// The delay before the `restarts`-th restart in a row.
pub fn restart_delay(restarts: u32) -> Duration {
    FIRST_RESTART_DELAY
        .saturating_mul(1u32.checked_shl(restarts.saturating_sub(1)).unwrap_or(u32::MAX))
        .min(MAX_RESTART_DELAY)
}

/// Runs the future `start` makes on its own task, and again each time it panics or returns.
/// The returned handle ends only when aborted (or the runtime stops).
pub fn supervise<F, Fut>(name: &'static str, start: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut restarts = 0u32;
        loop {
            let began = Instant::now();
            match tokio::spawn(start()).await {
                Ok(()) => tracing::error!(task = name, "background task ended; starting it again"),
                Err(error) if error.is_panic() => {
                    tracing::error!(task = name, %error, "background task panicked; starting it again");
                }
                // Cancelled: the runtime is shutting down.
                Err(_) => return,
            }
            restarts = if began.elapsed() >= HEALTHY_RUN {
                1
            } else {
                restarts.saturating_add(1)
            };
            tokio::time::sleep(restart_delay(restarts)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn delays_double_up_to_a_minute() {
        let seconds: Vec<u64> = [1, 2, 3, 6, 7, 100]
            .iter()
            .map(|n| restart_delay(*n).as_secs())
            .collect();
        assert_eq!(seconds, [1, 2, 4, 32, 60, 60]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_panics_or_returns_is_started_again() {
        let runs = Arc::new(AtomicU32::new(0));
        let third_run = Arc::new(tokio::sync::Notify::new());
        let (counter, notify) = (Arc::clone(&runs), Arc::clone(&third_run));
        let handle = supervise("test", move || {
            let (counter, notify) = (Arc::clone(&counter), Arc::clone(&notify));
            async move {
                match counter.fetch_add(1, Ordering::SeqCst) {
                    0 => panic!("the first run panics"),
                    1 => {} // the second returns
                    _ => {
                        notify.notify_one();
                        std::future::pending::<()>().await;
                    }
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(600), third_run.notified())
            .await
            .expect("started a third time");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        handle.abort();
    }
}
