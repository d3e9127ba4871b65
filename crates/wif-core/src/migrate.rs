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

use crate::manifest::{ServiceAccountUsers, service_account_name};
use crate::manifest::{namespace_and_name, pod_template_path};

mod attention;
mod edit;
mod objects;

use edit::{annotate, edit_workload};

pub use attention::Attention;
pub use objects::{
    API_VERSION, BINDING_LABEL, Binding, Exception, IdentityKind, IdentityPlace, ObjectError, PodIdentity,
    PodIdentityObjects, is_pod_identity_object, place_of, read_objects,
};

/// The audience every federated credential for Kubernetes takes.
pub const AUDIENCE: &str = "api://AzureADTokenExchange";
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

/// A federated credential a migrated workload needs on a user-assigned identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPlan {
    /// The identity.
    pub identity: IdentityPlace,
    /// Its client id.
    pub client_id: String,
    /// The credential's name (`NAMESPACE-SERVICEACCOUNT`, as Entra allows names).
    pub name: String,
    /// `system:serviceaccount:NAMESPACE:NAME`.
    pub subject: String,
}

impl CredentialPlan {
    /// The azure-cli command that makes it, trusting `issuer`.
    pub fn az_command(&self, issuer: &str) -> String {
        [
            "az identity federated-credential create --name",
            &shell_word(&self.name),
            "--identity-name",
            &shell_word(&self.identity.name),
            "--resource-group",
            &shell_word(&self.identity.resource_group),
            "--subscription",
            &shell_word(&self.identity.subscription),
            "--issuer",
            &shell_word(issuer),
            "--subject",
            &shell_word(&self.subject),
            "--audience",
            AUDIENCE,
        ]
        .join(" ")
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

/// One workload that carries the binding label.
struct Workload<'d> {
    document: usize,
    label: String,
    namespace: String,
    name: String,
    template: &'d Value,
    labels: BTreeMap<String, String>,
    selector: String,
}

/// Migrates `documents` (a manifest stream holding pod-identity objects and workloads).
pub fn migrate_pod_identity(documents: &[Value], options: &MigrateOptions) -> Result<Migration, ObjectError> {
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
    let mut clients: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut users_of_identity: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut missing_reported = BTreeSet::new();
    for workload in workloads(documents, &options.default_namespace) {
        let label = workload.label.clone();
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
        let mut identities: Vec<&PodIdentity> = Vec::new();
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
                    if (!confined || binding.namespace == workload.namespace) && !identities.contains(&identity) {
                        identities.push(identity);
                    }
                }
            }
        }
        identities.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        if identities.is_empty() {
            if bindings.is_empty() || bindings.iter().all(|b| b.namespace != workload.namespace) {
                migration.attention.push(Attention::NoBinding {
                    workload: label,
                    selector: workload.selector.clone(),
                });
            }
            continue;
        }
        let (user_assigned, principals): (Vec<&PodIdentity>, Vec<&PodIdentity>) = identities
            .iter()
            .partition(|i| matches!(i.kind, IdentityKind::UserAssigned(_)));
        for principal in &principals {
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
        let Some(chosen) = user_assigned.first() else {
            continue;
        };
        if user_assigned.len() > 1 {
            migration.attention.push(Attention::SeveralIdentities {
                workload: label.clone(),
                chosen: format!("{}/{}", chosen.namespace, chosen.name),
                others: user_assigned[1..]
                    .iter()
                    .map(|i| format!("{}/{}", i.namespace, i.name))
                    .collect(),
            });
        }
        if workload.template.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true) {
            migration.attention.push(Attention::HostNetwork { workload: label });
            continue;
        }
        let current = service_account_name(workload.template).to_owned();
        let shared_default = current == "default" && users.of(&workload.namespace, "default").len() > 1;
        let account = if shared_default {
            workload.name.clone()
        } else {
            current.clone()
        };
        let key = (workload.namespace.clone(), account.clone());
        if let Some(other) = clients.get(&key).filter(|c| **c != chosen.client_id) {
            migration.attention.push(Attention::ServiceAccountConflict {
                workload: label,
                service_account: format!("{}/{account}", workload.namespace),
                other_client_id: other.clone(),
            });
            continue;
        }
        clients.insert(key.clone(), chosen.client_id.clone());

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
        // Its ServiceAccount: annotated where the stream holds it, else written before it.
        match accounts.get(&key) {
            Some(index) => annotate(&mut output[*index], &chosen.client_id, options.tenant_id.as_deref()),
            None => {
                let mut new = json!({
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": account, "namespace": workload.namespace},
                });
                annotate(&mut new, &chosen.client_id, options.tenant_id.as_deref());
                let pending = before.entry(workload.document).or_default();
                if !pending
                    .iter()
                    .any(|d| d.pointer("/metadata/name") == new.pointer("/metadata/name"))
                {
                    pending.push(new);
                }
            }
        }
        for identity in &user_assigned {
            if let IdentityKind::UserAssigned(place) = &identity.kind {
                let plan = CredentialPlan {
                    identity: place.clone(),
                    client_id: identity.client_id.clone(),
                    name: crate::fic::name_for_service_account(&workload.namespace, &account),
                    subject: format!("system:serviceaccount:{}:{account}", workload.namespace),
                };
                if !migration.credentials.contains(&plan) {
                    migration.credentials.push(plan);
                }
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

/// The workloads whose pod templates carry the binding label.
fn workloads<'d>(documents: &'d [Value], default_namespace: &str) -> Vec<Workload<'d>> {
    let mut found = Vec::new();
    for (document, doc) in documents.iter().enumerate() {
        let Some(kind) = doc.get("kind").and_then(Value::as_str) else {
            continue;
        };
        let Some(path) = pod_template_path(kind) else { continue };
        let template = path.iter().try_fold(doc, |v, k| v.get(*k));
        let Some(template) = template else { continue };
        let labels: BTreeMap<String, String> = template
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let Some(selector) = labels.get(BINDING_LABEL).filter(|s| !s.is_empty()).cloned() else {
            continue;
        };
        let (namespace, name) = namespace_and_name(doc, default_namespace);
        found.push(Workload {
            document,
            label: format!("{kind} {namespace}/{name}"),
            namespace,
            name,
            template,
            labels,
            selector,
        });
    }
    found
}

/// `word` as one shell word.
fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@=".contains(c)) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests;
