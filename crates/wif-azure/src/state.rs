//! What the plane's surfaces share once it is served: the emulator beside it, the store every
//! change goes through, the vault suffix, and the plane's metrics.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use wif_sts::StsState;

use crate::storage::store::BlobService;
use crate::store::Store;

/// What the surfaces share: the emulator (its key, URL and clock, and the directory a commit
/// swaps), the store, and the vault suffix (fixed at start, so routing a request takes no lock).
#[derive(Debug)]
pub struct AzureState {
    /// The emulator beside which the plane is served.
    pub emulator: Arc<StsState>,
    /// The state every change goes through.
    pub store: Store,
    /// The Key Vault DNS suffix: requests for host `V.<suffix>` are vault `V`'s.
    pub vault_dns_suffix: String,
    /// The storage endpoint suffix: requests for host `A.blob.<suffix>` are account `A`'s.
    pub storage_suffix: String,
    /// Each account's containers and blobs, by the account's ARM id (lower case), so that an
    /// account deleted and made again elsewhere does not find the old one's blobs.
    pub blobs: tokio::sync::Mutex<std::collections::BTreeMap<String, BlobService>>,
    /// Where the blobs are kept across restarts, when the plane keeps a state file.
    pub blob_files: Option<crate::blob::BlobFiles>,
    /// Answers by surface and status.
    pub metrics: AzureMetrics,
    /// Whether the plane answers as Azure's public hosts (`wif up --production-names`): ARM
    /// and Graph then advertise `management.azure.com` and `graph.microsoft.com`.
    pub production_names: bool,
}

impl AzureState {
    /// ARM's base URL, as the cloud's metadata advertises it (no trailing slash).
    pub fn arm_url(&self) -> String {
        if self.production_names {
            wif_core::cloud::public::ARM_URL.to_owned()
        } else {
            self.emulator.public_url()
        }
    }

    /// Graph's base URL (no trailing slash).
    pub fn graph_url(&self) -> String {
        if self.production_names {
            wif_core::cloud::public::GRAPH_URL.to_owned()
        } else {
            self.emulator.public_url()
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SurfaceLabels {
    surface: &'static str,
    status: u16,
}

/// The plane's metrics: `wif_sts_azure_requests{surface,status}`.
#[derive(Debug, Clone, Default)]
pub struct AzureMetrics {
    requests: Family<SurfaceLabels, Counter>,
}

impl AzureMetrics {
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let metrics = AzureMetrics::default();
        registry.register(
            "wif_sts_azure_requests",
            "Requests to the local Azure plane by surface (arm, graph, vault) and HTTP status",
            metrics.requests.clone(),
        );
        metrics
    }

    pub(crate) fn count(&self, surface: &'static str, status: u16) {
        self.requests.get_or_create(&SurfaceLabels { surface, status }).inc();
    }

    /// Answers so far with `status` from `surface` (tests, diagnostics).
    pub fn count_of(&self, surface: &'static str, status: u16) -> u64 {
        self.requests.get_or_create(&SurfaceLabels { surface, status }).get()
    }
}
