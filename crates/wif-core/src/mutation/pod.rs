//! A read-only, typed view of the parts of a pod (or pod template) that the planner reads.
//! It borrows its strings from the JSON text (the webhook: one pass over the request body,
//! no tree of the pod) or from a parsed `Value` (render). Everything else is skipped, and the
//! planner never writes the pod back but patches it, so fields it does not know cannot be
//! lost. Shape errors become denials that name the offending field.

mod read;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::outcome::Denial;
use crate::rules::Rule;
use read::{Lenient, MaybeText, ReadLeniently};
pub(crate) use read::{Obj, Text};

/// A JSON object kept whole (volumes and mounts are compared and replaced as units).
pub(crate) type JsonObject = Map<String, Value>;

fn text<'s>(value: &'s Option<Text<'_>>) -> Option<&'s str> {
    value.as_ref().map(Text::as_str)
}

/// One entry of a container's `env`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an object")]
pub(crate) struct EnvVar<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow, default)]
    pub value: Option<Text<'a>>,
    #[serde(default)]
    pub value_from: Option<IgnoredAny>,
}

/// One container of `spec.containers` or `spec.initContainers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an object")]
pub(crate) struct ContainerView<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow, default)]
    pub env: Option<Vec<Obj<EnvVar<'a>>>>,
    #[serde(default)]
    pub volume_mounts: Option<Vec<JsonObject>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an object")]
struct Metadata<'a> {
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
    #[serde(borrow, default)]
    generate_name: Option<Text<'a>>,
    #[serde(borrow, default)]
    namespace: Option<Text<'a>>,
    #[serde(borrow, default)]
    annotations: Option<BTreeMap<Text<'a>, Text<'a>>>,
    #[serde(borrow, default)]
    labels: Option<Lenient<BTreeMap<Text<'a>, Text<'a>>>>,
    #[serde(default)]
    deletion_timestamp: Option<IgnoredAny>,
}

#[derive(Debug)]
struct StatusView<'a> {
    phase: Option<Text<'a>>,
}

/// `status`: its `phase` when a string; any other entry is skipped.
impl<'de: 'a, 'a> ReadLeniently<'de> for StatusView<'a> {
    fn read_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut phase = None;
        while let Some(key) = map.next_key::<Text<'a>>()? {
            if key.as_str() == "phase" {
                phase = map.next_value::<MaybeText<'a>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Some(StatusView { phase }))
    }
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "an object")]
struct OsView<'a> {
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an object")]
struct Spec<'a> {
    #[serde(borrow, default)]
    service_account_name: Option<Text<'a>>,
    #[serde(borrow, default)]
    service_account: Option<Text<'a>>,
    #[serde(default)]
    host_network: Option<bool>,
    #[serde(borrow, default)]
    os: Option<Obj<OsView<'a>>>,
    #[serde(borrow, default)]
    containers: Option<Vec<Obj<ContainerView<'a>>>>,
    #[serde(borrow, default)]
    init_containers: Option<Vec<Obj<ContainerView<'a>>>>,
    #[serde(default)]
    volumes: Option<Vec<JsonObject>>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "an object")]
struct PodShape<'a> {
    #[serde(borrow, default)]
    metadata: Option<Obj<Metadata<'a>>>,
    #[serde(borrow, default)]
    spec: Option<Obj<Spec<'a>>>,
    #[serde(borrow, default)]
    status: Option<Lenient<StatusView<'a>>>,
}

/// The parts of a pod the planner reads, checked for shape.
#[derive(Debug)]
pub struct PodView<'a> {
    metadata: Option<Obj<Metadata<'a>>>,
    spec: Obj<Spec<'a>>,
    status: Option<Lenient<StatusView<'a>>>,
}

fn not_a_pod() -> Denial {
    Denial::bad_request(
        Rule::InvalidPod,
        "couldn't get version/kind; json parse error: the object is not a Pod",
    )
}

/// The denial for a shape error, naming the field (the second, path-tracking pass runs only
/// for pods that are refused anyway).
fn shape_denial<E: fmt::Display>(result: Result<PodShape<'_>, serde_path_to_error::Error<E>>) -> Denial {
    let Err(error) = result else {
        return Denial::bad_request(Rule::InvalidPod, "invalid pod");
    };
    let path = error.path().to_string();
    let inner = error.inner().to_string();
    // serde_json appends a position inside the pod's own text, which helps nobody here.
    let reason = inner
        .split_once(" at line ")
        .map_or(inner.as_str(), |(reason, _)| reason);
    // In Kubernetes' words: lists and objects, not serde's sequences and maps.
    let reason = reason
        .replace("type: sequence", "type: list")
        .replace("expected a sequence", "expected a list")
        .replace("type: map", "type: object")
        .replace("expected a map", "expected an object");
    let hint = if path.starts_with("metadata.annotations") || path.starts_with("metadata.labels") {
        " (quote it: Kubernetes keeps only strings there)"
    } else {
        ""
    };
    Denial::bad_request(Rule::InvalidPod, format!("invalid pod: {path}: {reason}{hint}"))
}

