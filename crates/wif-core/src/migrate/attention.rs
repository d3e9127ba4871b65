//! What a pod-identity migration leaves to a person, each in words that say what to do.

/// Something the migration did not decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attention {
    /// The workload is bound to a service principal (type 1 or 2): workload identity federates
    /// app registrations too, but which one and whether to keep it is a person's call.
    ServicePrincipal {
        /// `Kind namespace/name`.
        workload: String,
        /// The `AzureIdentity` (`namespace/name`).
        identity: String,
        /// Its client id.
        client_id: String,
        /// 1 (client secret) or 2 (certificate).
        kind: u8,
        /// The Secret that holds its credential.
        secret: Option<String>,
    },
    /// An exception lets the workload's pods use the node's identity: nothing to federate.
    Excepted {
        /// `Kind namespace/name`.
        workload: String,
        /// The `AzurePodIdentityException` (`namespace/name`).
        exception: String,
    },
    /// No binding selects the workload's label (aad-pod-identity ignored its pods).
    NoBinding {
        /// `Kind namespace/name`.
        workload: String,
        /// The label's value.
        selector: String,
    },
    /// A binding names an identity that is not there.
    MissingIdentity {
        /// The binding (`namespace/name`).
        binding: String,
        /// The identity it names.
        identity: String,
    },
    /// Several identities select the workload: the first is its ServiceAccount's, each gets a
    /// credential, and the app picks the others by client id.
    SeveralIdentities {
        /// `Kind namespace/name`.
        workload: String,
        /// The one annotated.
        chosen: String,
        /// The others.
        others: Vec<String>,
    },
    /// One identity serves several workloads (one identity per workload is the rule).
    SharedIdentity {
        /// The identity (`namespace/name`).
        identity: String,
        /// The workloads.
        workloads: Vec<String>,
    },
    /// The binding label is in the workload's selector, which cannot change: it stays.
    SelectorKeepsLabel {
        /// `Kind namespace/name`.
        workload: String,
    },
    /// The workload's ServiceAccount already carries another identity's client id.
    ServiceAccountConflict {
        /// `Kind namespace/name`.
        workload: String,
        /// The ServiceAccount (`namespace/name`).
        service_account: String,
        /// The client id it has.
        other_client_id: String,
    },
    /// The pods share the node's network: NMI never saw them, so they used the node's identity.
    HostNetwork {
        /// `Kind namespace/name`.
        workload: String,
    },
    /// The proxy sidecar was asked for: its init container needs `NET_ADMIN`.
    ProxySidecar {
        /// `Kind namespace/name`.
        workload: String,
    },
    /// A binding of another namespace gives the workload its identity: with the AKS add-on
    /// (or --forceNamespaced) it never did; `--namespaced` migrates as those do.
    CrossNamespace {
        /// `Kind namespace/name`.
        workload: String,
        /// The binding (`namespace/name`).
        binding: String,
        /// The identity (`namespace/name`).
        identity: String,
    },
    /// No free name for the workload's own ServiceAccount.
    ServiceAccountNameTaken {
        /// `Kind namespace/name`.
        workload: String,
        /// The name wanted.
        name: String,
    },
    /// The same workload is in the input twice: the first is migrated.
    ListedTwice {
        /// `Kind namespace/name`.
        workload: String,
    },
    /// A workload without a name (only `generateName`): its ServiceAccount could not be named.
    Unnamed {
        /// `Kind namespace/name`.
        workload: String,
    },
    /// More credentials on one identity than Entra allows.
    TooManyCredentials {
        /// The identity's client id.
        client_id: String,
        /// How many it would need.
        count: usize,
    },
}

impl std::fmt::Display for Attention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attention::ServicePrincipal {
                workload,
                identity,
                client_id,
                kind,
                secret,
            } => {
                let what = if *kind == 1 {
                    "a service principal with a client secret"
                } else {
                    "a service principal with a certificate"
                };
                write!(
                    f,
                    "{workload} is left as it is: its identity {identity} is {what} (type {kind}, client id {client_id}); federate that app registration (az ad app federated-credential create) or move the workload to a user-assigned identity"
                )?;
                if let Some(secret) = secret {
                    write!(f, "; the Secret {secret} is not needed afterwards")?;
                }
                Ok(())
            }
            Attention::Excepted { workload, exception } => write!(
                f,
                "{workload} is left as it is: exception {exception} lets its pods reach IMDS as the node; without NMI they still do, and there is nothing to federate"
            ),
            Attention::NoBinding { workload, selector } => write!(
                f,
                "{workload} is left as it is: no AzureIdentityBinding selects aadpodidbinding={selector} (aad-pod-identity gave its pods no identity); remove the label, or add the binding's objects to the input"
            ),
            Attention::MissingIdentity { binding, identity } => write!(
                f,
                "binding {binding} names AzureIdentity {identity}, which is not in the input (aad-pod-identity skipped the binding)"
            ),
            Attention::SeveralIdentities {
                workload,
                chosen,
                others,
            } => write!(
                f,
                "{workload} had several identities: its ServiceAccount gets {chosen}'s client id, and {} a credential on the same subject too; the app asks for those by client id",
                others.join(", ")
            ),
            Attention::SharedIdentity { identity, workloads } => write!(
                f,
                "identity {identity} serves {}: one identity per workload keeps each one's access its own; consider an identity for each",
                workloads.join(" and ")
            ),
            Attention::SelectorKeepsLabel { workload } => write!(
                f,
                "{workload} keeps its aadpodidbinding label: its selector names it and cannot change; recreate the workload without it to remove the label"
            ),
            Attention::ServiceAccountConflict {
                workload,
                service_account,
                other_client_id,
            } => write!(
                f,
                "{workload} is left as it is: its ServiceAccount {service_account} already gets client id {other_client_id} from another workload; give it a ServiceAccount of its own"
            ),
            Attention::HostNetwork { workload } => write!(
                f,
                "{workload} is left as it is: its pods use the node's network, where NMI never intercepted them (they used the node's identity); the proxy cannot serve them either"
            ),
            Attention::ProxySidecar { workload } => write!(
                f,
                "{workload} gets the proxy sidecar: its init container needs NET_ADMIN, which the baseline and restricted Pod Security levels refuse"
            ),
            Attention::CrossNamespace {
                workload,
                binding,
                identity,
            } => write!(
                f,
                "{workload} gets identity {identity} through binding {binding} of another namespace, as aad-pod-identity's default mode allowed; with the AKS add-on or --forceNamespaced it had no such identity: migrate with --namespaced there"
            ),
            Attention::ServiceAccountNameTaken { workload, name } => write!(
                f,
                "{workload} is left as it is: it runs as a default others share, and {name} (and the names tried after it) already names a ServiceAccount in use; give it a ServiceAccount of its own"
            ),
            Attention::ListedTwice { workload } => write!(
                f,
                "{workload} is in the input twice: the first is migrated, the second left as it is"
            ),
            Attention::Unnamed { workload } => write!(
                f,
                "{workload} is left as it is: it has no metadata.name (generateName only), so its ServiceAccount cannot be named after it"
            ),
            Attention::TooManyCredentials { client_id, count } => write!(
                f,
                "identity {client_id} would need {count} federated credentials, over Entra's 20: share ServiceAccounts or split the identity"
            ),
        }
    }
}
