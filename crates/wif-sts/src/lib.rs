//! wif-sts: a local stand-in for Microsoft Entra ID's token endpoint, for workload identity
//! federation. Real Azure SDKs talk to it unchanged: it serves the v2 and v1 token endpoints,
//! tenant discovery and keys, validates federated assertions the way Entra does (issuer
//! metadata, signature, time, exact credential match), answers with Entra's errors, and adds
//! to each refusal a `wif_diagnosis` in plain words.
//!
//! The decisions are pure ([`exchange`], [`directory`], [`tokens`], [`errors`]); issuer keys
//! are `wif_issuer`'s; [`server`] is the HTTP shell and [`emulator`] the one assembly, with a
//! [`emulator::Plane`] served beside it (the local Azure plane lives in `wif-azure`, which
//! depends on this crate, never the reverse).

pub mod directory;
pub mod emulator;
pub mod errors;
pub mod exchange;
pub mod journal;
pub mod server;
pub mod tokens;

pub use directory::{Directory, DirectoryConfig, DirectoryError};
pub use emulator::{BoundEmulator, Emulator, EmulatorError, LocalEmulator, Plane};
pub use server::{StsMetrics, StsState, router};
