//! Mutation planning: (pod, its ServiceAccount's metadata, webhook settings) → targeted
//! JSON-Patch operations plus admission warnings, or a denial with upstream's message.
//!
//! The plan follows upstream v1.6.0 step for step (spec/upstream-azwi.md §1.3): proxy
//! containers first, then env and token mount for every init and regular container not
//! skipped, then the projected volume. Unlike upstream, which re-serializes the whole pod
//! and diffs it, every operation here targets one field the webhook owns: nothing else is
//! rewritten, unknown fields survive, and a second plan over the patched pod is empty.
//!
//! Owned fields: env entries named in [`contract::WIF_ANNOTATION_INJECTED_ENV`] whose value
//! has the fingerprint recorded there (refreshed on re-invocation when the ServiceAccount changed),
//! the token volume and its mounts, the proxy containers, and the record annotation.

mod advice;
mod inputs;
mod outcome;
mod patch;
mod pod;
mod proxy;
mod record;
mod strconv;
mod volume;

use std::collections::BTreeMap;

use json_patch::PatchOperation;
use serde_json::{Value, json};

pub use advice::{Target, annotation_warnings, is_guid, levenshtein, opt_in_advice};
pub use inputs::{NamedIdentity, alias_env_suffix};
pub use outcome::{Denial, MutationPlan};
pub use pod::PodView;
pub use strconv::{GoParseIntError, parse_int};
pub use volume::reserved_volume_name;

use crate::contract;
use crate::rules::{Advice, Rule};
use crate::settings::{TokenLayout, WebhookSettings};
use patch::{Desired, add, object, pointer, remove, replace};
use pod::{ContainerView, JsonObject, Obj};
use record::{desired_env, plan_record, recorded_env, value_fingerprint};
use volume::{plan_volume, volume_name, volume_sources};

/// The metadata of a ServiceAccount that mutation reads: its annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAccountInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// All annotations (only ours are read).
    pub annotations: BTreeMap<String, String>,
}

impl ServiceAccountInfo {
    /// `namespace/name`, for messages.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// What to mutate.
#[derive(Debug, Clone, Copy)]
pub struct MutationRequest<'a> {
    /// The pod (or pod template: `metadata` + `spec`).
    pub pod: &'a PodView<'a>,
    /// The namespace the pod is created in (the AdmissionRequest's).
    pub namespace: &'a str,
    /// The pod's ServiceAccount, already looked up.
    pub service_account: &'a ServiceAccountInfo,
    /// The name hashed into the v1.6 volume name when the pod has neither `name` nor
    /// `generateName` (pod templates rendered offline).
    pub pod_name_hint: Option<&'a str>,
}

