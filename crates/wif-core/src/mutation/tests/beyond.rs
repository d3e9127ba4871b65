//! What upstream lacks: malformed pods, warnings, Windows, the legacy layout, re-invocation, minimal patches.

use super::*;

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
