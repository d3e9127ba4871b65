//! One module per command: its clap flags, what it prints and its exit code; the work itself is
//! the library crates'. Flag groups several commands share are [`service_args`] (listeners,
//! TLS, client limits) and [`settings_args`] (the webhook's settings).

pub mod demo;
pub mod doctor;
pub mod issuer;
pub mod jwks;
pub mod proxy;
pub mod render;
pub mod service_args;
pub mod settings_args;
pub mod sts;
pub mod token;
pub mod up;
pub mod webhook;
