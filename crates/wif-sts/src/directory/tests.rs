//! The directory's file against Entra's rules: each refusal names its entry.

use super::*;

const CONFIG: &str = r#"
tenants:
  - tenantId: 11111111-1111-1111-1111-111111111111
    domain: Contoso.onmicrosoft.com
    applications:
      - displayName: reader
        appId: 22222222-2222-2222-2222-222222222222
        federatedIdentityCredentials:
          - name: k8s-demo-app
            issuer: https://127.0.0.1:8443/
            subject: system:serviceaccount:demo:app
            audiences: [api://AzureADTokenExchange]
    userAssignedIdentities:
      - name: wi-myapp-identity
        clientId: 33333333-3333-3333-3333-333333333333
        federatedIdentityCredentials: []
issuers:
  - issuer: https://127.0.0.1:8443/
    caFile: issuer-ca.crt
"#;

#[test]
fn parses_the_documented_shape() {
    let dir = Directory::from_yaml(CONFIG, Path::new("/etc/wif")).unwrap();
    let tenant = dir.tenant("contoso.onmicrosoft.com").unwrap();
    assert_eq!(dir.tenant("11111111-1111-1111-1111-111111111111"), Some(tenant));
    assert_eq!(dir.tenant("CONTOSO.onmicrosoft.com"), Some(tenant));
    let reader = tenant.principal("22222222-2222-2222-2222-222222222222").unwrap();
    assert_eq!(reader.kind, PrincipalKind::Application);
    assert_eq!(reader.credentials[0].subject, "system:serviceaccount:demo:app");
    assert_eq!(reader.object_id.len(), 36);
    assert_ne!(reader.object_id, reader.client_id);
    let mi = tenant.principal("33333333-3333-3333-3333-333333333333").unwrap();
    assert!(
        matches!(&mi.kind, PrincipalKind::ManagedIdentity { resource_id } if resource_id.ends_with("/wi-myapp-identity"))
    );
    assert_eq!(
        dir.issuers[0].ca_file.as_deref(),
        Some(Path::new("/etc/wif/issuer-ca.crt"))
    );
    assert_eq!(dir.token_lifetime_seconds, DEFAULT_TOKEN_LIFETIME);
}

#[test]
fn refuses_what_entra_refuses() {
    let cases = [
        (
            CONFIG.replace("11111111-1111-1111-1111-111111111111", "tenant-one"),
            "is not a GUID",
        ),
        (
            CONFIG.replace("appId: 22222222-2222-2222-2222-222222222222", "appId: reader"),
            "client id \"reader\" is not a GUID",
        ),
        (
            CONFIG.replace("audiences: [api://AzureADTokenExchange]", "audiences: [a, b]"),
            "exactly one audience",
        ),
        (
            CONFIG.replace("name: k8s-demo-app", "name: k8s demo app"),
            "name 'k8s demo app' is invalid",
        ),
        (
            CONFIG.replace(
                "33333333-3333-3333-3333-333333333333",
                "22222222-2222-2222-2222-222222222222",
            ),
            "used twice",
        ),
        (
            CONFIG.replace("caFile: issuer-ca.crt", "caFile: a\n    jwksFile: b"),
            "not both",
        ),
        (
            CONFIG.replace(
                "issuer: https://127.0.0.1:8443/\n    caFile",
                "issuer: http://127.0.0.1:8443/\n    caFile",
            ),
            "must be an https URL",
        ),
        (CONFIG.replace("domain:", "colour: red\n    domain:"), "unknown field"),
    ];
    for (text, expected) in cases {
        let err = Directory::from_yaml(&text, Path::new(".")).unwrap_err().to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn tenant_identifiers() {
    assert!(is_tenant_identifier("11111111-1111-1111-1111-111111111111"));
    assert!(is_tenant_identifier("contoso.onmicrosoft.com"));
    for bad in ["common", "not a tenant", "a..b", "x/y"] {
        assert!(!is_tenant_identifier(bad), "{bad}");
    }
}

#[test]
fn a_credential_whose_issuer_misses_the_issuers_entry_by_a_slash_is_warned_about() {
    let config = "tenants:\n  - tenantId: aaaaaaaa-0000-4000-8000-00000000000a\n    applications:\n      - displayName: reader\n        appId: 11111111-0000-4000-8000-000000000001\n        federatedIdentityCredentials:\n          - { name: k8s, issuer: \"https://oidc.example/\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }\nissuers:\n  - { issuer: \"https://oidc.example\", jwksFile: jwks.json }\n";
    let warned = Directory::from_yaml(config, Path::new("."))
        .unwrap()
        .near_miss_warnings();
    assert_eq!(
        warned,
        [
            "tenant aaaaaaaa-0000-4000-8000-00000000000a, reader (11111111-0000-4000-8000-000000000001), credential 'k8s': its issuer \"https://oidc.example/\" is not the issuers entry \"https://oidc.example\", so every token from that issuer will be refused (AADSTS700211): they differ only by a trailing slash: the credential's issuer ends with '/', the issuers entry's does not; make them equal unless that is what you mean to reproduce"
        ]
    );
    let exact = config.replace(
        "\"https://oidc.example\", jwksFile",
        "\"https://oidc.example/\", jwksFile",
    );
    assert_eq!(
        Directory::from_yaml(&exact, Path::new("."))
            .unwrap()
            .near_miss_warnings(),
        Vec::<String>::new()
    );
    let unrelated = config.replace(
        "\"https://oidc.example\", jwksFile",
        "\"https://other.example/\", jwksFile",
    );
    assert!(
        Directory::from_yaml(&unrelated, Path::new("."))
            .unwrap()
            .near_miss_warnings()
            .is_empty(),
        "a credential for another, unlisted issuer is fine"
    );
}

#[test]
fn a_credential_error_names_the_credential() {
    let config = "tenants:\n  - tenantId: aaaaaaaa-0000-4000-8000-00000000000a\n    applications:\n      - displayName: reader\n        appId: 11111111-0000-4000-8000-000000000001\n        federatedIdentityCredentials:\n          - { name: ok-one, issuer: \"https://a/\", subject: s, audiences: [api://AzureADTokenExchange] }\n          - { name: two-audiences, issuer: \"https://a/\", subject: t, audiences: [a, b] }\n";
    let refused = Directory::from_yaml(config, Path::new(".")).unwrap_err().to_string();
    assert!(
        refused.contains("federatedIdentityCredentials[1] ('two-audiences')")
            && refused.contains("exactly one audience"),
        "{refused}"
    );
}
