//! Settings from flags and environment, as upstream parses them.

use std::collections::HashMap;

use super::*;

fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
    pairs.iter().copied().collect()
}

#[test]
fn tenant_is_required_with_upstream_words() {
    let err = settings_from(&SettingsOverrides::default(), &env(&[])).unwrap_err();
    assert_eq!(err.to_string(), "required key AZURE_TENANT_ID missing value");
    let err = settings_from(&SettingsOverrides::default(), &env(&[("AZURE_TENANT_ID", "")])).unwrap_err();
    assert!(matches!(err, SettingsError::MissingTenant), "{err:?}");
}

#[test]
fn environment_defaults_to_public_cloud_and_images_come_from_env() {
    let s = settings_from(
        &SettingsOverrides::default(),
        &env(&[("AZURE_TENANT_ID", "t"), ("PROXY_IMAGE", "example/proxy:1")]),
    )
    .unwrap();
    assert_eq!(s.authority_host, "https://login.microsoftonline.com/");
    assert_eq!(s.proxy_image, "example/proxy:1");
    assert_eq!(s.proxy_init_image, contract::DEFAULT_PROXY_INIT_IMAGE);
    assert_eq!(s.audience, contract::DEFAULT_AUDIENCE);
    assert_eq!(s.token_layout, TokenLayout::V1_6);
}

#[test]
fn flags_win_over_env_and_authority_host_wins_over_cloud() {
    let overrides = SettingsOverrides {
        tenant_id: Some("flag-tenant".into()),
        azure_environment: Some("AzureChinaCloud".into()),
        authority_host: Some("https://127.0.0.1:8443".into()),
        token_layout: Some("legacy".into()),
        ..SettingsOverrides::default()
    };
    let s = settings_from(&overrides, &env(&[("AZURE_TENANT_ID", "env-tenant")])).unwrap();
    assert_eq!(s.default_tenant_id, "flag-tenant");
    assert_eq!(s.authority_host, "https://127.0.0.1:8443/");
    assert_eq!(s.token_layout, TokenLayout::Legacy);
    let china = SettingsOverrides {
        azure_environment: Some("AzureChinaCloud".into()),
        ..overrides
    };
    let china = SettingsOverrides {
        authority_host: None,
        ..china
    };
    let s = settings_from(&china, &env(&[])).unwrap();
    assert_eq!(s.authority_host, "https://login.chinacloudapi.cn/");
}

#[test]
fn bad_settings_are_refused() {
    let base = SettingsOverrides {
        tenant_id: Some("t".into()),
        ..Default::default()
    };
    let cases = [
        SettingsOverrides {
            azure_environment: Some("InvalidCloud".into()),
            ..base.clone()
        },
        SettingsOverrides {
            authority_host: Some("http://x".into()),
            ..base.clone()
        },
        SettingsOverrides {
            token_layout: Some("v2".into()),
            ..base.clone()
        },
        SettingsOverrides {
            proxy_log_level: Some("loud".into()),
            ..base.clone()
        },
        SettingsOverrides {
            audience: Some(" ".into()),
            ..base.clone()
        },
    ];
    let expected = [
        "failed to get AAD endpoint: unknown AZURE_ENVIRONMENT \"InvalidCloud\" (expected one of AzurePublicCloud, AzureUSGovernmentCloud, AzureChinaCloud, AzureGermanCloud; use --authority-host for any other authority)",
        "invalid authority host \"http://x\": it must start with https:// (Entra clients refuse plain http)",
        "invalid token layout \"v2\": expected v1.6 or legacy",
        "invalid --log-level set: \"loud\" (expected one of \"\", info, debug, trace, all)",
        "the token audience must not be empty",
    ];
    assert_eq!(cases.len(), expected.len());
    for (case, words) in cases.iter().zip(expected) {
        assert_eq!(
            settings_from(case, &env(&[])).unwrap_err().to_string(),
            words,
            "{case:?}"
        );
    }
}

