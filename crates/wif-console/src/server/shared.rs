//! What the console's handlers share: the plane's state, the login keys and the open sessions.

use std::sync::{Arc, Mutex};

use wif_azure::AzureState;

use crate::access::{LoginKeys, Sessions};

/// What the handlers share.
#[derive(Debug)]
pub(crate) struct ConsoleState {
    /// The plane the console shows and changes.
    pub(crate) plane: Arc<AzureState>,
    /// The keys login links are checked with.
    pub(crate) keys: Arc<LoginKeys>,
    /// The open sessions.
    pub(crate) sessions: Mutex<Sessions>,
}

/// The state as handlers hold it.
pub(crate) type Shared = Arc<ConsoleState>;
