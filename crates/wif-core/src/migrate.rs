//! `wif migrate pod-identity`, pure: aad-pod-identity's objects and the workloads whose pod
//! templates carry `aadpodidbinding` become workload identity's settings. Each workload bound
//! to user-assigned identities gets a ServiceAccount with their client id (its own one
//! annotated, or a new one named after it when it runs as a `default` others share), the pod
//! label `azure.workload.identity/use`, the `aadpodidbinding` label removed (kept where a
//! selector needs it), and the proxy annotation when its SDK cannot read a token file; each
//! identity the federated credential it needs per ServiceAccount. What a tool must not decide
//! (service principals, exceptions, an identity shared by several workloads, several
//! identities on one pod, conflicting ServiceAccounts) is reported for a person
//! ([`Attention`]), and those workloads are left as they are.
//!
//! ```
//! use serde_json::json;
//! use wif_core::migrate::{MigrateOptions, migrate_pod_identity};
//!
//! let identity = json!({"apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity",
//!     "metadata": {"name": "reader", "namespace": "shop"},
//!     "spec": {"type": 0, "clientID": "0b6c1a9e-2f3d-4c5b-8a7e-9d0f1e2a3b4c",
//!         "resourceID": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-reader"}});
//! let binding = json!({"apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentityBinding",
//!     "metadata": {"name": "reader-binding", "namespace": "shop"},
//!     "spec": {"azureIdentity": "reader", "selector": "reader"}});
//! let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "api", "namespace": "shop"},
//!     "spec": {"template": {"metadata": {"labels": {"aadpodidbinding": "reader"}},
//!         "spec": {"serviceAccountName": "api", "containers": [{"name": "api", "image": "api"}]}}}});
//! let migration = migrate_pod_identity(&[identity, binding, deployment], &MigrateOptions::default())?;
//! assert_eq!(migration.credentials[0].subject, "system:serviceaccount:shop:api");
//! assert_eq!(migration.migrated, ["Deployment shop/api"]);
//! # Ok::<(), wif_core::migrate::ObjectError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::manifest::namespace_and_name;
use crate::manifest::{ServiceAccountUsers, service_account_name};

mod attention;
mod credentials;
mod edit;
mod objects;
mod workloads;

pub use credentials::{AUDIENCE, CredentialPlan};
use workloads::{flatten_lists, workloads};

pub use edit::selector_needs_binding_label;
use edit::{annotate, edit_workload};

pub use attention::Attention;
pub use objects::{
    API_VERSION, BINDING_LABEL, Binding, Exception, IdentityKind, IdentityPlace, ObjectError, PodIdentity,
    PodIdentityObjects, is_pod_identity_object, place_of, read_objects,
};

/// Entra's limit of federated credentials per identity.
const MAX_CREDENTIALS: usize = 20;

/// How to migrate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateOptions {
    /// The namespace of objects that name none.
    pub default_namespace: String,
    /// The tenant to annotate ServiceAccounts with (else the webhook's default applies).
    pub tenant_id: Option<String>,
    /// Bindings select pods of their own namespace only (aad-pod-identity's
    /// `--forceNamespaced`, and the AKS add-on); by default a binding selects pods anywhere.
    pub namespaced: bool,
    /// The workloads' SDKs cannot read a token file: they get the proxy sidecar annotation.
    pub proxy_sidecar: bool,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            default_namespace: "default".into(),
            tenant_id: None,
            namespaced: false,
            proxy_sidecar: false,
        }
    }
}

/// What a migration makes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Migration {
    /// The stream, rewritten: the same documents in the same order, with new ServiceAccounts
    /// before the workloads that run as them.
    pub documents: Vec<Value>,
    /// The federated credentials to create, one per (identity, ServiceAccount).
    pub credentials: Vec<CredentialPlan>,
    /// What needs a person.
    pub attention: Vec<Attention>,
    /// The workloads migrated (`Kind namespace/name`).
    pub migrated: Vec<String>,
}

