//! wif-webhook: the mutating admission webhook, wire-compatible with Azure/azure-workload-identity.
//! [`review`] decodes and encodes AdmissionReview v1/v1beta1, [`accounts`] finds ServiceAccounts,
//! [`server`] is the HTTP shell over the `wif-core` planner.

pub mod accounts;
pub mod certs;
pub mod kube_accounts;
pub mod review;
pub mod rotation;
pub mod server;

pub use accounts::{ServiceAccountSource, StaticServiceAccounts};
pub use kube_accounts::KubeServiceAccounts;
pub use server::{WebhookMetrics, WebhookState, router};
