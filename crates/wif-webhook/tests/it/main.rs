//! Integration tests of wif-webhook, one binary: the server over real TLS, and the in-cluster
//! ServiceAccount source against an API double.

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

mod kube_source;
mod rotation;
mod server;
