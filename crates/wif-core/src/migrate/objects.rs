//! aad-pod-identity's objects as a migration reads them (`aadpodidentity.k8s.io/v1`, the
//! shapes of its CRDs): `AzureIdentity` (type 0 a user-assigned identity, 1 and 2 service
//! principals), `AzureIdentityBinding` (a selector for the pods' `aadpodidbinding` label) and
//! `AzurePodIdentityException`; `AzureAssignedIdentity` is the controller's record and is
//! skipped. A malformed object is an error naming it: the migration acts on every object or
//! on none.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::manifest::namespace_and_name;

/// The API group and version of aad-pod-identity's objects (its only version).
pub const API_VERSION: &str = "aadpodidentity.k8s.io/v1";
/// The pod label that selects bindings.
pub const BINDING_LABEL: &str = "aadpodidbinding";
/// The identity annotation that confines an identity to its own namespace.
const BEHAVIOR: &str = "aadpodidentity.k8s.io/Behavior";

/// A pod-identity object that cannot be migrated as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {}, {object}: {message}", document + 1)]
pub struct ObjectError {
    /// The document's index in the stream (shown 1-based).
    pub document: usize,
    /// `Kind namespace/name`.
    pub object: String,
    /// What is wrong, and what to write instead.
    pub message: String,
}

/// A user-assigned identity's place, from its ARM id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPlace {
    /// Subscription id.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// The identity's resource name.
    pub name: String,
}

/// What an `AzureIdentity` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityKind {
    /// Type 0: a user-assigned managed identity, migrated.
    UserAssigned(IdentityPlace),
    /// Type 1 (client secret) or 2 (certificate): a service principal, for a person.
    ServicePrincipal {
        /// 1 or 2.
        kind: u8,
        /// `tenantID`.
        tenant_id: Option<String>,
        /// The Secret `clientPassword` names (`namespace/name`).
        secret: Option<String>,
    },
}

/// An `AzureIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodIdentity {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `clientID`.
    pub client_id: String,
    /// What it is.
    pub kind: IdentityKind,
    /// Whether its `Behavior: namespaced` annotation confines it to its namespace.
    pub namespaced: bool,
}

/// An `AzureIdentityBinding`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Its namespace (where its identity is looked up).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The `AzureIdentity` it names.
    pub identity: String,
    /// The `aadpodidbinding` value it selects.
    pub selector: String,
}

/// An `AzurePodIdentityException`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// Its namespace (it applies there only).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// A pod with any one of these labels (values compared case-insensitively) is excepted.
    pub pod_labels: BTreeMap<String, String>,
}

impl Exception {
    /// Whether pods with `labels` in `namespace` are excepted, as NMI decides.
    pub fn covers(&self, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
        self.namespace == namespace
            && self
                .pod_labels
                .iter()
                .any(|(k, v)| labels.get(k).is_some_and(|l| l.eq_ignore_ascii_case(v)))
    }
}

/// Every pod-identity object of a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodIdentityObjects {
    /// `AzureIdentity` objects.
    pub identities: Vec<PodIdentity>,
    /// `AzureIdentityBinding` objects.
    pub bindings: Vec<Binding>,
    /// `AzurePodIdentityException` objects.
    pub exceptions: Vec<Exception>,
}

/// The pre-1.6 spellings aad-pod-identity's v1 CRDs no longer accept, with today's.
const LEGACY_KEYS: [(&str, &str); 7] = [
    ("ClientID", "clientID"),
    ("ClientPassword", "clientPassword"),
    ("ResourceID", "resourceID"),
    ("TenantID", "tenantID"),
    ("AzureIdentity", "azureIdentity"),
    ("Selector", "selector"),
    ("PodLabels", "podLabels"),
];

/// Whether `doc` is one of aad-pod-identity's objects (any version).
pub fn is_pod_identity_object(doc: &Value) -> bool {
    doc.get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("aadpodidentity.k8s.io/"))
}

