//! The names of everything wif can tell a user is wrong with a workload-identity setup: one
//! [`Rule`] per kind of problem, with a stable id (the doctor's JSON output and docs/doctor.md's table
//! use it), a severity, and why it breaks federation. The webhook's admission warnings and
//! denials carry the same rule as the doctor's findings, so both say the same thing.

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Federation works, but something is off (least privilege, an ignored value).
    Warning,
    /// Federation fails, or the webhook refuses the pod.
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! rules {
    ($($variant:ident => $id:literal, $severity:ident, $why:literal;)*) => {
        /// A kind of problem.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        // Each variant's doc is the text the doctor shows people (`wif.dev/client-id.<alias>`),
        // plain text, not HTML.
        #[allow(rustdoc::invalid_html_tags)]
        pub enum Rule {
            $(
                #[doc = $why]
                $variant,
            )*
        }

        impl Rule {
            /// Every rule, in the order of docs/doctor.md's table.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];

            /// The stable id (`kebab-case`).
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id,)* }
            }

            /// How bad it is.
            pub fn severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$severity,)* }
            }

            /// Why it breaks federation (or why it matters), for a person.
            pub fn why(self) -> &'static str {
                match self { $(Rule::$variant => $why,)* }
            }
        }
    };
}

rules! {
    LabelMissing => "label-missing", Error,
        "The webhook mutates only pods labelled azure.workload.identity/use: \"true\": without the label on the pod template, no token is projected and no AZURE_* variable is set, so the SDK falls back to other credentials and fails.";
    LabelOnWorkload => "label-on-workload", Error,
        "The webhook reads the label from the pod, which is made from the pod template: a label on the Deployment's (or Job's...) own metadata never reaches the pod.";
    LabelOnServiceAccount => "label-on-service-account", Warning,
        "Since v1.0 the webhook reads azure.workload.identity/use from the pod only; on the ServiceAccount it has no effect, and the pod templates that run as it are not mutated unless labelled themselves.";
    LabelNotString => "label-not-string", Error,
        "Labels are strings: the boolean true is refused by the API server, so the workload is not created at all.";
    LabelValue => "label-value", Error,
        "The webhook's objectSelector matches azure.workload.identity/use: \"true\" exactly: \"True\", \"yes\" or \"1\" match nothing, and the pod is left alone.";
    LabelTypo => "label-typo", Error,
        "A label key that is almost azure.workload.identity/use matches nothing: the webhook never sees the pod.";
    LabelAsAnnotation => "label-as-annotation", Error,
        "azure.workload.identity/use is a label; as an annotation the webhook never sees it.";
    AnnotationWrongObject => "annotation-wrong-object", Error,
        "The webhook reads each annotation from one object (client-id and tenant-id from the ServiceAccount, the proxy and skip-containers from the pod): on the other one it is ignored.";
    AnnotationTypo => "annotation-typo", Error,
        "An annotation key the webhook does not read is ignored without a word, so the setting it meant to make is not made.";
    AnnotationUnknown => "annotation-unknown", Warning,
        "A key under azure.workload.identity/ that the webhook does not read has no effect.";
    ClientIdMissing => "client-id-missing", Error,
        "Without azure.workload.identity/client-id on the ServiceAccount, AZURE_CLIENT_ID is not injected and the SDK does not know which application to sign in as.";
    ClientIdNotGuid => "client-id-not-guid", Error,
        "Entra ID knows applications and managed identities by a GUID client id: anything else is refused (AADSTS700016).";
    TenantIdInvalid => "tenant-id-invalid", Error,
        "A tenant is a GUID or a domain: anything else is refused (AADSTS90002).";
    NamedIdentityInvalid => "named-identity-invalid", Error,
        "A named identity (wif.dev/client-id.<alias>) that cannot be turned into variables is not injected.";
    ProxyAnnotationFalse => "proxy-annotation-false", Warning,
        "The proxy is injected when the annotation is present, whatever its value: \"false\" still injects it.";
    MountConflict => "mount-conflict", Error,
        "A container already mounts another volume where the token goes: it gets no token.";
    TokenExpiration => "token-expiration", Error,
        "The webhook reads the token expiration from the pod's annotation, else the ServiceAccount's, and refuses one outside 3600..86400 seconds (or not a number): the pod is not created.";
    ProxyPort => "proxy-port", Error,
        "The webhook refuses a proxy port that is not a number from 1 to 65535: the pod is not created.";
    ProxyHostNetwork => "proxy-host-network", Error,
        "The proxy's iptables redirect would rewrite the node's own traffic: the webhook refuses the pod.";
    ProxyWindows => "proxy-windows", Error,
        "The proxy's images are Linux-only: the webhook refuses a Windows pod that asks for it.";
    InvalidPod => "invalid-pod", Error,
        "The webhook cannot read the pod: it refuses it.";
    SkipContainersUnknown => "skip-containers-unknown", Warning,
        "skip-containers names a container the pod does not have: probably a typo, so the container meant to be skipped gets the token.";
    ServiceAccountMissing => "service-account-missing", Warning,
        "The pod's ServiceAccount is not in the input, so its annotations (and the federation they name) cannot be checked.";
    CredentialsNone => "fic-none", Error,
        "Entra ID exchanges the token only if the application or managed identity has a federated identity credential for it; this one has none that the input shows.";
    CredentialOtherClient => "fic-other-client", Error,
        "A credential for this workload exists, but on another application or managed identity than the ServiceAccount's client id: Entra ID looks only at the one named.";
    CredentialIssuer => "fic-issuer", Error,
        "Entra ID compares the token's issuer with the credential's exactly, trailing slash and case included (AADSTS700211).";
    CredentialAudience => "fic-audience", Error,
        "The credential's audience must be one of the token's audiences, api://AzureADTokenExchange unless the webhook was told otherwise (AADSTS700212).";
    CredentialSubject => "fic-subject", Error,
        "The credential's subject must be system:serviceaccount:NAMESPACE:NAME of the pod's ServiceAccount, exactly (AADSTS700213).";
    EnvOverridesFederation => "env-overrides-federation", Error,
        "DefaultAzureCredential tries EnvironmentCredential first: with AZURE_CLIENT_SECRET (or a certificate, or a user name) beside the injected variables, it signs in with that secret instead of the projected token.";
    EnvContradictsServiceAccount => "env-contradicts-service-account", Error,
        "The webhook never overwrites a variable the container sets itself: a user-set AZURE_CLIENT_ID or AZURE_TENANT_ID wins over the ServiceAccount's, and the token is exchanged for that identity.";
    ClientIdShared => "client-id-shared", Warning,
        "One identity for several workloads or namespaces gives each the rights of all (least privilege), and one credential list for all of them.";
    PodIdentityInstalled => "pod-identity-installed", Warning,
        "aad-pod-identity's NMI intercepts the pods' IMDS traffic on every node while it runs, and its CRDs and controller stay until removed: once the workloads use workload identity, it is only a risk.";
    PodIdentityLeftover => "pod-identity-leftover", Warning,
        "aad-pod-identity is retired: its aadpodidbinding label gives pods an identity only while its NMI intercepts IMDS, and the pods get none once it is removed (or the AKS add-on is disabled).";
    TokenExpired => "token-expired", Error,
        "Entra ID refuses an expired assertion (AADSTS700024); kubelet rewrites the file at 80% of its life, so an old file means the pod is not running or the path is wrong.";
    TokenAudience => "token-audience", Error,
        "The projected token's audience must be the one the credentials expect (AADSTS700212).";
    TokenServiceAccountUnknown => "token-service-account-unknown", Warning,
        "The token's subject names a ServiceAccount that the manifests do not federate.";
    IssuerUnreachable => "issuer-unreachable", Error,
        "Entra ID fetches the issuer's discovery document and JWKS over HTTPS from the public internet: if they cannot be fetched, no token is exchanged (AADSTS50166).";
    IssuerMismatch => "issuer-mismatch", Error,
        "The discovery document's issuer must equal the token's iss exactly, or Entra ID refuses the token.";
    IssuerKeyMissing => "issuer-key-missing", Error,
        "The token's kid is not in the issuer's JWKS: Entra ID cannot verify its signature (AADSTS700027); the service-account key was rotated without publishing the new one.";
    WebhookMissing => "webhook-missing", Error,
        "No MutatingWebhookConfiguration in the cluster calls the webhook (mutation.azure-workload-identity.io): pods are stored without the AZURE_* variables and the token, and the SDK falls back to IMDS or fails.";
    WebhookNamespaceExcluded => "webhook-namespace-excluded", Error,
        "The webhook's namespaceSelector leaves the workload's namespace out: the API server never calls the webhook for its pods, so they get no token and no variables.";
    WebhookObjectSelector => "webhook-object-selector", Error,
        "The webhook's objectSelector does not match the pod template's labels: the API server never calls the webhook for these pods.";
    PodStranded => "pod-stranded", Error,
        "A labelled pod runs without what the webhook injects, or with what it injected for a ServiceAccount since changed: admitted while the webhook was unreachable under failurePolicy: Ignore, before it was installed, or given a container after it ran. Its SDK finds no token (or the wrong identity) at run time, and nothing changes until the pod is recreated through the webhook.";
}

/// An admission warning, with the rule it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    /// What it is about.
    pub rule: Rule,
    /// The words `kubectl` shows.
    pub message: String,
}

impl Advice {
    /// A warning about `rule`.
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Advice {
            rule,
            message: message.into(),
        }
    }
}

impl std::ops::Deref for Advice {
    type Target = str;

    fn deref(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Advice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        assert!(
            ids.iter()
                .all(|id| id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        );
        ids.sort_unstable();
        let count = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), count, "duplicate rule ids");
        assert!(Rule::ALL.iter().all(|r| !r.why().is_empty()));
    }
}
