//! A projected token and its issuer against the rules; findings' order and wording; credential files.

use super::*;

fn token(subject: &str, audience: &str, exp: i64) -> TokenFacts {
    TokenFacts {
        source: "token".into(),
        issuer: ISSUER.into(),
        subject: subject.into(),
        audiences: vec![audience.into()],
        expires_at: Some(exp),
        kid: Some("k1".into()),
    }
}

#[test]
fn a_projected_token_against_time_audience_manifests_and_credentials() {
    let ok = token(
        "system:serviceaccount:payments:api-sa",
        "api://AzureADTokenExchange",
        1_900_000_000,
    );
    let with = |t: TokenFacts| Case {
        token: Some(t),
        ..Case::new(GOOD)
    };
    assert_eq!(with(ok.clone()).run(), []);
    let expired = only(
        &with(TokenFacts {
            expires_at: Some(1_799_999_000),
            ..ok.clone()
        }),
        Rule::TokenExpired,
    );
    assert!(
        expired.message.starts_with("the token expired 1000 s ago"),
        "{}",
        expired.message
    );
    only(
        &with(TokenFacts {
            audiences: vec!["https://kubernetes.default.svc".into()],
            ..ok.clone()
        }),
        Rule::TokenAudience,
    );
    let stranger = TokenFacts {
        subject: "system:serviceaccount:payments:other".into(),
        ..ok.clone()
    };
    let findings = with(stranger.clone()).run();
    assert_eq!(
        ids(&findings),
        ["fic-subject", "token-service-account-unknown"],
        "{findings:#?}"
    );
    // Only a token and credentials: does anything accept it?
    let bare = Case {
        yaml: "",
        token: Some(stranger),
        ..Case::new(GOOD)
    };
    let finding = only(&bare, Rule::CredentialSubject);
    assert!(
        finding
            .message
            .contains("the service account is 'api-sa' in the credential but 'other' in the token"),
        "{}",
        finding.message
    );
    let accepted = Case {
        yaml: "",
        token: Some(ok.clone()),
        ..Case::new(GOOD)
    };
    assert_eq!(accepted.run(), []);
}

#[test]
fn what_the_issuer_serves() {
    let ok = token(
        "system:serviceaccount:payments:api-sa",
        "api://AzureADTokenExchange",
        1_900_000_000,
    );
    let with = |facts: IssuerFacts| Case {
        token: Some(ok.clone()),
        issuer_check: Some(facts),
        ..Case::new(GOOD)
    };
    let served = |issuer: &str, kids: &[&str]| IssuerFacts::Fetched {
        discovery_issuer: issuer.into(),
        jwks_uri: format!("{ISSUER}openid/v1/jwks"),
        kids: kids.iter().map(|k| (*k).to_owned()).collect(),
    };
    assert_eq!(with(served(ISSUER, &["k0", "k1"])).run(), []);
    only(
        &with(served("https://oidc.example/cluster", &["k1"])),
        Rule::IssuerMismatch,
    );
    let missing = only(&with(served(ISSUER, &["k0"])), Rule::IssuerKeyMissing);
    assert!(missing.message.contains("kid `k1` is not in"));
    only(
        &with(IssuerFacts::Unreachable {
            url: format!("{ISSUER}.well-known/openid-configuration"),
            reason: "connection refused".into(),
        }),
        Rule::IssuerUnreachable,
    );
}

#[test]
fn findings_are_sorted_errors_first_and_said_once() {
    let twice = format!(
        "{GOOD}---\n{}",
        GOOD.split("---")
            .nth(1)
            .unwrap_or_default()
            .replace("name: api\n", "name: worker\n")
    )
    .replace("\"11111111-0000-4000-8000-000000000001\"", "\"api-identity\"");
    let findings = Case {
        credentials: None,
        ..Case::new(&twice)
    }
    .run();
    // The client id is not a GUID: said once for the ServiceAccount although two pods use it.
    assert_eq!(
        ids(&findings),
        ["client-id-not-guid", "client-id-shared"],
        "{findings:#?}"
    );
}

