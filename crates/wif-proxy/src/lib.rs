//! wif-proxy: a managed-identity endpoint for apps whose SDK only speaks managed identity
//! (old SDKs, `az login --identity`, ODBC drivers, aad-pod-identity users). It answers IMDS's
//! token requests (`/metadata/identity/oauth2/token`) and App Service's (`IDENTITY_ENDPOINT` +
//! `IDENTITY_HEADER`) on 127.0.0.1 with tokens exchanged from the pod's projected
//! service-account token through `wif-client`'s cache, for the default identity, every named
//! one, and, as upstream, any other client id in the default tenant (at most
//! [`ad_hoc::MAX_AD_HOC_IDENTITIES`] held). A drop-in for azure-workload-identity's proxy
//! sidecar, stricter where upstream hands out the wrong identity's token, and with the
//! iptables redirect as an idempotent, undoable plan ([`redirect`]).
//!
//! Pure parts ([`route`], [`host`], [`request`], [`identities`], [`ad_hoc`], [`answer`],
//! [`redirect`]) do no I/O; [`server`] is the thin shell around them.

pub mod ad_hoc;
pub mod answer;
mod credentials;
pub mod host;
pub mod identities;
pub mod metrics;
pub mod passthrough;
pub mod probe;
pub mod redirect;
pub mod request;
pub mod route;
pub mod server;

pub use identities::{ConfigError, IdentityTable, Selected};
pub use redirect::Redirect;
pub use server::{Proxy, ProxyError, ProxyOptions};
