//! The credentials the proxy takes tokens from: one per configured identity, made at start and
//! sharing the workload's token cache, and one per ad-hoc client id, made on first use with a
//! token cache of its own and held within [`crate::ad_hoc`]'s bound, so that evicting one
//! frees its tokens. Which identity a request selects is [`crate::identities`]'; no I/O here
//! (a credential is built, no token fetched).

use std::ops::Deref;
use std::sync::Arc;

use wif_client::{FederatedCredential, WorkloadIdentity};

use crate::ad_hoc::{AdHoc, MAX_AD_HOC_IDENTITIES};
use crate::identities::{IdentityTable, Selected};
use crate::metrics::ProxyMetrics;
use crate::request::Refusal;

/// Every credential of one proxy.
#[derive(Debug)]
pub(crate) struct Credentials {
    configured: Vec<FederatedCredential>,
    ad_hoc: AdHoc<Arc<FederatedCredential>>,
}

/// The credential chosen for one request: borrowed when configured (a cached answer touches
/// no reference count), shared when ad hoc (it may be evicted while the request runs; its
/// tokens are then freed when the request is done).
pub(crate) enum Chosen<'a> {
    Configured(&'a FederatedCredential),
    AdHoc(Arc<FederatedCredential>),
}

impl Deref for Chosen<'_> {
    type Target = FederatedCredential;

    fn deref(&self) -> &FederatedCredential {
        match self {
            Chosen::Configured(credential) => credential,
            Chosen::AdHoc(credential) => credential,
        }
    }
}

impl Credentials {
    /// The configured identities' credentials; no ad-hoc one yet.
    pub(crate) fn new(workload: &WorkloadIdentity, table: &IdentityTable) -> Self {
        Credentials {
            configured: table
                .entries()
                .iter()
                .map(|entry| workload.credential(entry.identity.clone()))
                .collect(),
            ad_hoc: AdHoc::new(MAX_AD_HOC_IDENTITIES),
        }
    }

    /// The credential of `selected`, making and holding an ad-hoc one on first use.
    pub(crate) fn choose(
        &self,
        selected: &Selected,
        table: &IdentityTable,
        workload: &WorkloadIdentity,
        metrics: &ProxyMetrics,
    ) -> Result<Chosen<'_>, Refusal> {
        match selected {
            Selected::Configured(index) => self
                .configured
                .get(*index)
                .map(Chosen::Configured)
                .ok_or_else(|| Refusal::new(500, "unknown", "no credential for the identity")),
            Selected::AdHoc(client_id) => {
                let taken = self.ad_hoc.get_or_insert_with(client_id, || {
                    table
                        .ad_hoc_identity(client_id)
                        .map(|identity| Arc::new(workload.credential_with_own_cache(identity)))
                })?;
                if taken.added {
                    let identity = taken.value.identity();
                    tracing::info!(
                        client_id = %identity.client_id,
                        tenant_id = %identity.tenant_id,
                        "serving a client id that is none of the proxy's identities, in the default tenant (Entra's federated credential decides)"
                    );
                    metrics.ad_hoc(self.ad_hoc.len(), taken.evicted.is_some());
                }
                if let Some(evicted) = &taken.evicted {
                    tracing::debug!(client_id = %evicted, bound = MAX_AD_HOC_IDENTITIES, "ad-hoc client id evicted, least recently used");
                }
                Ok(Chosen::AdHoc(taken.value))
            }
        }
    }
}
