//! The compatibility contract with Azure/azure-workload-identity v1.6.0: every label,
//! annotation, environment variable, volume, path and bound that users and tools depend
//! on, as named constants. Nothing here decides behaviour; `mutation` and `settings` do.
//!
//! The values are facts about upstream (spec/upstream-azwi.md §1); changing one breaks
//! drop-in compatibility, so each is pinned by a test.

/// The upstream annotation and label prefix.
pub const PREFIX: &str = "azure.workload.identity/";

/// Pod label that opts a pod into mutation (the MutatingWebhookConfiguration's
/// objectSelector matches it; the value must be the string `"true"`).
pub const LABEL_USE: &str = "azure.workload.identity/use";
/// The only value of [`LABEL_USE`] the objectSelector matches.
pub const LABEL_USE_VALUE: &str = "true";

/// ServiceAccount annotation: the client id injected as `AZURE_CLIENT_ID`.
pub const ANNOTATION_CLIENT_ID: &str = "azure.workload.identity/client-id";
/// ServiceAccount annotation: the tenant id injected as `AZURE_TENANT_ID`.
pub const ANNOTATION_TENANT_ID: &str = "azure.workload.identity/tenant-id";
/// Pod or ServiceAccount annotation: `expirationSeconds` of the projected token (pod wins).
pub const ANNOTATION_TOKEN_EXPIRATION: &str = "azure.workload.identity/service-account-token-expiration";
/// Pod annotation: `;`-separated container names that get neither env nor mount.
pub const ANNOTATION_SKIP_CONTAINERS: &str = "azure.workload.identity/skip-containers";
/// Pod annotation whose *presence* injects the IMDS proxy (upstream ignores the value).
pub const ANNOTATION_INJECT_PROXY_SIDECAR: &str = "azure.workload.identity/inject-proxy-sidecar";
/// Pod annotation: the proxy's port.
pub const ANNOTATION_PROXY_SIDECAR_PORT: &str = "azure.workload.identity/proxy-sidecar-port";

/// Every annotation key upstream reads, for typo detection.
pub const KNOWN_ANNOTATIONS: &[&str] = &[
    ANNOTATION_CLIENT_ID,
    ANNOTATION_TENANT_ID,
    ANNOTATION_TOKEN_EXPIRATION,
    ANNOTATION_SKIP_CONTAINERS,
    ANNOTATION_INJECT_PROXY_SIDECAR,
    ANNOTATION_PROXY_SIDECAR_PORT,
];

/// Our own prefix. Extensions never live under [`PREFIX`], so upstream can never collide
/// with them.
pub const WIF_PREFIX: &str = "wif.dev/";
/// ServiceAccount annotation prefix of a named identity's client id:
/// `wif.dev/client-id.<alias>` becomes `AZURE_CLIENT_ID_<ALIAS>`.
pub const WIF_ANNOTATION_CLIENT_ID_PREFIX: &str = "wif.dev/client-id.";
/// `wif.dev/tenant-id.<alias>` becomes `AZURE_TENANT_ID_<ALIAS>`.
pub const WIF_ANNOTATION_TENANT_ID_PREFIX: &str = "wif.dev/tenant-id.";
/// `wif.dev/authority-host.<alias>` becomes `AZURE_AUTHORITY_HOST_<ALIAS>`.
pub const WIF_ANNOTATION_AUTHORITY_HOST_PREFIX: &str = "wif.dev/authority-host.";
/// Pod annotation in which the webhook records the env values it injected, so that a
/// re-invocation can refresh them (and only them) when the ServiceAccount changed.
pub const WIF_ANNOTATION_INJECTED_ENV: &str = "wif.dev/injected-env";

/// Environment variables injected into every mutated container.
pub const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// See [`ENV_CLIENT_ID`].
pub const ENV_TENANT_ID: &str = "AZURE_TENANT_ID";
/// See [`ENV_CLIENT_ID`].
pub const ENV_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// See [`ENV_CLIENT_ID`].
pub const ENV_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
/// Custom token endpoint (AKS identity bindings) variables.
pub const ENV_KUBERNETES_TOKEN_PROXY: &str = "AZURE_KUBERNETES_TOKEN_PROXY";
/// See [`ENV_KUBERNETES_TOKEN_PROXY`].
pub const ENV_KUBERNETES_SNI_NAME: &str = "AZURE_KUBERNETES_SNI_NAME";
/// See [`ENV_KUBERNETES_TOKEN_PROXY`].
pub const ENV_KUBERNETES_CA_FILE: &str = "AZURE_KUBERNETES_CA_FILE";
/// See [`ENV_KUBERNETES_TOKEN_PROXY`].
pub const ENV_KUBERNETES_CA_DATA: &str = "AZURE_KUBERNETES_CA_DATA";

/// The default audience of the projected token, and what Entra ID expects in a
/// federated identity credential.
pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Token expiration bounds and default, in seconds (inclusive).
pub const MIN_TOKEN_EXPIRATION: i64 = 3600;
/// See [`MIN_TOKEN_EXPIRATION`].
pub const MAX_TOKEN_EXPIRATION: i64 = 86400;
/// See [`MIN_TOKEN_EXPIRATION`].
pub const DEFAULT_TOKEN_EXPIRATION: i64 = 3600;

