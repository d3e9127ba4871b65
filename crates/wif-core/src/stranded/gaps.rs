//! A plan's operations read back into what the pod lacks, in plain words. The planner aims
//! every operation at one field the webhook owns (see [`crate::mutation`]), so each path says
//! which part: a proxy container, an env entry or the token mount of a container, the token
//! volume, or the record annotation. Operations apply in order and the proxy containers may
//! be inserted before the others, so container indexes are followed through the inserts.

use std::fmt;

use json_patch::PatchOperation;
use serde_json::Value;

use crate::contract;
use crate::mutation::PodView;

/// How a part the webhook owns differs from what it would inject now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// Absent: the webhook would add it.
    Missing,
    /// Present with another value: the webhook would replace it.
    Stale,
    /// Injected before, no longer: the webhook would remove it.
    Extra,
}

/// One part the pod lacks or has out of date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Gap {
    /// A proxy container (`azwi-proxy-init`, `azwi-proxy`).
    Container(String),
    /// An env entry of a container.
    Env {
        container: String,
        name: String,
        change: Change,
    },
    /// The token mount of a container.
    Mount { container: String, change: Change },
    /// The token volume.
    Volume { name: String, change: Change },
    /// An operation this reading does not know (a newer planner's): its path.
    Other(String),
}

impl Gap {
    pub(super) fn change(&self) -> Change {
        match self {
            Gap::Env { change, .. } | Gap::Mount { change, .. } | Gap::Volume { change, .. } => *change,
            Gap::Container(_) | Gap::Other(_) => Change::Missing,
        }
    }
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gap::Container(name) => write!(f, "container {name}"),
            Gap::Env {
                container,
                name,
                change,
            } => {
                write!(f, "env {name} in container {container}")?;
                match change {
                    Change::Missing => Ok(()),
                    Change::Stale => f.write_str(" (stale value)"),
                    Change::Extra => f.write_str(" (no longer injected)"),
                }
            }
            Gap::Mount { container, change } => {
                write!(f, "token mount in container {container}")?;
                if *change != Change::Missing {
                    f.write_str(" (out of date)")?;
                }
                Ok(())
            }
            Gap::Volume { name, change } => {
                // The v1.6 name hashes the pod's name, which a recreated pod does not keep.
                if name.starts_with(contract::RESERVED_VOLUME_PREFIX) || name.is_empty() {
                    f.write_str("token volume")?;
                } else {
                    write!(f, "token volume {name}")?;
                }
                if *change != Change::Missing {
                    f.write_str(" (out of date)")?;
                }
                Ok(())
            }
            Gap::Other(path) => write!(f, "a change at {path}"),
        }
    }
}

/// What the operations change: the gaps, and whether the record annotation is written.
#[derive(Debug, Default)]
pub(super) struct Reading {
    pub(super) gaps: Vec<Gap>,
    pub(super) record_changes: bool,
}

/// A container of one list as the operations go: its name, and its index in the pod as
/// stored (`None` for one the operations insert).
struct Slot {
    name: String,
    stored: Option<usize>,
}

