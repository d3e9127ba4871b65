//! wif-core: the pure logic of wif. It owns the compatibility contract with
//! Azure/azure-workload-identity, webhook settings, mutation planning, manifest walking, the
//! YAML streams manifests come in, federated-credential matching, the rules users break and
//! the doctor's checks of them, and which running pods the webhook missed (stranded pods).
//! It does no I/O and has no async runtime: values in, values out, tested in microseconds.
//! Servers and the CLI are thin shells around it.

pub mod clock;
pub mod cloud;
pub mod contract;
pub mod doctor;
pub mod error_text;
pub mod fic;
pub mod line_diff;
pub mod manifest;
pub mod migrate;
pub mod mutation;
pub mod rules;
pub mod settings;
pub mod stranded;
pub mod yaml;

pub use mutation::{Denial, MutationPlan, MutationRequest, PodView, ServiceAccountInfo, plan_mutation};
pub use settings::{TokenLayout, WebhookSettings};
