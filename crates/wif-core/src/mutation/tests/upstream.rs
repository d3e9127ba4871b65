//! Upstream v1.6.0's planner scenarios (spec/upstream-azwi.md §5.1, numbered as there).

use super::*;

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
