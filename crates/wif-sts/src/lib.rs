//! wif-sts: a local stand-in for Microsoft Entra ID's token endpoint, for workload identity
//! federation. Real Azure SDKs talk to it unchanged: it serves the v2 and v1 token endpoints,
//! tenant discovery and keys, validates federated assertions the way Entra does (issuer
//! metadata, signature, time, exact credential match), answers with Entra's errors, and adds
//! to each refusal a `wif_diagnosis` in plain words.
//!
//! The decisions are pure ([`exchange`], [`directory`], [`tokens`], [`errors`]); [`issuers`]
//! fetches issuer keys and [`server`] is the HTTP shell.

pub mod directory;
pub mod errors;
pub mod exchange;
pub mod issuers;
pub mod keyvault;
pub mod local;
pub mod management;
pub mod rbac;
pub mod server;
pub mod tokens;

pub use directory::Directory;
pub use local::{LocalEmulator, StaticIssuer};
pub use server::{StsMetrics, StsState, router};