/// v1.6.0 layout: volume name prefix (followed by 30 hex chars of SHA-256 of the pod name).
pub const RESERVED_VOLUME_PREFIX: &str = "azure-workload-identity-reserved-";
/// v1.6.0 layout: how many hex characters of the hash follow the prefix (63 chars in all).
pub const RESERVED_VOLUME_HASH_LEN: usize = 30;
/// v1.6.0 layout: mount path.
pub const V1_6_MOUNT_PATH: &str = "/var/run/secrets/azure/wi";
/// v1.6.0 layout: token path inside the volume.
pub const V1_6_TOKEN_PATH: &str = "token/azure-identity-token";
/// v1.6.0 layout: `AZURE_FEDERATED_TOKEN_FILE`.
pub const V1_6_TOKEN_FILE: &str = "/var/run/secrets/azure/wi/token/azure-identity-token";
/// v1.6.0 custom token endpoint: CA file inside the volume.
pub const V1_6_CA_PATH: &str = "ca-cert/ca.crt";
/// v1.6.0 custom token endpoint: `AZURE_KUBERNETES_CA_FILE`.
pub const V1_6_CA_FILE: &str = "/var/run/secrets/azure/wi/ca-cert/ca.crt";

/// v1.5.x layout: volume name.
pub const LEGACY_VOLUME_NAME: &str = "azure-identity-token";
/// v1.5.x layout: mount path.
pub const LEGACY_MOUNT_PATH: &str = "/var/run/secrets/azure/tokens";
/// v1.5.x layout: token path inside the volume.
pub const LEGACY_TOKEN_PATH: &str = "azure-identity-token";
/// v1.5.x layout: `AZURE_FEDERATED_TOKEN_FILE`.
pub const LEGACY_TOKEN_FILE: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

/// Proxy containers.
pub const PROXY_INIT_CONTAINER_NAME: &str = "azwi-proxy-init";
/// See [`PROXY_INIT_CONTAINER_NAME`].
pub const PROXY_SIDECAR_CONTAINER_NAME: &str = "azwi-proxy";
/// Default proxy port.
pub const DEFAULT_PROXY_PORT: i64 = 8000;
/// The UID the proxy image runs as; the iptables rules exempt it from the redirect.
pub const PROXY_UID: i64 = 1501;
/// Upstream release images, the defaults when `PROXY_IMAGE` / `PROXY_INIT_IMAGE` are unset.
pub const DEFAULT_PROXY_IMAGE: &str = "mcr.microsoft.com/oss/azure/workload-identity/proxy:v1.6.0";
/// See [`DEFAULT_PROXY_IMAGE`].
pub const DEFAULT_PROXY_INIT_IMAGE: &str = "mcr.microsoft.com/oss/azure/workload-identity/proxy-init:v1.6.0";
/// The first Kubernetes minor release (1.x) in which the webhook places the proxy as a
/// native sidecar (an init container with `restartPolicy: Always`).
pub const NATIVE_SIDECAR_MIN_MINOR: u64 = 32;

/// Webhook wire names (MutatingWebhookConfiguration, Service, Secret, path, port).
pub const WEBHOOK_NAME: &str = "mutation.azure-workload-identity.io";
/// See [`WEBHOOK_NAME`].
pub const WEBHOOK_CONFIGURATION_NAME: &str = "azure-wi-webhook-mutating-webhook-configuration";
/// See [`WEBHOOK_NAME`].
pub const WEBHOOK_SERVICE_NAME: &str = "azure-wi-webhook-webhook-service";
/// See [`WEBHOOK_NAME`].
pub const WEBHOOK_SECRET_NAME: &str = "azure-wi-webhook-server-cert";
/// See [`WEBHOOK_NAME`].
pub const WEBHOOK_PATH: &str = "/mutate-v1-pod";
/// See [`WEBHOOK_NAME`].
pub const WEBHOOK_PORT: u16 = 9443;
/// See [`WEBHOOK_NAME`].
pub const DEFAULT_NAMESPACE: &str = "azure-workload-identity-system";

/// The ServiceAccount subject of a federated identity credential.
pub fn service_account_subject(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_consistent() {
        assert_eq!(V1_6_TOKEN_FILE, format!("{V1_6_MOUNT_PATH}/{V1_6_TOKEN_PATH}"));
        assert_eq!(V1_6_CA_FILE, format!("{V1_6_MOUNT_PATH}/{V1_6_CA_PATH}"));
        assert_eq!(LEGACY_TOKEN_FILE, format!("{LEGACY_MOUNT_PATH}/{LEGACY_TOKEN_PATH}"));
        assert_eq!(RESERVED_VOLUME_PREFIX.len() + RESERVED_VOLUME_HASH_LEN, 63);
    }

    #[test]
    fn known_annotations_share_the_upstream_prefix() {
        for key in KNOWN_ANNOTATIONS {
            assert!(key.starts_with(PREFIX), "{key}");
        }
        assert!(!WIF_PREFIX.starts_with(PREFIX));
    }

    #[test]
    fn subject_is_the_kubernetes_form() {
        assert_eq!(service_account_subject("demo", "app"), "system:serviceaccount:demo:app");
    }
}
