//! The deliberate differences between wif's webhook and upstream's, each named with its
//! reason (docs/compatibility.md lists the same), and how a pod both admitted is
//! compared: the API server's bookkeeping taken out, then each difference undone on wif's
//! side in turn; what remains is a difference nobody chose, shown as a line diff.

use serde_json::Value;

use wif_core::line_diff::line_diff;

/// What the API server answered for one pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Admitted: the pod it would store.
    Stored(Value),
    /// Refused: status code and message.
    Refused(u16, String),
}

/// One deliberate difference: wif's outcome is mapped back to what upstream does.
pub struct Difference {
    pub name: &'static str,
    pub reason: &'static str,
    /// Undoes the difference on wif's outcome (upstream's given for reference); true when
    /// it changed something.
    pub undo: fn(&mut Outcome, &Outcome) -> bool,
}

fn containers_mut(pod: &mut Value) -> impl Iterator<Item = &mut Value> {
    let spec = &mut pod["spec"];
    let mut all = Vec::new();
    if let Some(object) = spec.as_object_mut() {
        for (key, list) in object.iter_mut() {
            if key == "containers" || key == "initContainers" {
                all.extend(list.as_array_mut().into_iter().flatten());
            }
        }
    }
    all.into_iter()
}

fn undo_fingerprints(wif: &mut Outcome, _: &Outcome) -> bool {
    let Outcome::Stored(pod) = wif else { return false };
    let Some(annotations) = pod["metadata"]["annotations"].as_object_mut() else {
        return false;
    };
    let removed = annotations.remove("wif.dev/injected-env").is_some();
    if annotations.is_empty() {
        if let Some(metadata) = pod["metadata"].as_object_mut() {
            metadata.remove("annotations");
        }
    }
    removed
}

fn undo_proxy_uid(wif: &mut Outcome, _: &Outcome) -> bool {
    let Outcome::Stored(pod) = wif else { return false };
    let mut changed = false;
    for container in containers_mut(pod) {
        if container["name"] == "azwi-proxy" && container["securityContext"]["runAsUser"] == 1501 {
            if let Some(context) = container["securityContext"].as_object_mut() {
                context.remove("runAsUser");
                changed = true;
            }
        }
    }
    changed
}

fn undo_named_identities(wif: &mut Outcome, _: &Outcome) -> bool {
    let Outcome::Stored(pod) = wif else { return false };
    let mut changed = false;
    for container in containers_mut(pod) {
        if let Some(env) = container["env"].as_array_mut() {
            let before = env.len();
            env.retain(|e| {
                let name = e["name"].as_str().unwrap_or_default();
                !["AZURE_CLIENT_ID_", "AZURE_TENANT_ID_", "AZURE_AUTHORITY_HOST_"]
                    .iter()
                    .any(|p| name.starts_with(p))
            });
            changed |= env.len() != before;
        }
    }
    changed
}

/// wif refuses with `words` where upstream admits, or mutates into a pod the API server's
/// validation refuses (422): take upstream's answer.
fn undo_refusal(wif: &mut Outcome, upstream: &Outcome, words: &str) -> bool {
    match (&*wif, upstream) {
        (Outcome::Refused(400, message), Outcome::Stored(_) | Outcome::Refused(422, _)) if message.contains(words) => {
            *wif = upstream.clone();
            true
        }
        _ => false,
    }
}

fn env_names(container: &Value) -> Vec<&str> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect()
}

fn undo_empty_tenant(wif: &mut Outcome, upstream: &Outcome) -> bool {
    let (Outcome::Stored(pod), Outcome::Stored(theirs)) = (wif, upstream) else {
        return false;
    };
    let mut theirs = theirs.clone();
    let without_tenant: Vec<String> = containers_mut(&mut theirs)
        .filter(|c| !env_names(c).contains(&"AZURE_TENANT_ID") && env_names(c).contains(&"AZURE_FEDERATED_TOKEN_FILE"))
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    let mut changed = false;
    for container in containers_mut(pod) {
        if container["name"]
            .as_str()
            .is_some_and(|n| without_tenant.iter().any(|t| t == n))
        {
            if let Some(env) = container["env"].as_array_mut() {
                let before = env.len();
                env.retain(|e| e["name"] != "AZURE_TENANT_ID");
                changed |= env.len() != before;
            }
        }
    }
    changed
}

fn undo_port_range(wif: &mut Outcome, upstream: &Outcome) -> bool {
    undo_refusal(wif, upstream, "proxy sidecar port")
}

