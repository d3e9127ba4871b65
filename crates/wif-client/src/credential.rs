//! Federated credentials: an identity, the assertion source and an HTTPS client, sharing a
//! token cache. [`WorkloadIdentity`] builds them from the environment the webhook injects,
//! for the default identity and every named one; any other identity can be chosen at run time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wif_core::settings::{EnvSource, ProcessEnv};

use crate::assertion::{AssertionSource, TokenFile};
use crate::cache::{AccessToken, CacheOutcome, IdentitySlots, TokenCache};
use crate::error::ClientError;
use crate::exchange::{FreshToken, TokenClient};
use crate::identity::{self, Identity};

/// Gets tokens for one identity, from the cache or by exchanging the assertion.
#[derive(Debug, Clone)]
pub struct FederatedCredential {
    identity: Identity,
    assertion: Arc<dyn AssertionSource>,
    client: TokenClient,
    cache: Arc<TokenCache>,
    slots: Arc<IdentitySlots>,
}

impl FederatedCredential {
    /// A credential for `identity`.
    pub fn new(
        identity: Identity,
        assertion: Arc<dyn AssertionSource>,
        client: TokenClient,
        cache: Arc<TokenCache>,
    ) -> Self {
        let slots = cache.identity(&identity);
        FederatedCredential {
            identity,
            assertion,
            client,
            cache,
            slots,
        }
    }

    /// The identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// A token for `scope` (one resource, `RESOURCE/.default`).
    pub async fn get_token(&self, scope: &str) -> Result<AccessToken, ClientError> {
        self.get_token_observed(scope, |_, _| {}).await.0
    }

    /// As [`FederatedCredential::get_token`], saying how the cache answered, and handing each
    /// exchange this lookup starts to `observe` with its duration (for metrics).
    pub async fn get_token_observed(
        &self,
        scope: &str,
        observe: impl FnOnce(Duration, &Result<FreshToken, ClientError>) + Send + 'static,
    ) -> (Result<AccessToken, ClientError>, CacheOutcome) {
        // What the exchange needs is cloned only when one starts: a cache hit allocates nothing.
        let fetch = || {
            let (assertion, client, identity) =
                (Arc::clone(&self.assertion), self.client.clone(), self.identity.clone());
            let owned_scope = scope.to_owned();
            async move {
                let started = Instant::now();
                let result = match assertion.assertion() {
                    Ok(assertion) => client.exchange(&identity, &owned_scope, &assertion).await,
                    Err(error) => Err(error),
                };
                observe(started.elapsed(), &result);
                result
            }
        };
        self.cache.get_with_outcome(&self.slots, scope, fetch).await
    }
}

/// The pod's workload identity: one projected token, one HTTPS client and one cache for the
/// default identity, every named identity, and any identity chosen at run time.
#[derive(Debug, Clone)]
pub struct WorkloadIdentity {
    assertion: Arc<dyn AssertionSource>,
    client: TokenClient,
    cache: Arc<TokenCache>,
}

impl WorkloadIdentity {
    /// From parts.
    pub fn new(assertion: Arc<dyn AssertionSource>, client: TokenClient, cache: Arc<TokenCache>) -> Self {
        WorkloadIdentity {
            assertion,
            client,
            cache,
        }
    }

    /// From the process environment: `AZURE_FEDERATED_TOKEN_FILE`, `SSL_CERT_FILE`.
    pub fn from_process_env() -> Result<Self, ClientError> {
        Self::from_env(&ProcessEnv, None)
    }

