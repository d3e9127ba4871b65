//! The operations ARM, Graph and the vault shell run on the state, pure: each takes the
//! config (and, for what it makes, the new ids and the time, so nothing here draws random
//! numbers or reads a clock), changes it or reads it, and answers with ARM's own error when
//! Azure would refuse (codes and texts as ARM sends them, spec/azure-control-plane.md §2–§6).
//! This module owns subscriptions and resource groups; identities and their credentials,
//! vaults and clusters, storage accounts, and role assignments each have their own.

mod assignments;
mod error;
mod groups;
mod identities;
mod storage;
mod vaults;

pub use assignments::*;
pub use error::*;
pub use groups::*;
pub use identities::*;
pub use storage::*;
pub use vaults::*;

#[cfg(test)]
mod tests;
