//! Table tests of the planner: upstream's scenarios (spec/upstream-azwi.md §5.1, numbered
//! as there) and the cases upstream lacks.

use std::collections::BTreeMap;

use json_patch::PatchOperation;
use serde_json::{Value, json};

use super::*;
use crate::settings::{CaSource, CustomTokenEndpoint, WebhookSettings};

const CLIENT: &str = "11111111-1111-1111-1111-111111111111";
const TENANT: &str = "22222222-2222-2222-2222-222222222222";
const DEFAULT_TENANT: &str = "33333333-3333-3333-3333-333333333333";

fn settings() -> WebhookSettings {
    WebhookSettings::new(DEFAULT_TENANT)
}

fn sa(annotations: &[(&str, &str)]) -> ServiceAccountInfo {
    ServiceAccountInfo {
        namespace: "default".into(),
        name: "sa".into(),
        annotations: annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn annotated_sa() -> ServiceAccountInfo {
    sa(&[
        (contract::ANNOTATION_CLIENT_ID, CLIENT),
        (contract::ANNOTATION_TENANT_ID, TENANT),
    ])
}

fn pod(spec: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": "pod", "namespace": "default", "labels": { "azure.workload.identity/use": "true" } },
        "spec": spec
    })
}

fn simple_pod() -> Value {
    pod(json!({ "serviceAccountName": "sa", "containers": [{ "name": "app", "image": "app:1" }] }))
}

/// Plans from the parsed value (render's path) and from the JSON text (the webhook's path),
/// and checks that both agree.
fn plan_with(pod: &Value, sa: &ServiceAccountInfo, settings: &WebhookSettings) -> Result<MutationPlan, Denial> {
    plan_hinted(pod, sa, settings, None)
}

fn plan_hinted(
    pod: &Value,
    sa: &ServiceAccountInfo,
    settings: &WebhookSettings,
    pod_name_hint: Option<&str>,
) -> Result<MutationPlan, Denial> {
    let plan = |view: &PodView<'_>| {
        plan_mutation(
            &MutationRequest {
                pod: view,
                namespace: "default",
                service_account: sa,
                pod_name_hint,
            },
            settings,
        )
    };
    let text = pod.to_string();
    let from_value = PodView::from_value(pod).and_then(|view| plan(&view));
    let from_json = PodView::from_json(&text).and_then(|view| plan(&view));
    assert_eq!(
        from_value, from_json,
        "the value and the JSON text of {text} plan alike"
    );
    from_value
}

fn apply(pod: &Value, plan: &MutationPlan) -> Value {
    let mut doc = pod.clone();
    json_patch::patch(&mut doc, &plan.operations).expect("the plan applies");
    doc
}

/// Plans, applies, checks the second plan is empty, returns the mutated pod.
fn mutate(pod: &Value, sa: &ServiceAccountInfo, settings: &WebhookSettings) -> (Value, MutationPlan) {
    let plan = plan_with(pod, sa, settings).expect("allowed");
    let mutated = apply(pod, &plan);
    let again = plan_with(&mutated, sa, settings).expect("allowed again");
    assert!(
        again.operations.is_empty(),
        "second plan not empty: {:#?}",
        again.operations
    );
    (mutated, plan)
}