impl<'a> PodView<'a> {
    /// Reads the pod from its JSON text (the `object` of an AdmissionRequest).
    pub fn from_json(json: &'a str) -> Result<Self, Denial> {
        if !json.trim_start().starts_with('{') {
            return Err(not_a_pod());
        }
        match serde_json::from_str::<PodShape<'a>>(json) {
            Ok(shape) => Self::checked(shape),
            Err(_) => Err(shape_denial(serde_path_to_error::deserialize(
                &mut serde_json::Deserializer::from_str(json),
            ))),
        }
    }

    /// Reads the pod (or pod template: `metadata` and `spec`) from a parsed value.
    pub fn from_value(value: &'a Value) -> Result<Self, Denial> {
        if !value.is_object() {
            return Err(not_a_pod());
        }
        match PodShape::deserialize(value) {
            Ok(shape) => Self::checked(shape),
            Err(_) => Err(shape_denial(serde_path_to_error::deserialize(value))),
        }
    }

    /// Reads the pod from a deserializer, as one field of a larger document (the webhook's
    /// AdmissionReview, read in one pass). A shape error is the deserializer's error here;
    /// [`PodView::from_json`] on the pod's text gives the denial that names the field.
    pub fn deserialize_from<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        let Obj(shape) = Obj::<PodShape<'a>>::deserialize(deserializer)?;
        Self::checked(shape).map_err(|denial| de::Error::custom(denial.message))
    }

    fn checked(shape: PodShape<'a>) -> Result<Self, Denial> {
        let spec = shape
            .spec
            .ok_or_else(|| Denial::bad_request(Rule::InvalidPod, "invalid pod: spec is missing"))?;
        Ok(PodView {
            metadata: shape.metadata,
            spec,
            status: shape.status,
        })
    }

    /// `spec.serviceAccountName`, the deprecated `spec.serviceAccount`, or `default`.
    pub fn service_account_name(&self) -> &str {
        [&self.spec.service_account_name, &self.spec.service_account]
            .into_iter()
            .filter_map(text)
            .find(|s| !s.is_empty())
            .unwrap_or("default")
    }

    /// The pod name upstream logs and hashes: `metadata.name`, else
    /// `metadata.generateName + " (prefix)"`.
    pub fn display_name(&self) -> Option<String> {
        let metadata = self.metadata.as_ref()?;
        let non_empty = |t: &Option<Text<'_>>| text(t).filter(|s| !s.is_empty()).map(str::to_owned);
        non_empty(&metadata.name).or_else(|| non_empty(&metadata.generate_name).map(|g| format!("{g} (prefix)")))
    }

    /// `metadata.namespace`, when set.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata
            .as_ref()
            .and_then(|m| text(&m.namespace))
            .filter(|n| !n.is_empty())
    }

    /// The value of the label `key` (labels that are not a map of strings count as absent).
    pub fn label(&self, key: &str) -> Option<&str> {
        let labels = self.metadata.as_ref()?.labels.as_ref()?.read()?;
        labels.get(key).map(Text::as_str)
    }

    /// Whether `metadata.deletionTimestamp` is set: the pod is being deleted.
    pub fn is_being_deleted(&self) -> bool {
        self.metadata.as_ref().is_some_and(|m| m.deletion_timestamp.is_some())
    }

    /// `status.phase` (`Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`), when the
    /// object has one: a stored pod does, a pod under admission or a template does not.
    pub fn phase(&self) -> Option<&str> {
        let status = self.status.as_ref()?.read()?;
        text(&status.phase)
    }

    pub(crate) fn has_metadata(&self) -> bool {
        self.metadata.is_some()
    }

    /// `metadata.annotations`; `None` when absent or null.
    pub(crate) fn annotations(&self) -> Option<BTreeMap<&str, &str>> {
        let annotations = self.metadata.as_ref()?.annotations.as_ref()?;
        Some(annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
    }

    pub(crate) fn annotation_map_is_absent(&self) -> bool {
        self.metadata.as_ref().is_none_or(|m| m.annotations.is_none())
    }

    pub(crate) fn annotation(&self, key: &str) -> Option<&str> {
        let annotations = self.metadata.as_ref()?.annotations.as_ref()?;
        annotations.get(key).map(Text::as_str)
    }

    pub(crate) fn host_network(&self) -> bool {
        self.spec.host_network.unwrap_or(false)
    }

    pub(crate) fn os_name(&self) -> Option<&str> {
        self.spec.os.as_ref().and_then(|os| text(&os.name))
    }

    /// Whether `spec.containers` is present (a list, possibly empty).
    pub(crate) fn has_containers(&self) -> bool {
        self.spec.containers.is_some()
    }

    pub(crate) fn containers(&self) -> &[Obj<ContainerView<'a>>] {
        self.spec.containers.as_deref().unwrap_or_default()
    }

    pub(crate) fn init_containers(&self) -> Option<&[Obj<ContainerView<'a>>]> {
        self.spec.init_containers.as_deref()
    }

    pub(crate) fn volumes(&self) -> Option<&[JsonObject]> {
        self.spec.volumes.as_deref()
    }
}
