//! Azure Blob Storage's data plane as the local plane serves it (issue 27), its pure part: which
//! operation a request is and what Azure RBAC requires of the caller for it ([`operation`]), the
//! blocks a Put Block List commits ([`block_list`]), one account's containers and blobs with
//! ranges, listings and conditional writes ([`store`]), its XML answers ([`xml`]), the names
//! Storage accepts ([`names`]),
//! and Storage's error answers ([`error`]), in Storage's own codes and words so that the SDKs
//! and azure-cli react as they do against Azure. No I/O, no clock: the HTTP shell for
//! `<account>.blob.<suffix>` hosts and the store's persistence come next.

pub mod block_list;
pub mod error;
pub mod names;
pub mod operation;
pub mod store;
pub mod xml;

pub use error::StorageError;
pub use operation::{BlobOperation, BlobRequest, Requirement, classify};