fn env_of(container: &Value) -> Vec<(String, String)> {
    container["env"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap_or("").to_owned(),
                        e["value"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|l| l.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default()
}

fn four_vars(client: &str, tenant: &str) -> Vec<(String, String)> {
    vec![
        ("AZURE_CLIENT_ID".into(), client.into()),
        ("AZURE_TENANT_ID".into(), tenant.into()),
        ("AZURE_FEDERATED_TOKEN_FILE".into(), contract::V1_6_TOKEN_FILE.into()),
        (
            "AZURE_AUTHORITY_HOST".into(),
            "https://login.microsoftonline.com/".into(),
        ),
    ]
}

fn has_remove(plan: &MutationPlan) -> bool {
    plan.operations.iter().any(|op| matches!(op, PatchOperation::Remove(_)))
}

const POD_VOLUME: &str = "azure-workload-identity-reserved-425c89ed5bb78a7623fae60fd8a6f6";

#[test]
fn volume_name_vectors() {
    assert_eq!(reserved_volume_name("pod"), POD_VOLUME);
    assert_eq!(
        reserved_volume_name("quick-start"),
        "azure-workload-identity-reserved-a94beddb35177ade9c5d04f292b481"
    );
    let generated = json!({ "metadata": { "generateName": "myapp-7d9f8c5b4-" }, "spec": {} });
    let name = PodView::from_value(&generated).unwrap().display_name().unwrap();
    assert_eq!(name, "myapp-7d9f8c5b4- (prefix)");
    assert_eq!(
        reserved_volume_name(&name),
        "azure-workload-identity-reserved-bbf111454f7f1e0d38a881667e39c2"
    );
}

#[test]
fn service_account_name_defaults() {
    let name = |p: Value| PodView::from_value(&p).unwrap().service_account_name().to_owned();
    assert_eq!(name(simple_pod()), "sa");
    assert_eq!(name(pod(json!({ "containers": [] }))), "default");
    assert_eq!(name(pod(json!({ "serviceAccount": "old" }))), "old");
    assert_eq!(name(pod(json!({ "serviceAccountName": "" }))), "default");
}

// 15: pod without volumes gets exactly one projected volume.
#[test]
fn s15_projected_volume_added() {
    let (mutated, _) = mutate(&simple_pod(), &annotated_sa(), &settings());
    assert_eq!(
        mutated["spec"]["volumes"],
        json!([{
            "name": POD_VOLUME,
            "projected": { "sources": [{ "serviceAccountToken": {
                "audience": "api://AzureADTokenExchange", "expirationSeconds": 3600, "path": "token/azure-identity-token"
            }}]}
        }])
    );
}

// 16: identical volume present: unchanged; 17: same name, other content: replaced.
#[test]
fn s16_s17_existing_volume() {
    let (mutated, _) = mutate(&simple_pod(), &annotated_sa(), &settings());
    let mut other = mutated.clone();
    other["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"] =
        json!({ "path": "my-projected-volume", "audience": "aud", "expirationSeconds": 3600 });
    let (fixed, plan) = mutate(&other, &annotated_sa(), &settings());
    assert_eq!(fixed["spec"]["volumes"], mutated["spec"]["volumes"]);
    assert_eq!(plan.operations.len(), 1, "{:#?}", plan.operations);
}

// 18-21: env vars.
#[test]
fn s18_to_s21_env_vars() {
    let (mutated, _) = mutate(&simple_pod(), &annotated_sa(), &settings());
    assert_eq!(env_of(&mutated["spec"]["containers"][0]), four_vars(CLIENT, TENANT));

    let user = pod(
        json!({ "serviceAccountName": "sa", "containers": [{ "name": "app", "env": [
            { "name": "AZURE_CLIENT_ID", "value": "mine" },
            { "name": "AZURE_TENANT_ID", "valueFrom": { "configMapKeyRef": { "name": "cm", "key": "t" } } },
            { "name": "AZURE_FEDERATED_TOKEN_FILE", "value": "/my/token" },
            { "name": "AZURE_AUTHORITY_HOST", "value": "https://mine/" }
        ]}]}),
    );
    let (kept, _) = mutate(&user, &annotated_sa(), &settings());
    assert_eq!(
        kept["spec"]["containers"][0]["env"],
        user["spec"]["containers"][0]["env"]
    );

    let extra = pod(
        json!({ "serviceAccountName": "sa", "containers": [{ "name": "app", "env": [{ "name": "MY_ENV_VAR", "value": "v" }] }] }),
    );
    let (appended, _) = mutate(&extra, &annotated_sa(), &settings());
    let mut expected = vec![("MY_ENV_VAR".to_owned(), "v".to_owned())];
    expected.extend(four_vars(CLIENT, TENANT));
    assert_eq!(env_of(&appended["spec"]["containers"][0]), expected);

    let mut bare = WebhookSettings::new("");
    bare.authority_host = String::new();
    let (only_file, _) = mutate(&simple_pod(), &sa(&[]), &bare);
    assert_eq!(
        env_of(&only_file["spec"]["containers"][0]),
        vec![(
            "AZURE_FEDERATED_TOKEN_FILE".to_owned(),
            contract::V1_6_TOKEN_FILE.to_owned()
        )]
    );
}

// 22-23: mounts.
#[test]
fn s22_s23_volume_mounts() {
    let (mutated, _) = mutate(&simple_pod(), &annotated_sa(), &settings());
    assert_eq!(
        mutated["spec"]["containers"][0]["volumeMounts"],
        json!([{ "name": POD_VOLUME, "mountPath": "/var/run/secrets/azure/wi", "readOnly": true }])
    );
    let other = pod(
        json!({ "serviceAccountName": "sa", "containers": [{ "name": "app", "volumeMounts": [{ "name": "data", "mountPath": "/data" }] }] }),
    );
    let (mutated, _) = mutate(&other, &annotated_sa(), &settings());
    assert_eq!(
        names(&mutated["spec"]["containers"][0]["volumeMounts"]),
        ["data", POD_VOLUME]
    );
}

// 24-29: allowed, no remove ops, fields unknown to the typed Pod survive.
#[test]
fn s24_to_s29_handle_without_removals() {
    let native_init = pod(json!({
        "serviceAccountName": "sa",
        "initContainers": [{ "name": "sidecar", "image": "s", "restartPolicy": "Always" }],
        "containers": [{ "name": "app", "futureField": { "x": 1 } }],
        "futureSpecField": [1, 2]
    }));
    for p in [
        simple_pod(),
        pod(json!({ "containers": [{ "name": "app" }] })),
        native_init.clone(),
    ] {
        let (mutated, plan) = mutate(&p, &annotated_sa(), &settings());
        assert!(!has_remove(&plan));
        assert_eq!(mutated["metadata"]["labels"], p["metadata"]["labels"]);
    }
    let (mutated, _) = mutate(&native_init, &annotated_sa(), &settings());
    assert_eq!(mutated["spec"]["initContainers"][0]["restartPolicy"], "Always");
    assert_eq!(mutated["spec"]["containers"][0]["futureField"], json!({ "x": 1 }));
    assert_eq!(mutated["spec"]["futureSpecField"], json!([1, 2]));
}

// 36-38: containers mutated unless skipped; init containers too.
#[test]
fn s36_to_s38_skip_containers() {
    let empty = pod(json!({ "containers": [] }));
    let (mutated, _) = mutate(&empty, &annotated_sa(), &settings());
    assert_eq!(mutated["spec"]["containers"], json!([]));

    let mut two = pod(json!({
        "initContainers": [{ "name": "init" }, { "name": "busybox-1" }],
        "containers": [{ "name": "app" }, { "name": "busybox-1" }]
    }));
    two["metadata"]["annotations"] = json!({ contract::ANNOTATION_SKIP_CONTAINERS: "busybox-1;" });
    let (mutated, _) = mutate(&two, &annotated_sa(), &settings());
    for list in ["initContainers", "containers"] {
        assert_eq!(env_of(&mutated["spec"][list][0]), four_vars(CLIENT, TENANT), "{list}");
        assert_eq!(mutated["spec"][list][1], json!({ "name": "busybox-1" }), "{list}");
    }
}

fn proxy_pod(port: &str, extra: Value) -> Value {
    let mut p = pod(extra);
    p["metadata"]["annotations"] = json!({
        contract::ANNOTATION_INJECT_PROXY_SIDECAR: "true",
        contract::ANNOTATION_PROXY_SIDECAR_PORT: port
    });
    p
}

// 39-41: proxy init container appended with upstream's exact spec.
#[test]
fn s39_to_s41_proxy_init_container() {
    let (mutated, _) = mutate(
        &proxy_pod("8080", json!({ "containers": [{ "name": "app" }] })),
        &annotated_sa(),
        &settings(),
    );
    let init = &mutated["spec"]["initContainers"][0];
    assert_eq!(init["name"], "azwi-proxy-init");
    assert_eq!(init["image"], contract::DEFAULT_PROXY_INIT_IMAGE);
    assert_eq!(init["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        init["securityContext"],
        json!({ "capabilities": { "add": ["NET_ADMIN"], "drop": ["ALL"] }, "privileged": true, "runAsNonRoot": false, "runAsUser": 0 })
    );
    assert_eq!(init["env"][0], json!({ "name": "PROXY_PORT", "value": "8080" }));
    assert!(init.get("command").is_none() && init.get("resources").is_none());

    let existing = proxy_pod(
        "8080",
        json!({ "initContainers": [{ "name": "azwi-proxy-init", "image": "mine" }], "containers": [{ "name": "app" }] }),
    );
    let (mutated, _) = mutate(&existing, &annotated_sa(), &settings());
    assert_eq!(names(&mutated["spec"]["initContainers"]), ["azwi-proxy-init"]);
    assert_eq!(mutated["spec"]["initContainers"][0]["image"], "mine");

    let user_init = proxy_pod(
        "8080",
        json!({ "initContainers": [{ "name": "setup" }], "containers": [{ "name": "app" }] }),
    );
    let (mutated, _) = mutate(&user_init, &annotated_sa(), &settings());
    assert_eq!(names(&mutated["spec"]["initContainers"]), ["setup", "azwi-proxy-init"]);
}

// 42-45: sidecar prepended; native mode in initContainers with restartPolicy Always.
#[test]
fn s42_to_s45_proxy_sidecar() {
    let mut s = settings();
    s.proxy_log_level = "debug".into();
    let (mutated, _) = mutate(
        &proxy_pod("8081", json!({ "containers": [{ "name": "app" }] })),
        &annotated_sa(),
        &s,
    );
    assert_eq!(names(&mutated["spec"]["containers"]), ["azwi-proxy", "app"]);
    let sidecar = &mutated["spec"]["containers"][0];
    assert_eq!(sidecar["args"], json!(["--proxy-port=8081", "--log-level=debug"]));
    assert_eq!(sidecar["ports"], json!([{ "containerPort": 8081 }]));
    assert_eq!(
        sidecar["lifecycle"]["postStart"]["exec"]["command"],
        json!(["/proxy", "--proxy-port=8081", "--probe", "--log-level=debug"])
    );
    assert_eq!(sidecar["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(sidecar["securityContext"]["runAsUser"], 1501);
    assert!(sidecar.get("restartPolicy").is_none());
    // The proxy containers get env and mount too (upstream quirk kept), and so does the app
    // at its shifted index.
    assert_eq!(env_of(sidecar)[..4], four_vars(CLIENT, TENANT)[..]);
    assert_eq!(env_of(&mutated["spec"]["containers"][1]), four_vars(CLIENT, TENANT));

    let present = proxy_pod(
        "8081",
        json!({ "containers": [{ "name": "azwi-proxy", "image": "mine" }, { "name": "app" }] }),
    );
    let (mutated, _) = mutate(&present, &annotated_sa(), &s);
    assert_eq!(names(&mutated["spec"]["containers"]), ["azwi-proxy", "app"]);
    assert_eq!(mutated["spec"]["containers"][0]["image"], "mine");

    s.native_sidecar = true;
    let native = proxy_pod(
        "8081",
        json!({ "initContainers": [{ "name": "setup" }], "containers": [{ "name": "app" }] }),
    );
    let (mutated, _) = mutate(&native, &annotated_sa(), &s);
    assert_eq!(
        names(&mutated["spec"]["initContainers"]),
        ["azwi-proxy", "setup", "azwi-proxy-init"]
    );
    assert_eq!(names(&mutated["spec"]["containers"]), ["app"]);
    assert_eq!(mutated["spec"]["initContainers"][0]["restartPolicy"], "Always");
    assert_eq!(env_of(&mutated["spec"]["initContainers"][1]), four_vars(CLIENT, TENANT));
    // No init containers at all: one op creates [sidecar, init].
    let (mutated, _) = mutate(
        &proxy_pod("8081", json!({ "containers": [{ "name": "app" }] })),
        &annotated_sa(),
        &s,
    );
    assert_eq!(
        names(&mutated["spec"]["initContainers"]),
        ["azwi-proxy", "azwi-proxy-init"]
    );
}

#[test]
fn skipped_proxy_containers_get_no_env() {
    let mut p = proxy_pod("8000", json!({ "containers": [{ "name": "app" }] }));
    p["metadata"]["annotations"][contract::ANNOTATION_SKIP_CONTAINERS] = json!("azwi-proxy;azwi-proxy-init");
    let (mutated, _) = mutate(&p, &annotated_sa(), &settings());
    assert!(mutated["spec"]["containers"][0].get("volumeMounts").is_none());
    assert_eq!(
        env_of(&mutated["spec"]["initContainers"][0]),
        vec![("PROXY_PORT".to_owned(), "8000".to_owned())]
    );
}

// 52-56: denials with upstream's messages.
#[test]
fn s52_to_s56_denials() {
    let deny = |p: &Value, s: &ServiceAccountInfo| plan_with(p, s, &settings()).unwrap_err();
    let d = deny(&json!("invalid"), &annotated_sa());
    assert_eq!(d.code, 400);
    assert!(d.message.contains("couldn't get version/kind"), "{}", d.message);

    let host = proxy_pod(
        "8000",
        json!({ "hostNetwork": true, "containers": [{ "name": "app" }] }),
    );
    assert!(
        deny(&host, &annotated_sa())
            .message
            .contains("hostNetwork is set to true, cannot inject proxy sidecar")
    );

    let bad_port = proxy_pod("invalid", json!({ "containers": [{ "name": "app" }] }));
    assert!(
        deny(&bad_port, &annotated_sa())
            .message
            .contains(r#"failed to parse proxy sidecar port: strconv.ParseInt: parsing "invalid": invalid syntax"#)
    );

    let mut bad_exp = simple_pod();
    bad_exp["metadata"]["annotations"] = json!({ contract::ANNOTATION_TOKEN_EXPIRATION: "invalid" });
    assert!(
        deny(&bad_exp, &annotated_sa())
            .message
            .contains(r#"strconv.ParseInt: parsing "invalid": invalid syntax"#)
    );

    for value in ["100", "invalid"] {
        let s = sa(&[
            (contract::ANNOTATION_CLIENT_ID, CLIENT),
            (contract::ANNOTATION_TOKEN_EXPIRATION, value),
        ]);
        assert_eq!(deny(&simple_pod(), &s).code, 400, "{value}");
    }
}

#[test]
fn malformed_pods_are_denied_naming_the_field() {
    let cases = [
        (
            json!({ "spec": { "containers": {} } }),
            "invalid pod: spec.containers: invalid type: object, expected a list",
        ),
        (
            json!({ "spec": { "containers": [1] } }),
            "invalid pod: spec.containers[0]: invalid type: integer `1`, expected an object",
        ),
        (
            json!({ "spec": { "containers": [{}] } }),
            "invalid pod: spec.containers[0]: missing field `name`",
        ),
        (
            json!({ "spec": { "containers": [{ "name": 7 }] } }),
            "invalid pod: spec.containers[0].name: invalid type: integer `7`, expected a string",
        ),
        (
            json!({ "spec": { "containers": [{ "name": "a", "env": "x" }] } }),
            "invalid pod: spec.containers[0].env: invalid type: string \"x\", expected a list",
        ),
        (
            json!({ "spec": { "containers": [{ "name": "a", "env": [{ "value": "x" }] }] } }),
            "invalid pod: spec.containers[0].env[0]: missing field `name`",
        ),
        (
            json!({ "spec": { "initContainers": [{ "name": "a", "volumeMounts": [3] }] } }),
            "invalid pod: spec.initContainers[0].volumeMounts[0]: invalid type: integer `3`, expected an object",
        ),
        (
            json!({ "spec": { "volumes": [null] } }),
            "invalid pod: spec.volumes[0]: invalid type: null, expected an object",
        ),
        (
            json!({ "spec": "x" }),
            "invalid pod: spec: invalid type: string \"x\", expected an object",
        ),
        (json!({ "metadata": {} }), "invalid pod: spec is missing"),
        (
            json!({ "metadata": [] }),
            "invalid pod: metadata: invalid type: list, expected an object",
        ),
        (
            json!({ "metadata": { "annotations": { "a": 5 } } }),
            "invalid pod: metadata.annotations.a: invalid type: integer `5`, expected a string (quote it: Kubernetes keeps only strings there)",
        ),
        (
            json!({ "spec": { "hostNetwork": "yes" } }),
            "invalid pod: spec.hostNetwork: invalid type: string \"yes\", expected a boolean",
        ),
        (
            json!([]),
            "couldn't get version/kind; json parse error: the object is not a Pod",
        ),
    ];
    for (p, expected) in cases {
        let d = plan_with(&p, &annotated_sa(), &settings()).unwrap_err();
        assert_eq!(d.message, expected, "{p}");
    }
}

#[test]
fn ephemeral_containers_are_untouched() {
    let p = pod(
        json!({ "containers": [{ "name": "app" }], "ephemeralContainers": [{ "name": "debug", "image": "busybox" }] }),
    );
    let (mutated, _) = mutate(&p, &annotated_sa(), &settings());
    assert_eq!(mutated["spec"]["ephemeralContainers"], p["spec"]["ephemeralContainers"]);
}

#[test]
fn empty_tenant_annotation_falls_back_to_the_default() {
    let s = sa(&[
        (contract::ANNOTATION_CLIENT_ID, CLIENT),
        (contract::ANNOTATION_TENANT_ID, ""),
    ]);
    let (mutated, _) = mutate(&simple_pod(), &s, &settings());
    assert_eq!(
        env_of(&mutated["spec"]["containers"][0]),
        four_vars(CLIENT, DEFAULT_TENANT)
    );
}

#[test]
fn warnings_for_silent_misconfiguration() {
    let mut p = proxy_pod("8000", json!({ "containers": [{ "name": "app" }] }));
    p["metadata"]["annotations"][contract::ANNOTATION_INJECT_PROXY_SIDECAR] = json!("false");
    p["metadata"]["annotations"]["azure.workload.identity/client-id"] = json!("x");
    let s = sa(&[("azure.workload.identity/client_id", CLIENT)]);
    let plan = plan_with(&p, &s, &settings()).unwrap();
    let all = plan
        .warnings
        .iter()
        .map(|w| w.message.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(all.contains("its value \"false\" is ignored"), "{all}");
    assert!(all.contains("read from the ServiceAccount, not the pod"), "{all}");
    assert!(
        all.contains("did you mean \"azure.workload.identity/client-id\""),
        "{all}"
    );
    assert!(all.contains("AZURE_CLIENT_ID is not injected"), "{all}");
    // ... and the proxy is still injected, as upstream does.
    assert!(!plan.operations.is_empty());
    let clean = plan_with(&simple_pod(), &annotated_sa(), &settings()).unwrap();
    assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
}

#[test]
fn windows_pods_refuse_the_proxy_but_get_the_token() {
    let win = proxy_pod(
        "8000",
        json!({ "os": { "name": "windows" }, "containers": [{ "name": "app" }] }),
    );
    assert!(
        plan_with(&win, &annotated_sa(), &settings())
            .unwrap_err()
            .message
            .contains("Windows")
    );
    let win = pod(json!({ "os": { "name": "windows" }, "containers": [{ "name": "app" }] }));
    let (mutated, _) = mutate(&win, &annotated_sa(), &settings());
    assert_eq!(env_of(&mutated["spec"]["containers"][0]), four_vars(CLIENT, TENANT));
}

#[test]
fn legacy_layout_matches_v1_5_and_keeps_predeclared_volume() {
    let mut s = settings();
    s.token_layout = TokenLayout::Legacy;
    let (mutated, _) = mutate(&simple_pod(), &annotated_sa(), &s);
    let env = env_of(&mutated["spec"]["containers"][0]);
    assert_eq!(
        env[2],
        (
            "AZURE_FEDERATED_TOKEN_FILE".to_owned(),
            contract::LEGACY_TOKEN_FILE.to_owned()
        )
    );
    assert_eq!(mutated["spec"]["volumes"][0]["name"], "azure-identity-token");
    assert_eq!(
        mutated["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["path"],
        "azure-identity-token"
    );
    assert_eq!(
        mutated["spec"]["containers"][0]["volumeMounts"],
        json!([{ "name": "azure-identity-token", "mountPath": "/var/run/secrets/azure/tokens", "readOnly": true }])
    );
    // A user's own `azure-identity-token` volume and mount (vcluster, GitOps) are kept.
    let predeclared = pod(json!({
        "containers": [{ "name": "app", "volumeMounts": [{ "name": "azure-identity-token", "mountPath": "/custom" }] }],
        "volumes": [{ "name": "azure-identity-token", "projected": { "sources": [{ "serviceAccountToken": { "path": "azure-identity-token", "expirationSeconds": 7200 } }] } }]
    }));
    let (mutated, _) = mutate(&predeclared, &annotated_sa(), &s);
    assert_eq!(mutated["spec"]["volumes"], predeclared["spec"]["volumes"]);
    assert_eq!(
        mutated["spec"]["containers"][0]["volumeMounts"],
        predeclared["spec"]["containers"][0]["volumeMounts"]
    );
}

#[test]
fn reinvocation_refreshes_only_the_values_we_injected() {
    let (first, _) = mutate(&simple_pod(), &annotated_sa(), &settings());
    // Another webhook switched the ServiceAccount; the new one has another client id and
    // no tenant annotation, and a user-set variable sits beside ours.
    let mut changed = first.clone();
    changed["spec"]["containers"][0]["env"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({ "name": "KEEP", "value": "me" }));
    let other_client = "44444444-4444-4444-4444-444444444444";
    let new_sa = sa(&[(contract::ANNOTATION_CLIENT_ID, other_client)]);
    let (second, plan) = mutate(&changed, &new_sa, &settings());
    let mut expected = vec![("KEEP".to_owned(), "me".to_owned())];
    expected.extend(four_vars(other_client, DEFAULT_TENANT));
    assert_eq!(env_of(&second["spec"]["containers"][0]), expected);
    assert!(!has_remove(&plan));
    // A ServiceAccount without a client id: our stale AZURE_CLIENT_ID goes, the user's stays.
    let (third, plan) = mutate(&second, &sa(&[]), &settings());
    assert!(has_remove(&plan));
    let env = env_of(&third["spec"]["containers"][0]);
    assert!(!env.iter().any(|(n, _)| n == "AZURE_CLIENT_ID"), "{env:?}");
    assert_eq!(env[0], ("KEEP".to_owned(), "me".to_owned()));
    // A user value for one of our names is never touched, whatever the record says.
    let mut user = first.clone();
    user["spec"]["containers"][0]["env"][0]["value"] = json!("user-choice");
    let (fourth, _) = mutate(&user, &new_sa, &settings());
    assert_eq!(fourth["spec"]["containers"][0]["env"][0]["value"], "user-choice");
}

#[test]
fn renamed_pod_reuses_its_reserved_volume() {
    let mut template = simple_pod();
    template["metadata"]["name"] = json!("rendered-offline");
    let (rendered, _) = mutate(&template, &annotated_sa(), &settings());
    let mut admitted = rendered.clone();
    admitted["metadata"]["name"] = json!("web-5d8f-abcde");
    let plan = plan_with(&admitted, &annotated_sa(), &settings()).unwrap();
    assert!(plan.operations.is_empty(), "{:#?}", plan.operations);
}

#[test]
fn user_mount_at_our_path_is_kept_with_a_warning() {
    let p = pod(
        json!({ "containers": [{ "name": "app", "volumeMounts": [{ "name": "mine", "mountPath": "/var/run/secrets/azure/wi" }] }] }),
    );
    let (mutated, plan) = mutate(&p, &annotated_sa(), &settings());
    assert_eq!(
        mutated["spec"]["containers"][0]["volumeMounts"],
        p["spec"]["containers"][0]["volumeMounts"]
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("already mounts volume \"mine\""))
    );
}

#[test]
fn defaulted_fields_do_not_cause_churn() {
    // What the API server returns for a mutated pod: defaultMode set on the volume.
    let (mut live, _) = mutate(&simple_pod(), &annotated_sa(), &settings());
    live["spec"]["volumes"][0]["projected"]["defaultMode"] = json!(420);
    let plan = plan_with(&live, &annotated_sa(), &settings()).unwrap();
    assert!(plan.operations.is_empty(), "{:#?}", plan.operations);
    // An expiration change only replaces the sources, keeping defaultMode.
    live["metadata"]["annotations"][contract::ANNOTATION_TOKEN_EXPIRATION] = json!("7200");
    let (updated, plan) = mutate(&live, &annotated_sa(), &settings());
    assert_eq!(plan.operations.len(), 1);
    assert_eq!(updated["spec"]["volumes"][0]["projected"]["defaultMode"], 420);
    assert_eq!(
        updated["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        7200
    );
}

#[test]
fn patch_is_minimal() {
    // A pod with everything in place already but env/mount on one new container.
    let (mut mutated, _) = mutate(&simple_pod(), &annotated_sa(), &settings());
    mutated["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "late", "image": "x" }));
    let plan = plan_with(&mutated, &annotated_sa(), &settings()).unwrap();
    let paths: Vec<String> = plan.operations.iter().map(|op| op.path().to_string()).collect();
    assert_eq!(paths, ["/spec/containers/1/env", "/spec/containers/1/volumeMounts"]);
}

#[test]
fn custom_token_endpoint_mutation() {
    let mut s = settings();
    s.custom_token_endpoint = Some(CustomTokenEndpoint {
        opt_in_annotation: "azure.workload.identity/use-identity-binding".into(),
        audience: "api://AKSIdentityBinding".into(),
        token_proxy: "https://kubernetes.default.svc".into(),
        sni_name: "sni.example".into(),
        ca: CaSource::ConfigMap("kube-root-ca.crt".into()),
    });
    let mut p = simple_pod();
    p["metadata"]["annotations"] = json!({ "azure.workload.identity/use-identity-binding": "True" });
    let (mutated, plan) = mutate(&p, &annotated_sa(), &s);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let env: BTreeMap<_, _> = env_of(&mutated["spec"]["containers"][0]).into_iter().collect();
    assert_eq!(env["AZURE_KUBERNETES_TOKEN_PROXY"], "https://kubernetes.default.svc");
    assert_eq!(env["AZURE_KUBERNETES_SNI_NAME"], "sni.example");
    assert_eq!(
        env["AZURE_KUBERNETES_CA_FILE"],
        "/var/run/secrets/azure/wi/ca-cert/ca.crt"
    );
    assert!(!env.contains_key("AZURE_KUBERNETES_CA_DATA"));
    let sources = &mutated["spec"]["volumes"][0]["projected"]["sources"];
    assert_eq!(
        sources[0]["serviceAccountToken"]["audience"],
        "api://AKSIdentityBinding"
    );
    assert_eq!(
        sources[1]["configMap"],
        json!({ "name": "kube-root-ca.crt", "items": [{ "key": "ca.crt", "path": "ca-cert/ca.crt" }], "optional": false })
    );

    // Inline CA data: no CA file (nothing would be there), CA data injected.
    if let Some(cte) = s.custom_token_endpoint.as_mut() {
        cte.ca = CaSource::Data("PEM".into());
    }
    let (mutated, _) = mutate(&p, &annotated_sa(), &s);
    let env: BTreeMap<_, _> = env_of(&mutated["spec"]["containers"][0]).into_iter().collect();
    assert_eq!(env["AZURE_KUBERNETES_CA_DATA"], "PEM");
    assert!(!env.contains_key("AZURE_KUBERNETES_CA_FILE"));
    assert_eq!(
        mutated["spec"]["volumes"][0]["projected"]["sources"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // ClusterTrustBundle source.
    if let Some(cte) = s.custom_token_endpoint.as_mut() {
        cte.ca = CaSource::ClusterTrustBundle {
            signer_name: "example.com/s".into(),
            label_selector: Some(json!({ "matchLabels": { "a": "b" } })),
        };
    }
    let (mutated, _) = mutate(&p, &annotated_sa(), &s);
    assert_eq!(
        mutated["spec"]["volumes"][0]["projected"]["sources"][1]["clusterTrustBundle"],
        json!({ "signerName": "example.com/s", "path": "ca-cert/ca.crt", "optional": false, "labelSelector": { "matchLabels": { "a": "b" } } })
    );

    // Not opted in: the usual audience and env.
    let (plain, _) = mutate(&simple_pod(), &annotated_sa(), &s);
    assert_eq!(env_of(&plain["spec"]["containers"][0]), four_vars(CLIENT, TENANT));
}

#[test]
fn several_identities_per_pod() {
    let s = sa(&[
        (contract::ANNOTATION_CLIENT_ID, CLIENT),
        ("wif.dev/client-id.reader", "55555555-5555-5555-5555-555555555555"),
        ("wif.dev/tenant-id.reader", "66666666-6666-6666-6666-666666666666"),
        ("wif.dev/client-id.writer", "77777777-7777-7777-7777-777777777777"),
    ]);
    let (mutated, plan) = mutate(&simple_pod(), &s, &settings());
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let env = env_of(&mutated["spec"]["containers"][0]);
    let tail: Vec<&str> = env[4..].iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        tail,
        [
            "AZURE_CLIENT_ID_READER",
            "AZURE_TENANT_ID_READER",
            "AZURE_CLIENT_ID_WRITER"
        ]
    );
    assert_eq!(env[4].1, "55555555-5555-5555-5555-555555555555");
}

#[test]
fn audience_and_expiration_come_through() {
    let mut s = settings();
    s.audience = "api://custom".into();
    let mut p = simple_pod();
    p["metadata"]["annotations"] = json!({ contract::ANNOTATION_TOKEN_EXPIRATION: "86400" });
    let (mutated, _) = mutate(&p, &annotated_sa(), &s);
    let token = &mutated["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(token["audience"], "api://custom");
    assert_eq!(token["expirationSeconds"], 86400);
}

#[test]
fn template_without_metadata_gets_one() {
    let template = json!({ "spec": { "containers": [{ "name": "app" }] } });
    let plan = plan_hinted(&template, &annotated_sa(), &settings(), Some("web- (prefix)")).unwrap();
    let mutated = apply(&template, &plan);
    assert!(mutated["metadata"]["annotations"][contract::WIF_ANNOTATION_INJECTED_ENV].is_string());
    assert_eq!(
        mutated["spec"]["volumes"][0]["name"],
        reserved_volume_name("web- (prefix)")
    );
}
