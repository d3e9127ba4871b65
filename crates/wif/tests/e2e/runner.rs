//! The scenario runner the end-to-end and node test binaries share (`harness = false`): each
//! scenario a task on the shared runtime, in order, bounded in time (and stopped, not just
//! dropped, when it runs over, so it cannot load the scenarios after it), printed as `ok` or
//! `FAILED` with its time, and a summary.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

/// The scenario table from `module::function` names: each name as printed, and the function
/// boxed as a [`Scenario`].
macro_rules! scenarios {
    ($($module:ident :: $name:ident),* $(,)?) => {
        &[$((concat!(stringify!($module), "::", stringify!($name)), |env| Box::pin($module::$name(env)) as std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>)),*]
    };
}

/// A scenario over the shared fixture `E`.
pub type Scenario<E> = fn(Arc<E>) -> Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// How long one scenario may take.
const SCENARIO_DEADLINE: Duration = Duration::from_secs(300);

/// Runs the scenarios whose names contain one of `filters` (all when there is none) and
/// prints each outcome; the names of those that failed, and how many passed.
pub fn run<E: Send + Sync + 'static>(
    runtime: &tokio::runtime::Runtime,
    env: &Arc<E>,
    scenarios: &[(&'static str, Scenario<E>)],
    filters: &[String],
) -> (usize, Vec<&'static str>) {
    let (mut passed, mut failed) = (0usize, Vec::new());
    for (name, scenario) in scenarios {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let started = Instant::now();
        let task = runtime.spawn(scenario(Arc::clone(env)));
        let abort = task.abort_handle();
        let outcome = runtime.block_on(async {
            match tokio::time::timeout(SCENARIO_DEADLINE, task).await {
                Ok(Ok(result)) => result,
                Ok(Err(join)) => Err(anyhow::anyhow!("panicked: {join}")),
                Err(_) => {
                    abort.abort();
                    Err(anyhow::anyhow!("did not finish within {SCENARIO_DEADLINE:?}"))
                }
            }
        });
        let took = started.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("ok      {name} ({took:.1} s)");
            }
            Err(error) => {
                println!("FAILED  {name} ({took:.1} s): {error:#}");
                failed.push(*name);
            }
        }
    }
    (passed, failed)
}

/// Prints the summary line and the failed scenarios; the exit code (success only when some
/// scenario ran and none failed).
pub fn summary(binary: &str, passed: usize, failed: &[&str]) -> std::process::ExitCode {
    println!("\n{binary}: {passed} passed, {} failed", failed.len());
    for name in failed {
        println!("  failed: {name}");
    }
    if failed.is_empty() && passed > 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
