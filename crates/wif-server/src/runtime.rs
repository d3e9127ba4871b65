//! The one place a tokio runtime is made: servers get a multi-threaded one (two workers by
//! default, what a sidecar or a laptop server needs; the webhook chooses its own), commands that
//! make a few requests get one thread. Every runtime has I/O and time enabled.

use tokio::runtime::{Builder, Runtime};

/// What the runtime runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    /// A long-running server: `workers` threads, or one per core when `None`.
    Server {
        /// Worker threads.
        workers: Option<usize>,
    },
    /// A command that makes a few requests and exits: the current thread only.
    Command,
}

/// Servers' usual runtime: two worker threads.
pub const SERVER: RuntimeKind = RuntimeKind::Server { workers: Some(2) };

/// A runtime of `kind`.
///
/// ```
/// let runtime = wif_server::runtime::build(wif_server::runtime::RuntimeKind::Command).expect("a runtime");
/// assert_eq!(runtime.block_on(async { 1 + 1 }), 2);
/// ```
pub fn build(kind: RuntimeKind) -> std::io::Result<Runtime> {
    let mut builder = match kind {
        RuntimeKind::Server { workers } => {
            let mut builder = Builder::new_multi_thread();
            if let Some(workers) = workers {
                builder.worker_threads(workers);
            }
            builder
        }
        RuntimeKind::Command => Builder::new_current_thread(),
    };
    builder.enable_all().build()
}
