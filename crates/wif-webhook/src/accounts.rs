//! Where the webhook finds a pod's ServiceAccount. In a cluster: a cache of ServiceAccount
//! metadata with a direct GET on a miss (upstream's race fix). Offline and in tests: a file.

use std::collections::BTreeMap;

use serde_json::Value;
use wif_core::ServiceAccountInfo;
use wif_core::manifest::ServiceAccountIndex;

/// A lookup that could not be answered (the API server is down, ...): the pod is denied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The API server did not answer in time.
    #[error("the API server did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The API server answered with an error, or could not be reached.
    #[error("the API server could not be asked")]
    Api(#[source] kube::Error),
    /// A ServiceAccounts file that cannot be read.
    #[error("the ServiceAccounts cannot be read")]
    File(#[source] wif_core::manifest::RenderError),
}

/// Finds ServiceAccounts.
#[async_trait::async_trait]
pub trait ServiceAccountSource: Send + Sync + std::fmt::Debug {
    /// The account, `None` when it does not exist.
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<ServiceAccountInfo>, LookupError>;
    /// Whether lookups can be answered yet (the cache has synced).
    fn is_ready(&self) -> bool {
        true
    }
}

/// ServiceAccounts from manifests (`--service-accounts FILE`).
#[derive(Debug, Default)]
pub struct StaticServiceAccounts {
    index: ServiceAccountIndex,
}

impl StaticServiceAccounts {
    /// From parsed YAML documents.
    pub fn from_documents(documents: &[Value], default_namespace: &str) -> Result<Self, LookupError> {
        let index = ServiceAccountIndex::from_documents(documents, default_namespace).map_err(LookupError::File)?;
        Ok(StaticServiceAccounts { index })
    }

    /// From accounts given directly.
    pub fn from_accounts(accounts: impl IntoIterator<Item = ServiceAccountInfo>) -> Self {
        let mut index = ServiceAccountIndex::default();
        for account in accounts {
            index.insert(account);
        }
        StaticServiceAccounts { index }
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

#[async_trait::async_trait]
impl ServiceAccountSource for StaticServiceAccounts {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<ServiceAccountInfo>, LookupError> {
        Ok(self.index.get(namespace, name).cloned())
    }
}

/// An account with annotations, for tests and examples.
pub fn account(namespace: &str, name: &str, annotations: &[(&str, &str)]) -> ServiceAccountInfo {
    ServiceAccountInfo {
        namespace: namespace.into(),
        name: name.into(),
        annotations: annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}