#[test]
fn credential_files_in_every_shape() {
    let directory = format!(
        "tenants:\n  - tenantId: {TENANT}\n    applications:\n      - {{displayName: api, appId: {CLIENT}, federatedIdentityCredentials: [{{name: a, issuer: \"{ISSUER}\", subject: s, audiences: [x]}}]}}\n    userAssignedIdentities:\n      - {{name: mi, clientId: {OTHER_CLIENT}}}\n"
    );
    let parsed = parse_credentials(&directory, "directory.yaml", None).unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].owner, format!("application 'api' in tenant {TENANT}"));
    assert_eq!(parsed[0].credentials[0].subject, "s");
    assert!(parsed[1].credentials.is_empty());
    let az = format!(
        r#"[{{"audiences": ["api://AzureADTokenExchange"], "id": "/subscriptions/x", "issuer": "{ISSUER}", "name": "fic", "resourceGroup": "rg", "subject": "system:serviceaccount:payments:api-sa", "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"}}]"#
    );
    let refused = parse_credentials(&az, "az.json", None).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "az.json: credential 'fic' names no client id (Azure's lists do not): pass --federated-credentials CLIENT_ID=az.json"
    );
    let tied = parse_credentials(&az, "az.json", Some(CLIENT)).unwrap();
    assert_eq!((tied[0].client_id.as_str(), tied[0].credentials.len()), (CLIENT, 1));
    let graph = format!(
        r#"{{"value": [{{"name": "g", "issuer": "{ISSUER}", "subject": "s", "audiences": ["a"], "appId": "{CLIENT}"}}]}}"#
    );
    assert_eq!(
        parse_credentials(&graph, "graph.json", None).unwrap()[0].client_id,
        CLIENT
    );
    let one = format!("{{name: one, issuer: \"{ISSUER}\", subject: s, audiences: [a], clientId: {CLIENT}}}");
    assert_eq!(parse_credentials(&one, "one.yaml", None).unwrap().len(), 1);
    for (bad, expected) in [
        ("just text", "expected the emulator's directory"),
        ("[{name: x}]", "entry 1 is not a federated identity credential"),
        ("a: [", "invalid YAML or JSON"),
        ("---\na: 1\n---\nb: 2\n", "expected one document, found 2"),
    ] {
        let error = parse_credentials(bad, "bad.yaml", None).unwrap_err();
        assert!(error.message.starts_with(expected), "{bad}: {error}");
    }
    // The parser's snippet names the file, as the first line does.
    let invalid = parse_credentials("tenants:\n  - tenantId: [\n", "fics.yaml", None).unwrap_err();
    assert_eq!(invalid.to_string(), "fics.yaml: invalid YAML or JSON, document 1");
    let words = crate::error_text::error_chain(&invalid);
    assert!(words.contains("\n --> fics.yaml:2:"), "{words}");
}

#[test]
fn every_rule_says_why() {
    for rule in Rule::ALL {
        assert!(
            rule.why().ends_with('.') || rule.why().ends_with(')'),
            "{}: {}",
            rule.id(),
            rule.why()
        );
    }
}

#[test]
fn the_webhooks_other_warnings_become_findings_with_their_rules() {
    only(
        &Case::new(&annotate("azure.workload.identity/use: \"true\"")),
        Rule::LabelAsAnnotation,
    );
    only(
        &Case::new(&annotate("azure.workload.identity/audience: x")),
        Rule::AnnotationUnknown,
    );
    let named = GOOD.replace(
        "    azure.workload.identity/tenant-id:",
        "    wif.dev/client-id.writer: \"\"\n    azure.workload.identity/tenant-id:",
    );
    only(&Case::new(&named), Rule::NamedIdentityInvalid);
    let mounted = GOOD.replace(
        "          env: [{name: LOG_LEVEL, value: info}]",
        "          env: [{name: LOG_LEVEL, value: info}]\n          volumeMounts: [{name: mine, mountPath: /var/run/secrets/azure/wi}]\n      volumes: [{name: mine, emptyDir: {}}]",
    );
    only(&Case::new(&mounted), Rule::MountConflict);
    let broken = GOOD.replace(
        "      containers:\n        - name: api",
        "      containers: 3\n      x:\n        - name: api",
    );
    only(&Case::new(&broken), Rule::InvalidPod);
}