fn name_of(value: &Value) -> String {
    value.get("name").and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn names_of(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().map(name_of).collect()
}

/// Reads `operations`, planned over `pod`.
pub(super) fn read(pod: &PodView<'_>, operations: &[PatchOperation]) -> Reading {
    let stored = |list: &str| -> Vec<Slot> {
        let containers = if list == "initContainers" {
            pod.init_containers().unwrap_or_default()
        } else {
            pod.containers()
        };
        containers
            .iter()
            .enumerate()
            .map(|(i, c)| Slot {
                name: c.name.as_str().to_owned(),
                stored: Some(i),
            })
            .collect()
    };
    let mut init = stored("initContainers");
    let mut regular = stored("containers");
    // The name of env entry `j` of the stored container `i` of `list`.
    let env_name = |list: &str, i: Option<usize>, j: &str| -> String {
        let containers = if list == "initContainers" {
            pod.init_containers().unwrap_or_default()
        } else {
            pod.containers()
        };
        let entry = i.and_then(|i| containers.get(i)).and_then(|c| {
            let j: usize = j.parse().ok()?;
            c.env.as_ref()?.get(j).map(|e| e.name.as_str().to_owned())
        });
        entry.unwrap_or_else(|| format!("#{j}"))
    };
    let volume_name = |i: &str| -> String {
        let volumes = pod.volumes().unwrap_or_default();
        i.parse::<usize>()
            .ok()
            .and_then(|i| volumes.get(i))
            .and_then(|v| v.get("name").and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned()
    };

    let mut reading = Reading::default();
    for operation in operations {
        let tokens: Vec<String> = operation.path().tokens().map(|t| t.decoded().into_owned()).collect();
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let added = match operation {
            PatchOperation::Add(add) => Some(&add.value),
            _ => None,
        };
        let removed = matches!(operation, PatchOperation::Remove(_));
        let gap = match (tokens.as_slice(), added) {
            (["metadata", ..], _) => {
                reading.record_changes = true;
                continue;
            }
            (["spec", "volumes"], Some(list)) => {
                reading.gaps.extend(names_of(list).into_iter().map(|name| Gap::Volume {
                    name,
                    change: Change::Missing,
                }));
                continue;
            }
            (["spec", "volumes", "-"], Some(volume)) => Gap::Volume {
                name: name_of(volume),
                change: Change::Missing,
            },
            (["spec", "volumes", i, ..], _) => Gap::Volume {
                name: volume_name(i),
                change: Change::Stale,
            },
            (["spec", list @ ("initContainers" | "containers"), rest @ ..], _) => {
                let slots = if *list == "initContainers" {
                    &mut init
                } else {
                    &mut regular
                };
                match container_gap(slots, list, rest, added, removed, &env_name) {
                    Some(gaps) => {
                        reading.gaps.extend(gaps);
                        continue;
                    }
                    None => Gap::Other(operation.path().to_string()),
                }
            }
            _ => Gap::Other(operation.path().to_string()),
        };
        reading.gaps.push(gap);
    }
    reading
}

/// The gaps of an operation on `list` (`rest`: the path after `/spec/<list>`), following
/// inserted containers in `slots`; `None` for a path the planner does not write.
fn container_gap(
    slots: &mut Vec<Slot>,
    list: &str,
    rest: &[&str],
    added: Option<&Value>,
    removed: bool,
    env_name: &dyn Fn(&str, Option<usize>, &str) -> String,
) -> Option<Vec<Gap>> {
    let inserted = |name: String| Slot { name, stored: None };
    match (rest, added) {
        // The whole list, with the proxy containers.
        ([], Some(list)) => {
            let names = names_of(list);
            slots.extend(names.iter().cloned().map(inserted));
            Some(names.into_iter().map(Gap::Container).collect())
        }
        // One proxy container, appended or put first.
        ([position], Some(container)) => {
            let name = name_of(container);
            if *position == "-" {
                slots.push(inserted(name.clone()));
            } else {
                let at = position.parse::<usize>().ok()?.min(slots.len());
                slots.insert(at, inserted(name.clone()));
            }
            Some(vec![Gap::Container(name)])
        }
        ([index, field, tail @ ..], _) => {
            let slot = slots.get(index.parse::<usize>().ok()?)?;
            let container = slot.name.clone();
            let gaps = match (*field, tail, added) {
                ("env", [], Some(entries)) => names_of(entries)
                    .into_iter()
                    .map(|name| Gap::Env {
                        container: container.clone(),
                        name,
                        change: Change::Missing,
                    })
                    .collect(),
                ("env", ["-"], Some(entry)) => vec![Gap::Env {
                    container,
                    name: name_of(entry),
                    change: Change::Missing,
                }],
                ("env", [j, ..], _) => vec![Gap::Env {
                    name: env_name(list, slot.stored, j),
                    container,
                    change: if removed { Change::Extra } else { Change::Stale },
                }],
                ("volumeMounts", [] | ["-"], Some(_)) => vec![Gap::Mount {
                    container,
                    change: Change::Missing,
                }],
                ("volumeMounts", [_], _) => vec![Gap::Mount {
                    container,
                    change: Change::Stale,
                }],
                _ => return None,
            };
            Some(gaps)
        }
        _ => None,
    }
}
