//! A read-only, shape-checked view of a raw pod (or pod template) object. The planner
//! reads through it and never deserializes into typed structs, so fields it does not know
//! cannot be lost; shape errors become denials that name the offending field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Denial;

/// One container of `spec.containers` or `spec.initContainers`.
#[derive(Debug)]
pub(crate) struct ContainerView<'a> {
    pub name: &'a str,
    pub env: Option<&'a [Value]>,
    pub volume_mounts: Option<&'a [Value]>,
}

/// The parts of a pod the planner reads.
#[derive(Debug)]
pub(crate) struct PodView<'a> {
    pub has_metadata: bool,
    pub annotations: Option<BTreeMap<&'a str, &'a str>>,
    pub host_network: bool,
    pub os_name: Option<&'a str>,
    pub has_containers: bool,
    pub containers: Vec<ContainerView<'a>>,
    pub init_containers: Option<Vec<ContainerView<'a>>>,
    pub volumes: Option<&'a [Value]>,
}

fn invalid(field: &str, expected: &str) -> Denial {
    Denial::bad_request(format!("invalid pod: {field} must be {expected}"))
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, Denial> {
    value.as_object().ok_or_else(|| invalid(field, "an object"))
}

fn optional_list<'a>(parent: &'a Map<String, Value>, key: &str, field: &str) -> Result<Option<&'a [Value]>, Denial> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(invalid(field, "a list")),
    }
}

/// The string map of `metadata.annotations` (or labels); `None` when absent or null.
pub(crate) fn string_map<'a>(
    metadata: Option<&'a Map<String, Value>>,
    key: &str,
) -> Result<Option<BTreeMap<&'a str, &'a str>>, Denial> {
    let Some(value) = metadata.and_then(|m| m.get(key)) else {
        return Ok(None);
    };
    if value.is_null() {
        return Ok(None);
    }
    let field = format!("metadata.{key}");
    let map = object(value, &field)?;
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let text = v.as_str().ok_or_else(|| {
            Denial::bad_request(format!(
                "invalid pod: {field}[{k:?}] must be a string (quote it: Kubernetes keeps only strings there)"
            ))
        })?;
        out.insert(k.as_str(), text);
    }
    Ok(Some(out))
}

fn containers<'a>(spec: &'a Map<String, Value>, key: &str) -> Result<Option<Vec<ContainerView<'a>>>, Denial> {
    let Some(items) = optional_list(spec, key, &format!("spec.{key}"))? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("spec.{key}[{i}]");
        let container = object(item, &field)?;
        let name = container
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&format!("{field}.name"), "a string"))?;
        let env = optional_list(container, "env", &format!("{field}.env"))?;
        for (j, entry) in env.unwrap_or_default().iter().enumerate() {
            let entry_field = format!("{field}.env[{j}]");
            let entry = object(entry, &entry_field)?;
            if !entry.get("name").is_some_and(Value::is_string) {
                return Err(invalid(&format!("{entry_field}.name"), "a string"));
            }
        }
        let volume_mounts = optional_list(container, "volumeMounts", &format!("{field}.volumeMounts"))?;
        for (j, mount) in volume_mounts.unwrap_or_default().iter().enumerate() {
            object(mount, &format!("{field}.volumeMounts[{j}]"))?;
        }
        out.push(ContainerView {
            name,
            env,
            volume_mounts,
        });
    }
    Ok(Some(out))
}

impl<'a> PodView<'a> {
    pub(crate) fn parse(pod: &'a Value) -> Result<Self, Denial> {
        let root = pod
            .as_object()
            .ok_or_else(|| Denial::bad_request("couldn't get version/kind: the pod is not a JSON object"))?;
        let metadata = match root.get("metadata") {
            None | Some(Value::Null) => None,
            Some(m) => Some(object(m, "metadata")?),
        };
        let annotations = string_map(metadata, "annotations")?;
        let spec = match root.get("spec") {
            None | Some(Value::Null) => return Err(Denial::bad_request("invalid pod: spec is missing")),
            Some(s) => object(s, "spec")?,
        };
        let host_network = match spec.get("hostNetwork") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("spec.hostNetwork", "a boolean")),
        };
        let os_name = spec.get("os").and_then(|os| os.get("name")).and_then(Value::as_str);
        let has_containers = matches!(spec.get("containers"), Some(Value::Array(_)));
        let volumes = optional_list(spec, "volumes", "spec.volumes")?;
        for (i, volume) in volumes.unwrap_or_default().iter().enumerate() {
            object(volume, &format!("spec.volumes[{i}]"))?;
        }
        Ok(PodView {
            has_metadata: metadata.is_some(),
            annotations,
            host_network,
            os_name,
            has_containers,
            containers: containers(spec, "containers")?.unwrap_or_default(),
            init_containers: containers(spec, "initContainers")?,
            volumes,
        })
    }

    pub(crate) fn annotation(&self, key: &str) -> Option<&'a str> {
        self.annotations.as_ref().and_then(|a| a.get(key).copied())
    }
}