// spec/upstream-azwi.md §1.11 and §5.2.
#[test]
fn custom_token_endpoint_validation_matches_upstream() {
    let none = env(&[]);
    assert!(matches!(custom_token_endpoint_from("", "", &none), Ok(None)));
    let msg = |r: Result<Option<CustomTokenEndpoint>, SettingsError>| r.unwrap_err().to_string();
    assert!(msg(custom_token_endpoint_from("", "api://X", &none)).contains("annotation suffix cannot be empty"));
    assert!(msg(custom_token_endpoint_from("x", "", &none)).contains("audience cannot be empty"));
    assert!(msg(custom_token_endpoint_from("x", "API://AzureADTokenExchange", &none)).contains("cannot be"));
    assert!(msg(custom_token_endpoint_from("bad suffix!", "api://X", &none)).contains("qualified name"));
    let two = env(&[
        ("AZURE_KUBERNETES_CA_DATA", "pem"),
        ("AZURE_KUBERNETES_CA_CONFIGMAP_NAME", "cm"),
    ]);
    assert!(msg(custom_token_endpoint_from("x", "api://X", &two)).contains("only one of"));
    let two = env(&[
        ("AZURE_KUBERNETES_CA_DATA", "pem"),
        ("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME", "s"),
    ]);
    assert!(msg(custom_token_endpoint_from("x", "api://X", &two)).contains("only one of"));
    let two = env(&[
        ("AZURE_KUBERNETES_CA_CONFIGMAP_NAME", "c"),
        ("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME", "s"),
    ]);
    assert!(msg(custom_token_endpoint_from("x", "api://X", &two)).contains("only one of"));
    let lonely = env(&[("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR", "{}")]);
    assert!(msg(custom_token_endpoint_from("x", "api://X", &lonely)).contains("needs to be set"));
    let bad_json = env(&[
        ("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME", "s"),
        ("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR", "{not json"),
    ]);
    let not_json = custom_token_endpoint_from("x", "api://X", &bad_json).expect_err("not JSON");
    let SettingsError::LabelSelectorNotJson(cause) = &not_json else {
        panic!("{not_json:?}")
    };
    assert_eq!((cause.line(), cause.column()), (1, 2), "the parser's own error is kept");
    assert_eq!(
        crate::error_text::error_chain(&not_json),
        "AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR is not a valid label selector: not JSON: key must be a string at line 1 column 2"
    );
}

#[test]
fn custom_token_endpoint_label_selectors_parse() {
    for selector in [
        r#"{"matchLabels":{"a":"b"}}"#,
        r#"{"matchExpressions":[{"key":"a","operator":"In","values":["b"]}]}"#,
        r#"{"matchLabels":{"a":"b"},"matchExpressions":[{"key":"a","operator":"Exists"}]}"#,
        r#"{"matchExpressions":[{"key":"a","operator":"In"}]}"#,
    ] {
        let e = HashMap::from([
            ("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME", "example.com/signer"),
            ("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR", selector),
        ]);
        let cte = custom_token_endpoint_from("identity-binding", "api://AKSIdentityBinding", &e)
            .unwrap()
            .unwrap();
        assert_eq!(cte.opt_in_annotation, "azure.workload.identity/use-identity-binding");
        assert!(matches!(
            cte.ca,
            CaSource::ClusterTrustBundle {
                label_selector: Some(_),
                ..
            }
        ));
    }
}

// Upstream scenarios 57-61.
#[test]
fn server_version_comparison() {
    assert!(version_at_least("1.20.0", 1, 20));
    assert!(version_at_least("2.0.0", 1, 25));
    assert!(version_at_least("1.25.0", 1, 20));
    assert!(!version_at_least("1.18.0", 1, 20));
    assert!(!version_at_least("0.25.0", 1, 20));
    assert!(supports_native_sidecar("v1.32.1-gke.1"));
    assert!(supports_native_sidecar("v1.33.0+k3s1"));
    assert!(!supports_native_sidecar("v1.31.9"));
    assert!(!supports_native_sidecar("garbage"));
}

#[test]
fn qualified_names() {
    assert!(is_qualified_name("azure.workload.identity/use-identity-binding"));
    assert!(is_qualified_name("wif.dev/client-id.reader"));
    assert!(!is_qualified_name("azure.workload.identity/use-"));
    assert!(!is_qualified_name("Azure.Workload/x"));
    assert!(!is_qualified_name(&format!("a/{}", "x".repeat(64))));
}