    /// From an environment, trusting `extra_ca_pem` besides the system roots. Two identities
    /// in two tenants from one projected token, against a local emulator:
    ///
    /// ```
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::collections::HashMap;
    /// let dir = std::env::temp_dir().join(format!("wif-client-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let issuer = wif_issuer::StaticIssuer::create("https://oidc.example/cluster-1/", &dir)?;
    /// let credential = |tenant: &str, client: &str| format!(
    ///     "  - tenantId: {tenant}\n    applications:\n      - displayName: app\n        appId: {client}\n        federatedIdentityCredentials:\n          - {{ name: k8s, issuer: \"{}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\n",
    ///     issuer.url);
    /// let yaml = format!("tenants:\n{}{}{}",
    ///     credential("aaaaaaaa-0000-4000-8000-00000000000a", "11111111-0000-4000-8000-000000000001"),
    ///     credential("bbbbbbbb-0000-4000-8000-00000000000b", "22222222-0000-4000-8000-000000000002"),
    ///     issuer.issuers_section());
    /// let emulator = wif_sts::LocalEmulator::start(&yaml, &dir).await?;
    /// std::fs::write(dir.join("token"), issuer.token("demo", "app")?)?;
    ///
    /// // What the webhook injects into the pod, and a second identity under a name.
    /// let token_file = dir.join("token").display().to_string();
    /// let env: HashMap<&str, String> = HashMap::from([
    ///     ("AZURE_AUTHORITY_HOST", emulator.url.clone()),
    ///     ("AZURE_TENANT_ID", "aaaaaaaa-0000-4000-8000-00000000000a".into()),
    ///     ("AZURE_CLIENT_ID", "11111111-0000-4000-8000-000000000001".into()),
    ///     ("AZURE_FEDERATED_TOKEN_FILE", token_file),
    ///     ("AZURE_CLIENT_ID_WRITER", "22222222-0000-4000-8000-000000000002".into()),
    ///     ("AZURE_TENANT_ID_WRITER", "bbbbbbbb-0000-4000-8000-00000000000b".into()),
    /// ]);
    /// let workload = wif_client::WorkloadIdentity::from_env(&env, Some(emulator.ca_pem.as_bytes()))?;
    /// let reader = workload.default_credential(&env)?.get_token("https://vault.azure.net/.default").await?;
    /// let writer = workload.named(&env, "writer")?.get_token("https://storage.azure.com/.default").await?;
    /// assert_ne!(reader.token, writer.token);
    /// # std::fs::remove_dir_all(dir)?;
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().expect("a runtime").block_on(example()).expect("the example runs");
    /// ```
    pub fn from_env(env: &impl EnvSource, extra_ca_pem: Option<&[u8]>) -> Result<Self, ClientError> {
        let token_file = identity::token_file_from_env(env)?;
        Ok(Self::new(
            Arc::new(TokenFile::new(token_file)),
            TokenClient::new(env, extra_ca_pem)?,
            Arc::new(TokenCache::default()),
        ))
    }

    /// Where the assertion comes from (the proxy's readiness check reads it).
    pub fn assertion_source(&self) -> &Arc<dyn AssertionSource> {
        &self.assertion
    }

    /// The token cache every credential of this workload shares.
    pub fn cache(&self) -> &Arc<TokenCache> {
        &self.cache
    }

    /// A credential for any identity.
    pub fn credential(&self, identity: Identity) -> FederatedCredential {
        FederatedCredential::new(
            identity,
            Arc::clone(&self.assertion),
            self.client.clone(),
            Arc::clone(&self.cache),
        )
    }

    /// A credential for any identity whose tokens live in a cache of its own (on the shared
    /// clock) and are freed with it. For identities chosen by callers at run time in no fixed
    /// number (the proxy's ad-hoc client ids), which the shared cache would keep for ever.
    pub fn credential_with_own_cache(&self, identity: Identity) -> FederatedCredential {
        FederatedCredential::new(
            identity,
            Arc::clone(&self.assertion),
            self.client.clone(),
            Arc::new(TokenCache::with_clock(Arc::clone(self.cache.clock()))),
        )
    }

    /// The default identity (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST`).
    pub fn default_credential(&self, env: &impl EnvSource) -> Result<FederatedCredential, ClientError> {
        Ok(self.credential(identity::from_env(env)?))
    }

    /// A named identity (`AZURE_CLIENT_ID_<ALIAS>` ...).
    pub fn named(&self, env: &impl EnvSource, alias: &str) -> Result<FederatedCredential, ClientError> {
        Ok(self.credential(identity::named_from_env(env, alias)?))
    }
}