/// Migrates `documents` (a manifest stream holding pod-identity objects and workloads; a
/// `List`, as `kubectl get -o yaml` writes, counts as its items).
pub fn migrate_pod_identity(documents: &[Value], options: &MigrateOptions) -> Result<Migration, ObjectError> {
    let documents = flatten_lists(documents);
    let documents = documents.as_slice();
    let objects = read_objects(documents, &options.default_namespace)?;
    let users = ServiceAccountUsers::from_documents(documents, &options.default_namespace);
    let accounts: BTreeMap<(String, String), usize> = documents
        .iter()
        .enumerate()
        .filter(|(_, d)| d.get("kind").and_then(Value::as_str) == Some("ServiceAccount"))
        .map(|(i, d)| (namespace_and_name(d, &options.default_namespace), i))
        .collect();
    let mut output: Vec<Value> = documents.to_vec();
    let mut before: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
    let mut migration = Migration::default();
    // The client id each ServiceAccount carries: as the input has it, then as the migration
    // gives it; one that already names another identity is never overwritten.
    let mut clients: BTreeMap<(String, String), String> = accounts
        .iter()
        .filter_map(|(key, index)| {
            let client = documents[*index]
                .pointer("/metadata/annotations")?
                .get(crate::contract::ANNOTATION_CLIENT_ID)?
                .as_str()?
                .trim();
            (!client.is_empty()).then(|| (key.clone(), client.to_ascii_lowercase()))
        })
        .collect();
    let mut made: BTreeSet<(String, String)> = BTreeSet::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut users_of_identity: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut missing_reported = BTreeSet::new();
    for workload in workloads(documents, &options.default_namespace) {
        let label = workload.label.clone();
        if !seen.insert(label.clone()) {
            migration.attention.push(Attention::ListedTwice { workload: label });
            continue;
        }
        if !workload.named {
            migration.attention.push(Attention::Unnamed { workload: label });
            continue;
        }
        if let Some(exception) = objects
            .exceptions
            .iter()
            .find(|e| e.covers(&workload.namespace, &workload.labels))
        {
            migration.attention.push(Attention::Excepted {
                workload: label,
                exception: format!("{}/{}", exception.namespace, exception.name),
            });
            continue;
        }
        let bindings: Vec<&Binding> = objects
            .bindings
            .iter()
            .filter(|b| b.selector == workload.selector)
            .collect();
        let mut identities: Vec<(&PodIdentity, &Binding)> = Vec::new();
        for binding in &bindings {
            let found = objects
                .identities
                .iter()
                .find(|i| i.namespace == binding.namespace && i.name == binding.identity);
            match found {
                None => {
                    if missing_reported.insert((binding.namespace.clone(), binding.name.clone())) {
                        migration.attention.push(Attention::MissingIdentity {
                            binding: format!("{}/{}", binding.namespace, binding.name),
                            identity: binding.identity.clone(),
                        });
                    }
                }
                Some(identity) => {
                    let confined = options.namespaced || identity.namespaced;
                    let reaches = !confined || binding.namespace == workload.namespace;
                    if reaches && !identities.iter().any(|(i, _)| *i == identity) {
                        identities.push((identity, binding));
                    }
                }
            }
        }
        identities.sort_by(|(a, _), (b, _)| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        if identities.is_empty() {
            migration.attention.push(Attention::NoBinding {
                workload: label,
                selector: workload.selector.clone(),
            });
            continue;
        }
        if workload.template.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true) {
            migration.attention.push(Attention::HostNetwork { workload: label });
            continue;
        }
        let principals: Vec<&PodIdentity> = identities
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| !matches!(i.kind, IdentityKind::UserAssigned(_)))
            .collect();
        if !principals.is_empty() {
            // Removing the label would take the service principal away: a person decides.
            for principal in principals {
                if let IdentityKind::ServicePrincipal { kind, secret, .. } = &principal.kind {
                    migration.attention.push(Attention::ServicePrincipal {
                        workload: label.clone(),
                        identity: format!("{}/{}", principal.namespace, principal.name),
                        client_id: principal.client_id.clone(),
                        kind: *kind,
                        secret: secret.clone(),
                    });
                }
            }
            continue;
        }
        let (chosen, _) = identities[0];
        for (identity, binding) in &identities {
            if binding.namespace != workload.namespace {
                migration.attention.push(Attention::CrossNamespace {
                    workload: label.clone(),
                    binding: format!("{}/{}", binding.namespace, binding.name),
                    identity: format!("{}/{}", identity.namespace, identity.name),
                });
            }
        }
        let current = service_account_name(workload.template).to_owned();
        let shared_default = current == "default" && users.of(&workload.namespace, "default").len() > 1;
        let account = if shared_default {
            let free = |name: &String| {
                let key = (workload.namespace.clone(), name.clone());
                !accounts.contains_key(&key) && users.of(&workload.namespace, name).is_empty() && !made.contains(&key)
            };
            let candidates = [
                workload.name.clone(),
                format!("{}-{}", workload.name, workload.kind.to_ascii_lowercase()),
                format!("{}-workload-identity", workload.name),
            ];
            match candidates.into_iter().find(free) {
                Some(name) => name,
                None => {
                    migration.attention.push(Attention::ServiceAccountNameTaken {
                        workload: label,
                        name: workload.name.clone(),
                    });
                    continue;
                }
            }
        } else {
            current
        };
        let key = (workload.namespace.clone(), account.clone());
        let client = chosen.client_id.to_ascii_lowercase();
        if let Some(other) = clients.get(&key).filter(|c| **c != client) {
            migration.attention.push(Attention::ServiceAccountConflict {
                workload: label,
                service_account: format!("{}/{account}", workload.namespace),
                other_client_id: other.clone(),
            });
            continue;
        }
        if identities.len() > 1 {
            migration.attention.push(Attention::SeveralIdentities {
                workload: label.clone(),
                chosen: format!("{}/{}", chosen.namespace, chosen.name),
                others: identities[1..]
                    .iter()
                    .map(|(i, _)| format!("{}/{}", i.namespace, i.name))
                    .collect(),
            });
        }
        clients.insert(key.clone(), client);

        // The workload: the label, the ServiceAccount, the proxy.
        let kept_in_selector = edit_workload(
            &mut output[workload.document],
            &workload.selector,
            shared_default.then_some(&account),
            options.proxy_sidecar,
        );
        if kept_in_selector {
            migration.attention.push(Attention::SelectorKeepsLabel {
                workload: label.clone(),
            });
        }
        if options.proxy_sidecar {
            migration.attention.push(Attention::ProxySidecar {
                workload: label.clone(),
            });
        }
        // Its ServiceAccount: annotated where the stream holds it, else written (once) before it.
        match accounts.get(&key) {
            Some(index) => annotate(&mut output[*index], &chosen.client_id, options.tenant_id.as_deref()),
            None if made.insert(key.clone()) => {
                // The workload's own namespace field, or none: `kubectl apply -n` then places both.
                let mut metadata = json!({"name": account});
                if let Some(namespace) = documents[workload.document].pointer("/metadata/namespace") {
                    metadata["namespace"] = namespace.clone();
                }
                let mut new = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata});
                annotate(&mut new, &chosen.client_id, options.tenant_id.as_deref());
                before.entry(workload.document).or_default().push(new);
            }
            None => {}
        }
        let subject = format!("system:serviceaccount:{}:{account}", workload.namespace);
        for (identity, _) in &identities {
            if let IdentityKind::UserAssigned(place) = &identity.kind {
                let base = crate::fic::name_for_service_account(&workload.namespace, &account);
                if migration
                    .credentials
                    .iter()
                    .any(|c| c.client_id == identity.client_id && c.subject == subject)
                {
                    continue;
                }
                // Two ServiceAccounts whose names join alike (`a-b`/`c`, `a`/`b-c`) get two names.
                let mut name = base.clone();
                let mut n = 2;
                while migration
                    .credentials
                    .iter()
                    .any(|c| c.client_id == identity.client_id && c.name == name)
                {
                    name = format!("{base}-{n}");
                    n += 1;
                }
                migration.credentials.push(CredentialPlan {
                    identity: place.clone(),
                    client_id: identity.client_id.clone(),
                    name,
                    subject: subject.clone(),
                });
                users_of_identity
                    .entry(format!("{}/{}", identity.namespace, identity.name))
                    .or_default()
                    .insert(label.clone());
            }
        }
        migration.migrated.push(label);
    }
    for (identity, workloads) in users_of_identity.into_iter().filter(|(_, w)| w.len() > 1) {
        migration.attention.push(Attention::SharedIdentity {
            identity,
            workloads: workloads.into_iter().collect(),
        });
    }
    let mut per_identity: BTreeMap<&str, usize> = BTreeMap::new();
    for plan in &migration.credentials {
        *per_identity.entry(plan.client_id.as_str()).or_default() += 1;
    }
    for (client_id, count) in per_identity.into_iter().filter(|(_, n)| *n > MAX_CREDENTIALS) {
        migration.attention.push(Attention::TooManyCredentials {
            client_id: client_id.to_owned(),
            count,
        });
    }
    for (index, doc) in output.into_iter().enumerate() {
        migration.documents.extend(before.remove(&index).unwrap_or_default());
        migration.documents.push(doc);
    }
    Ok(migration)
}

#[cfg(test)]
mod tests;
