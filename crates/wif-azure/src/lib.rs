//! wif-azure: the local Azure identity plane the seeds' tutorials touch, served beside the
//! Entra ID emulator (`wif_sts`) as its [`wif_sts::Plane`]: Azure Resource Manager ([`arm`]),
//! the Microsoft Graph calls azure-cli makes and the federated-credential API ([`graph`]), and
//! the Key Vault data plane ([`vault`]), over one state ([`config`], changed only through
//! [`store`]'s commit) that the token endpoint reads too, with Azure RBAC ([`rbac`]) deciding
//! and every caller's token checked ([`caller`]).
//!
//! The decisions are pure ([`ops`], [`rbac`], [`keyvault`], [`storage`] for Blob Storage's
//! requests, [`config::check`]); [`plane`]
//! routes requests to the surfaces, each a thin HTTP shell. This crate depends on `wif-sts`,
//! never the reverse: the token endpoint knows nothing of Azure resources.

pub mod arm;
pub mod blob;
pub mod caller;
pub mod config;
pub mod graph;
pub mod keyvault;
pub mod ops;
pub mod plane;
pub mod rbac;
mod respond;
pub mod state;
pub mod storage;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod vault;

pub use config::AzureConfig;
pub use plane::{AzurePlane, Beside, PlaneHandle};
pub use state::AzureState;
pub use store::{InvalidConfig, LoadError, Store, load_config};