/// Plans the mutation of one pod.
///
/// ```
/// use wif_core::mutation::{MutationRequest, PodView, ServiceAccountInfo, plan_mutation};
/// use wif_core::{WebhookSettings, contract};
/// let pod = r#"{"metadata": {"name": "web", "labels": {"azure.workload.identity/use": "true"}},
///               "spec": {"serviceAccountName": "app", "containers": [{"name": "web", "image": "web:1"}]}}"#;
/// let view = PodView::from_json(pod).expect("a pod");
/// let account = ServiceAccountInfo {
///     namespace: "demo".into(),
///     name: "app".into(),
///     annotations: [(contract::ANNOTATION_CLIENT_ID.to_owned(), "11111111-0000-4000-8000-000000000001".to_owned())].into(),
/// };
/// let request = MutationRequest { pod: &view, namespace: "demo", service_account: &account, pod_name_hint: None };
/// let plan = plan_mutation(&request, &WebhookSettings::new("aaaaaaaa-0000-4000-8000-00000000000a")).expect("admitted");
/// let mut mutated: serde_json::Value = serde_json::from_str(pod).expect("JSON");
/// json_patch::patch(&mut mutated, &plan.patch()).expect("the patch applies");
/// let env = &mutated["spec"]["containers"][0]["env"];
/// assert!(env.as_array().expect("an env list").iter().any(|e| e["name"] == contract::ENV_FEDERATED_TOKEN_FILE));
/// ```
pub fn plan_mutation(request: &MutationRequest<'_>, settings: &WebhookSettings) -> Result<MutationPlan, Denial> {
    let view = request.pod;
    let sa = request.service_account;
    let sa_ref = sa.reference();
    let pod_name = view
        .display_name()
        .or_else(|| request.pod_name_hint.map(str::to_owned))
        .unwrap_or_else(|| " (prefix)".to_owned());
    let pod_ref = format!("{}/{}", request.namespace, pod_name);
    let pod_annotations = &view.annotations().unwrap_or_default();
    let sa_annotations: inputs::Annotations = sa.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let mut warnings = Vec::new();
    let extra_pod_keys: Vec<&str> = settings
        .custom_token_endpoint
        .iter()
        .map(|c| c.opt_in_annotation.as_str())
        .chain([contract::WIF_ANNOTATION_INJECTED_ENV])
        .collect();
    warnings.extend(annotation_warnings(
        Target::Pod,
        &pod_ref,
        pod_annotations,
        &extra_pod_keys,
    ));
    let wif_sa_keys: Vec<&str> = sa_annotations
        .keys()
        .copied()
        .filter(|k| k.starts_with(contract::WIF_PREFIX))
        .collect();
    warnings.extend(annotation_warnings(
        Target::ServiceAccount,
        &sa_ref,
        &sa_annotations,
        &wif_sa_keys,
    ));

    // Upstream order: proxy checks, then expiration, then identity.
    let proxy_port = if inputs::wants_proxy(pod_annotations) {
        if view.host_network() {
            return Err(Denial::bad_request(
                Rule::ProxyHostNetwork,
                "hostNetwork is set to true, cannot inject proxy sidecar",
            ));
        }
        if view.os_name().is_some_and(|os| os.eq_ignore_ascii_case("windows")) {
            return Err(Denial::bad_request(
                Rule::ProxyWindows,
                "cannot inject proxy sidecar into a Windows pod (spec.os.name: windows): the proxy images are Linux-only",
            ));
        }
        let port = inputs::proxy_port(pod_annotations)?;
        if let Some(value) = view.annotation(contract::ANNOTATION_INJECT_PROXY_SIDECAR) {
            warnings.extend(advice::proxy_value_warning(&pod_ref, value));
        }
        Some(port)
    } else {
        None
    };
    let expiration = inputs::token_expiration(pod_annotations, &sa_annotations)?;
    let client_id = inputs::client_id(&sa_annotations);
    let tenant_id = inputs::tenant_id(&sa_annotations, settings);
    let identities = inputs::named_identities(&sa_annotations, &sa_ref, &mut warnings);
    warnings.extend(advice::identity_warnings(
        &sa_ref,
        client_id,
        tenant_id,
        !identities.is_empty(),
    ));
    let custom = inputs::custom_token_endpoint(pod_annotations, settings);

    let layout = settings.token_layout;
    let env = desired_env(settings, client_id, tenant_id, custom, &identities);
    let volume_name = volume_name(view, layout, &pod_name);
    let desired = Desired {
        env_entries: env
            .iter()
            .map(|(name, value)| object([("name", name.as_str().into()), ("value", value.as_str().into())]))
            .collect(),
        mount: object([
            ("name", volume_name.as_str().into()),
            ("mountPath", layout.mount_path().into()),
            ("readOnly", true.into()),
        ]),
        env,
        recorded_env: recorded_env(view.annotation(contract::WIF_ANNOTATION_INJECTED_ENV)),
        volume_name,
        volume_sources: volume_sources(settings, expiration, custom),
        layout,
        skip: inputs::skip_containers(pod_annotations),
    };

    let mut operations = Vec::new();
    let (init_shift, containers_shift) = plan_proxy_containers(view, settings, proxy_port, &desired, &mut operations);
    for (key, list, shift) in [
        ("initContainers", view.init_containers().unwrap_or_default(), init_shift),
        ("containers", view.containers(), containers_shift),
    ] {
        for (i, container) in list.iter().enumerate() {
            if desired.skip.contains(container.name.as_str()) {
                continue;
            }
            let index = (i + shift).to_string();
            plan_container(
                &["spec", key, &index],
                container,
                &desired,
                &pod_ref,
                &mut operations,
                &mut warnings,
            );
        }
    }
    plan_volume(view, &desired, &mut operations);
    plan_record(view, &desired, &mut operations);
    Ok(MutationPlan { operations, warnings })
}

