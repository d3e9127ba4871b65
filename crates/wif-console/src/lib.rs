//! wif-console: the operator's web console of the local Entra ID and Azure plane, served by the
//! emulator beside its surfaces under `/_console/` ([`Console::beside`]). It shows tenants,
//! app registrations and user-assigned identities with their federated credentials, role
//! assignments by scope, vaults and storage accounts by name, and the token exchanges as they
//! happen (the emulator's [`wif_sts::journal`]), with the portal's writes: "Add credential"
//! (the Kubernetes scenario), removing one, and "Add role assignment". Every write is the same
//! operation, through the same commit, as Graph's and ARM's ([`wif_azure::graph::add_as_operator`],
//! [`wif_azure::ops::create_assignment`]), so azure-cli sees it at once.
//!
//! Who may use it is [`access`]'s: a one-time login link becomes a session cookie, every form
//! carries the session's CSRF token, and nothing but the login page and the static files
//! answers without a session. It answers only for a loopback `Host`. Pages are plain HTML
//! rendered on the server ([`pages`], maud: every value escaped by construction), with one
//! small script that adds live rows; the forms are pure steps ([`forms`]).
//!
//! ```no_run
//! # async fn example(config: wif_azure::AzureConfig) -> Result<(), Box<dyn std::error::Error>> {
//! let console = wif_console::Console::new(wif_console::Console::random_secret()?);
//! let link_keys = console.keys();
//! let (directory, plane) = wif_azure::AzurePlane::new(config, ".".into(), None)?;
//! let emulator = wif_sts::Emulator::new(directory).plane(plane.beside(console.beside())).start_local().await?;
//! let token = link_keys.mint(wif_console::Console::random_nonce()?, wif_core::clock::unix_now());
//! println!("{}/_console/login?token={token}", emulator.url);
//! # Ok(()) }
//! ```

use std::sync::Arc;

pub mod access;
mod entropy;
pub mod forms;
pub mod pages;
mod server;

use access::LoginKeys;
pub use entropy::RandomFailed;
use entropy::random;

/// The path the console is served under.
pub const PATH: &str = "/_console";

/// The console before it is served: its login keys.
#[derive(Debug, Clone)]
pub struct Console {
    keys: Arc<LoginKeys>,
}

impl Console {
    /// A console whose login links are made under `secret`.
    pub fn new(secret: [u8; 32]) -> Self {
        Console {
            keys: Arc::new(LoginKeys::new(secret)),
        }
    }

    /// 32 random bytes for [`Console::new`].
    pub fn random_secret() -> Result<[u8; 32], RandomFailed> {
        random()
    }

    /// 16 random bytes for [`LoginKeys::mint`].
    pub fn random_nonce() -> Result<[u8; 16], RandomFailed> {
        random()
    }

    /// The keys that make and take login links (to print a link).
    pub fn keys(&self) -> Arc<LoginKeys> {
        Arc::clone(&self.keys)
    }

    /// The console as the plane serves it beside its surfaces.
    pub fn beside(&self) -> wif_azure::Beside {
        let keys = Arc::clone(&self.keys);
        wif_azure::Beside {
            path: PATH,
            make: Box::new(move |plane| server::router(plane, keys)),
        }
    }
}
