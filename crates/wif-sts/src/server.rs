//! The emulator's HTTP surface: a thin shell that decodes requests, runs [`crate::exchange`],
//! and encodes Entra's responses: the token endpoints (`token`), discovery and keys
//! (`discovery`), each over the shared state (`state`) and answering as Entra does
//! (`respond`). Every advertised URL is built from the emulator's public URL (default: its
//! listen address), never from the request's `Host`, as Entra's are.

use axum::Router;
use axum::routing::{any, get};

mod discovery;
mod metrics;
mod respond;
mod state;
mod token;

pub use metrics::StsMetrics;
pub use respond::not_found;
use state::Shared;
pub use state::StsState;
pub use token::MAX_FORM_BYTES;

/// The emulator's routes; anything else is a 404 in Entra's shape (a plane served beside it,
/// [`crate::emulator::Plane`], replaces that fallback with its own routes).
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", any(token::token_v2))
        .route("/{tenant}/oauth2/token", any(token::token_v1))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::metadata_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::metadata_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys))
        .route("/{tenant}/discovery/keys", get(discovery::keys))
        .route("/common/discovery/instance", get(discovery::instance_discovery))
        .fallback(not_found)
        .with_state(state)
}
