//! wif-issuer: a Kubernetes cluster's OIDC issuer, both sides of it. Serving: the discovery
//! document and JWKS Entra ID fetches ([`documents`], for `wif issuer serve`, `wif up` and the
//! demo), the projected token files kubelet keeps fresh ([`token_writer`]) and the key files
//! behind them ([`key_files`], [`files`]). Fetching: the one discovery-and-JWKS fetch
//! ([`fetch`]) that the emulator's key cache ([`keys`]) and the doctor share. And a local
//! issuer for the demo and tests ([`local`]). JOSE itself is `wif-jose`'s; TLS `wif-server`'s.

pub mod config;
pub mod documents;
pub mod fetch;
mod fetch_error;
pub mod files;
pub mod key_files;
pub mod keys;
pub mod local;
pub mod token_writer;

pub use config::IssuerConfig;
pub use documents::{DocumentsError, IssuerDocuments};
pub use fetch::{FetchError, IssuerCheck};
pub use keys::{IssuerKeys, Timing};
pub use local::{LocalIssuer, LocalIssuerError, StaticIssuer};
pub use token_writer::{TokenFile, TokenWriteError, TokenWriter};
