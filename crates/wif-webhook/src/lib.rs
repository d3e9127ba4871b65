//! wif-webhook: the mutating admission webhook, wire-compatible with Azure/azure-workload-identity.
//! [`review`] decodes and encodes AdmissionReview v1/v1beta1, [`accounts`] finds ServiceAccounts,
//! [`server`] is the HTTP shell over the `wif-core` planner, [`stranded`] finds (and heals)
//! labelled pods the webhook never mutated, one replica at a time through [`lease`].

pub mod accounts;
pub mod certs;
pub mod kube_accounts;
pub mod lease;
pub mod review;
pub mod rotation;
pub mod server;
pub mod stranded;

pub use accounts::{ServiceAccountSource, StaticServiceAccounts};
pub use kube_accounts::KubeServiceAccounts;
pub use server::{WebhookMetrics, WebhookState, router};