/// Reads every pod-identity object of `documents`.
pub fn read_objects(documents: &[Value], default_namespace: &str) -> Result<PodIdentityObjects, ObjectError> {
    let mut objects = PodIdentityObjects::default();
    for (document, doc) in documents.iter().enumerate() {
        if !is_pod_identity_object(doc) {
            continue;
        }
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        let (namespace, name) = namespace_and_name(doc, default_namespace);
        let fail = |message: String| ObjectError {
            document,
            object: format!("{kind} {namespace}/{name}"),
            message,
        };
        if doc.get("apiVersion").and_then(Value::as_str) != Some(API_VERSION) {
            return Err(fail(format!(
                "aad-pod-identity's objects exist in {API_VERSION} only (its CRDs serve no other version)"
            )));
        }
        if name == "(unnamed)" {
            return Err(fail("the object has no metadata.name".into()));
        }
        if kind == "AzureAssignedIdentity" {
            continue;
        }
        let spec = match doc.get("spec") {
            Some(Value::Object(spec)) => spec,
            Some(_) => return Err(fail("spec must be a map".into())),
            None => return Err(fail("the object has no spec".into())),
        };
        if let Some((old, new)) = LEGACY_KEYS.iter().find(|(old, _)| spec.contains_key(*old)) {
            return Err(fail(format!(
                "spec.{old} is the pre-1.6 spelling, which aad-pod-identity's v1 CRDs no longer accept: write spec.{new}"
            )));
        }
        let text = |key: &str| -> Result<Option<String>, ObjectError> {
            match spec.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
                Some(_) => Err(fail(format!("spec.{key} must be a string"))),
            }
        };
        match kind {
            "AzureIdentity" => {
                let namespaced = doc
                    .pointer("/metadata/annotations")
                    .and_then(|a| a.get(BEHAVIOR))
                    .and_then(Value::as_str)
                    .is_some_and(|b| b == "namespaced");
                let client_id = text("clientID")?;
                let kind = match spec.get("type") {
                    None | Some(Value::Null) => 0,
                    Some(Value::Number(n)) if n.as_u64().is_some_and(|t| t <= 2) => n.as_u64().unwrap_or(0),
                    Some(Value::Number(n)) => {
                        return Err(fail(format!(
                            "spec.type {n} is no identity type: 0 (user-assigned identity), 1 (service principal) or 2 (service principal with a certificate)"
                        )));
                    }
                    Some(other) => {
                        return Err(fail(format!(
                            "spec.type must be an integer (0, 1 or 2), not {other}: aad-pod-identity's CRD refuses any other form"
                        )));
                    }
                };
                let kind = if kind == 0 {
                    let client = client_id.as_deref().ok_or_else(|| {
                        fail("spec.clientID is missing: a user-assigned identity (type 0) needs its client id".into())
                    })?;
                    if !is_guid(client) {
                        return Err(fail(format!("spec.clientID {client:?} is not a client id (a GUID)")));
                    }
                    let resource_id = text("resourceID")?.ok_or_else(|| {
                        fail("spec.resourceID is missing: a user-assigned identity (type 0) needs its ARM id".into())
                    })?;
                    IdentityKind::UserAssigned(place_of(&resource_id).ok_or_else(|| {
                        fail(format!(
                            "spec.resourceID {resource_id:?} is not a user-assigned identity's id: /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME"
                        ))
                    })?)
                } else {
                    let secret = spec.get("clientPassword").and_then(|p| {
                        let name = p.get("name").and_then(Value::as_str)?;
                        let ns = p.get("namespace").and_then(Value::as_str).unwrap_or(&namespace);
                        Some(format!("{ns}/{name}"))
                    });
                    IdentityKind::ServicePrincipal {
                        kind: if kind == 1 { 1 } else { 2 },
                        tenant_id: text("tenantID")?,
                        secret,
                    }
                };
                objects.identities.push(PodIdentity {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    client_id: client_id.unwrap_or_default(),
                    kind,
                    namespaced,
                });
            }
            "AzureIdentityBinding" => {
                let identity = text("azureIdentity")?
                    .ok_or_else(|| fail("spec.azureIdentity is missing: which AzureIdentity does it bind?".into()))?;
                let selector = text("selector")?.ok_or_else(|| {
                    fail("spec.selector is missing: the binding selects no pod (pods name it in their aadpodidbinding label)".into())
                })?;
                objects.bindings.push(Binding {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    identity,
                    selector,
                });
            }
            "AzurePodIdentityException" => {
                let pod_labels = match spec.get("podLabels") {
                    Some(Value::Object(labels)) => labels
                        .iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                        .collect(),
                    None | Some(Value::Null) => BTreeMap::new(),
                    Some(_) => return Err(fail("spec.podLabels must be a map of labels".into())),
                };
                objects.exceptions.push(Exception {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    pod_labels,
                });
            }
            other => return Err(fail(format!("{other:?} is no kind of aad-pod-identity's"))),
        }
    }
    Ok(objects)
}

/// The place of a user-assigned identity's ARM id (segments matched case-insensitively, as
/// aad-pod-identity's controller does).
pub fn place_of(resource_id: &str) -> Option<IdentityPlace> {
    let parts: Vec<&str> = resource_id.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        [subs, subscription, groups, group, providers, provider, kind, name]
            if subs.eq_ignore_ascii_case("subscriptions")
                && groups.eq_ignore_ascii_case("resourceGroups")
                && providers.eq_ignore_ascii_case("providers")
                && provider.eq_ignore_ascii_case("Microsoft.ManagedIdentity")
                && kind.eq_ignore_ascii_case("userAssignedIdentities")
                && ![subscription, group, name].iter().any(|s| s.is_empty()) =>
        {
            Some(IdentityPlace {
                subscription: (*subscription).to_owned(),
                resource_group: (*group).to_owned(),
                name: (*name).to_owned(),
            })
        }
        _ => None,
    }
}

fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}