/// Appends the proxy init container and prepends the sidecar (to `initContainers` in
/// native mode, else to `containers`), each already carrying env and mount unless skipped.
/// Returns how far the existing init containers and containers shifted.
fn plan_proxy_containers(
    view: &PodView<'_>,
    settings: &WebhookSettings,
    port: Option<u16>,
    desired: &Desired<'_>,
    operations: &mut Vec<PatchOperation>,
) -> (usize, usize) {
    let Some(port) = port else { return (0, 0) };
    let has = |list: Option<&[Obj<ContainerView<'_>>]>, name: &str| {
        list.unwrap_or_default().iter().any(|c| c.name.as_str() == name)
    };
    let inits = view.init_containers();
    let prepared = |mut container: Value| {
        let name = container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !desired.skip.contains(name.as_str())
            && let Some(map) = container.as_object_mut()
        {
            let env = map.entry("env").or_insert_with(|| json!([]));
            if let Some(list) = env.as_array_mut() {
                list.extend(desired.env_entries.iter().cloned());
            }
            map.insert("volumeMounts".into(), Value::Array(vec![desired.mount.clone()]));
        }
        container
    };
    let init =
        (!has(inits, contract::PROXY_INIT_CONTAINER_NAME)).then(|| prepared(proxy::init_container(settings, port)));
    let sidecar_present = has(inits, contract::PROXY_SIDECAR_CONTAINER_NAME)
        || has(Some(view.containers()), contract::PROXY_SIDECAR_CONTAINER_NAME);
    let sidecar =
        (!sidecar_present).then(|| prepared(proxy::sidecar_container(settings, port, settings.native_sidecar)));

    let (native_sidecar, legacy_sidecar) = match sidecar {
        Some(s) if settings.native_sidecar => (Some(s), None),
        other => (None, other),
    };
    let mut init_shift = 0;
    if view.init_containers().is_none() {
        let list: Vec<Value> = native_sidecar.into_iter().chain(init).collect();
        if !list.is_empty() {
            operations.push(add(pointer(&["spec", "initContainers"]), Value::Array(list)));
        }
    } else {
        if let Some(s) = native_sidecar {
            operations.push(add(pointer(&["spec", "initContainers", "0"]), s));
            init_shift = 1;
        }
        if let Some(i) = init {
            operations.push(add(pointer(&["spec", "initContainers", "-"]), i));
        }
    }
    let mut containers_shift = 0;
    if let Some(s) = legacy_sidecar {
        if view.has_containers() {
            operations.push(add(pointer(&["spec", "containers", "0"]), s));
            containers_shift = 1;
        } else {
            operations.push(add(pointer(&["spec", "containers"]), Value::Array(vec![s])));
        }
    }
    (init_shift, containers_shift)
}

fn plan_container(
    base: &[&str],
    container: &ContainerView<'_>,
    desired: &Desired<'_>,
    pod_ref: &str,
    operations: &mut Vec<PatchOperation>,
    warnings: &mut Vec<Advice>,
) {
    let at = |rest: &[&str]| pointer(&[base, rest].concat());

    match &container.env {
        None => {
            if !desired.env.is_empty() {
                operations.push(add(at(&["env"]), Value::Array(desired.env_entries.clone())));
            }
        }
        Some(entries) => {
            // A handful of desired names against a container's env: a scan beats a set.
            let mut present: Vec<&str> = Vec::with_capacity(entries.len());
            let mut stale = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                let name = entry.name.as_str();
                let value = entry.value.as_ref().map(|v| v.as_str());
                let ours = entry.value_from.is_none()
                    && value.is_some_and(|v| {
                        desired
                            .recorded_env
                            .get(name)
                            .is_some_and(|h| *h == value_fingerprint(v))
                    });
                if ours {
                    match desired.env.iter().find(|(n, _)| n == name) {
                        Some((_, wanted)) if Some(wanted.as_str()) != value => {
                            operations.push(replace(at(&["env", &i.to_string(), "value"]), wanted.as_str().into()));
                        }
                        Some(_) => {}
                        None => {
                            stale.push(i);
                            continue;
                        }
                    }
                }
                present.push(name);
            }
            for i in stale.into_iter().rev() {
                operations.push(remove(at(&["env", &i.to_string()])));
            }
            for ((name, _), entry) in desired.env.iter().zip(&desired.env_entries) {
                if !present.contains(&name.as_str()) {
                    operations.push(add(at(&["env", "-"]), entry.clone()));
                }
            }
        }
    }

    let mount = desired.mount.clone();
    let Some(mounts) = &container.volume_mounts else {
        operations.push(add(at(&["volumeMounts"]), Value::Array(vec![mount])));
        return;
    };
    let field = |m: &JsonObject, k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let mount_path = desired.layout.mount_path();
    if let Some(i) = mounts
        .iter()
        .position(|m| field(m, "name").as_deref() == Some(desired.volume_name.as_str()))
    {
        // Legacy layout keeps a pre-declared mount of its volume, as v1.5.x did.
        if desired.layout == TokenLayout::V1_6 && mount.as_object() != Some(&mounts[i]) {
            operations.push(replace(at(&["volumeMounts", &i.to_string()]), mount));
        }
        return;
    }
    if let Some(i) = mounts
        .iter()
        .position(|m| field(m, "mountPath").as_deref() == Some(mount_path))
    {
        let name = field(&mounts[i], "name").unwrap_or_default();
        if name.starts_with(contract::RESERVED_VOLUME_PREFIX) {
            operations.push(replace(at(&["volumeMounts", &i.to_string()]), mount));
        } else {
            warnings.push(Advice::new(
                Rule::MountConflict,
                format!(
                    "pod {pod_ref}: container {:?} already mounts volume {name:?} at {mount_path}; the token volume is not mounted there",
                    container.name
                ),
            ));
        }
        return;
    }
    operations.push(add(at(&["volumeMounts", "-"]), mount));
}

#[cfg(test)]
mod tests;
