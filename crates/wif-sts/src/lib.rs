//! wif-sts: a local stand-in for Microsoft Entra ID's token endpoint, for workload identity
//! federation. Real Azure SDKs talk to it unchanged: it serves the v2 and v1 token endpoints,
//! tenant discovery and keys, validates federated assertions the way Entra does (issuer
//! metadata, signature, time, exact credential match), answers with Entra's errors, and adds
//! to each refusal a `wif_diagnosis` in plain words.
//!
//! Beside it, the local Azure plane the seeds' tutorials need: ARM ([`arm`]), the Graph
//! calls azure-cli makes ([`graph`]) and the Key Vault data plane ([`vault`]), over one state
//! ([`cloud`], kept by [`store`]) that the token endpoint reads too, with Azure RBAC ([`rbac`])
//! deciding and every caller's token checked ([`caller`]).
//!
//! The decisions are pure ([`exchange`], [`directory`], [`tokens`], [`errors`], [`cloud::ops`],
//! [`rbac`], [`keyvault`]); [`issuers`] fetches issuer keys and [`server`] is the HTTP shell.

pub mod arm;
pub mod caller;
pub mod cloud;
pub mod directory;
pub mod errors;
pub mod exchange;
pub mod graph;
pub mod issuers;
pub mod keyvault;
pub mod local;
pub mod management;
pub mod rbac;
pub mod server;
pub mod store;
pub mod tokens;
pub mod vault;

pub use directory::Directory;
pub use local::{LocalEmulator, StaticIssuer};
pub use server::{StsMetrics, StsState, router};