fn undo_windows(wif: &mut Outcome, upstream: &Outcome) -> bool {
    undo_refusal(wif, upstream, "windows")
}

/// The table docs/compatibility.md gives.
pub const DELIBERATE: &[Difference] = &[
    Difference {
        name: "wif.dev/injected-env annotation",
        reason: "fingerprints of the values wif injected, so a re-admission with another ServiceAccount updates them (upstream keeps the old client id: Azure/azure-workload-identity#1475)",
        undo: undo_fingerprints,
    },
    Difference {
        name: "proxy sidecar runAsUser 1501",
        reason: "the iptables exemption is by UID 1501; upstream relies on the image's USER, which a pod-level runAsUser overrides",
        undo: undo_proxy_uid,
    },
    Difference {
        name: "named identities (wif.dev/client-id.<alias>)",
        reason: "several identities from one pod, wif's own annotations: upstream ignores them",
        undo: undo_named_identities,
    },
    Difference {
        name: "tenant-id \"\" means the default tenant",
        reason: "an empty tenant-id annotation: upstream injects no AZURE_TENANT_ID at all and the SDK cannot start; wif falls back to the webhook's tenant, as for no annotation",
        undo: undo_empty_tenant,
    },
    Difference {
        name: "proxy port outside 1-65535 refused",
        reason: "upstream injects containerPort 0 (or a negative one) and the API server refuses the pod with `containerPort: Required value`; wif refuses it first and says why (upstream v1.6.0 parses the proxy-sidecar-port annotation as a base-10 int32 and never checks its range)",
        undo: undo_port_range,
    },
    Difference {
        name: "proxy refused on windows pods",
        reason: "the proxy images are Linux-only: upstream injects it and the API server refuses the pod with a list of securityContext errors; wif refuses it first and says why",
        undo: undo_windows,
    },
];

/// The API server's bookkeeping and the names of the namespaces taken out.
pub fn normalize(outcome: Outcome, namespace: &str) -> Outcome {
    match outcome {
        Outcome::Stored(mut pod) => {
            if let Some(metadata) = pod["metadata"].as_object_mut() {
                for key in [
                    "uid",
                    "resourceVersion",
                    "creationTimestamp",
                    "managedFields",
                    "generation",
                    "namespace",
                ] {
                    metadata.remove(key);
                }
                if metadata.contains_key("generateName") {
                    metadata.remove("name");
                }
            }
            // ServiceAccount admission's token volume has a random suffix.
            let text = pod.to_string().replace(namespace, "NAMESPACE");
            let mut pod: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let generated = |v: &mut Value| {
                if v["name"].as_str().is_some_and(|n| n.starts_with("kube-api-access-")) {
                    v["name"] = Value::String("kube-api-access".into());
                }
            };
            for volume in pod["spec"]["volumes"].as_array_mut().into_iter().flatten() {
                generated(volume);
            }
            for container in containers_mut(&mut pod) {
                for mount in container["volumeMounts"].as_array_mut().into_iter().flatten() {
                    generated(mount);
                }
            }
            Outcome::Stored(pod)
        }
        Outcome::Refused(code, message) => Outcome::Refused(code, message.replace(namespace, "NAMESPACE")),
    }
}

/// Keys sorted, so a diff shows values that differ, not the order fields were added in.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn show(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Stored(pod) => serde_json::to_string_pretty(&sorted(pod)).unwrap_or_default(),
        Outcome::Refused(code, message) => format!("refused {code}: {message}"),
    }
}

/// The deliberate differences that explain wif's outcome against upstream's, or the diff
/// (`-` wif, `+` upstream, three lines of context) that none explains.
pub fn explain(wif: Outcome, upstream: Outcome) -> Result<Vec<&'static str>, String> {
    let mut wif = wif;
    let mut used = Vec::new();
    for difference in DELIBERATE {
        if wif == upstream {
            break;
        }
        if (difference.undo)(&mut wif, &upstream) {
            used.push(difference.name);
        }
    }
    if wif == upstream {
        return Ok(used);
    }
    let diff = line_diff(&show(&wif), &show(&upstream));
    let lines: Vec<&str> = diff.lines().collect();
    let changed: Vec<usize> = (0..lines.len()).filter(|&i| !lines[i].starts_with("  ")).collect();
    let keep = |i: usize| changed.iter().any(|&c| i + 3 >= c && i <= c + 3);
    Err((0..lines.len())
        .filter(|&i| keep(i))
        .map(|i| format!("    {}", lines[i]))
        .collect::<Vec<_>>()
        .join("\n"))
}
