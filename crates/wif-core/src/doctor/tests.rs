//! Each rule: a manifest set that triggers it, and the correct set that must not. The correct
//! set (federated Deployment, its ServiceAccount, the matching credential, unrelated kinds, a
//! workload that does not use workload identity, a `List`) gives no finding at all.

use super::*;
use crate::fic::FederatedCredential;
use crate::rules::Rule;
use crate::settings::WebhookSettings;

const CLIENT: &str = "11111111-0000-4000-8000-000000000001";
const OTHER_CLIENT: &str = "22222222-0000-4000-8000-000000000002";
const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const ISSUER: &str = "https://oidc.example/cluster/";

const GOOD: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata:
  name: api-sa
  namespace: payments
  annotations:
    azure.workload.identity/client-id: "11111111-0000-4000-8000-000000000001"
    azure.workload.identity/tenant-id: "aaaaaaaa-0000-4000-8000-00000000000a"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: payments
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata:
      labels: {app: api, azure.workload.identity/use: "true"}
    spec:
      serviceAccountName: api-sa
      containers:
        - name: api
          image: api:1
          env: [{name: LOG_LEVEL, value: info}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: payments}
data: {a: b}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: api, namespace: payments}
    spec: {ports: [{port: 80}]}
  - apiVersion: batch/v1
    kind: Job
    metadata: {name: migrate, namespace: payments}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: migrate, image: migrate:1}]
"#;

fn documents(yaml: &str) -> Vec<Document> {
    crate::yaml::parse_stream(yaml)
        .expect("test YAML")
        .into_iter()
        .enumerate()
        .map(|(index, value)| Document {
            source: "test.yaml".into(),
            index,
            value,
        })
        .collect()
}

fn credentials(subject: &str, issuer: &str, audience: &str) -> Vec<ClientCredentials> {
    vec![ClientCredentials {
        client_id: CLIENT.into(),
        owner: "managed identity 'api-identity'".into(),
        credentials: vec![FederatedCredential {
            name: "payments-api".into(),
            issuer: issuer.into(),
            subject: subject.into(),
            audiences: vec![audience.into()],
            description: None,
        }],
    }]
}

/// The correct manifests against one credential of the managed identity.
fn with_credential<'a>(subject: &str, issuer: &str, audience: &str) -> Case<'a> {
    Case {
        credentials: Some(credentials(subject, issuer, audience)),
        ..Case::new(GOOD)
    }
}

fn good_credentials() -> Vec<ClientCredentials> {
    credentials(
        "system:serviceaccount:payments:api-sa",
        ISSUER,
        "api://AzureADTokenExchange",
    )
}

struct Case<'a> {
    yaml: &'a str,
    credentials: Option<Vec<ClientCredentials>>,
    issuer: Option<&'a str>,
    token: Option<TokenFacts>,
    issuer_check: Option<IssuerFacts>,
}

impl<'a> Case<'a> {
    fn new(yaml: &'a str) -> Self {
        Case {
            yaml,
            credentials: Some(good_credentials()),
            issuer: Some(ISSUER),
            token: None,
            issuer_check: None,
        }
    }

    fn run(&self) -> Vec<Finding> {
        let documents = documents(self.yaml);
        let settings = WebhookSettings::new(TENANT);
        diagnose(&Input {
            documents: &documents,
            default_namespace: "default",
            settings: &settings,
            credentials: self.credentials.as_deref(),
            issuer: self.issuer,
            token: self.token.as_ref(),
            issuer_check: self.issuer_check.as_ref(),
            now: 1_800_000_000,
            cluster: false,
        })
    }
}

/// The correct set with these annotations on the pod template.
fn annotate(annotations: &str) -> String {
    GOOD.replace(
        "      labels: {app: api, azure.workload.identity/use: \"true\"}\n",
        &format!(
            "      labels: {{app: api, azure.workload.identity/use: \"true\"}}\n      annotations: {{{annotations}}}\n"
        ),
    )
}

fn ids(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule.id()).collect()
}

/// The one finding of `yaml` is `rule`; returns it.
fn only(case: &Case<'_>, rule: Rule) -> Finding {
    let findings = case.run();
    assert_eq!(ids(&findings), [rule.id()], "{findings:#?}");
    findings.into_iter().next().expect("one finding")
}

#[test]
fn a_correct_setup_gives_no_finding() {
    assert_eq!(Case::new(GOOD).run(), []);
    let without_credentials = Case {
        credentials: None,
        issuer: None,
        ..Case::new(GOOD)
    };
    assert_eq!(without_credentials.run(), []);
    let issuer_unknown = Case {
        issuer: None,
        ..Case::new(GOOD)
    };
    assert_eq!(
        issuer_unknown.run(),
        [],
        "subject and audience are judged without the issuer"
    );
}

#[test]
fn labels_in_the_wrong_place() {
    let missing = GOOD.replace(", azure.workload.identity/use: \"true\"", "");
    let finding = only(&Case::new(&missing), Rule::LabelMissing);
    assert_eq!(finding.object.to_string(), "Deployment payments/api");
    assert_eq!(finding.object.document, Some(1));
    assert!(
        finding.message.contains(&format!("names client id {CLIENT}")),
        "{}",
        finding.message
    );
    assert_eq!(
        finding.fix,
        "add azure.workload.identity/use: \"true\" to the pod template's metadata.labels"
    );
    let on_workload = missing.replace(
        "  name: api\n  namespace: payments\nspec:",
        "  name: api\n  namespace: payments\n  labels: {azure.workload.identity/use: \"true\"}\nspec:",
    );
    only(&Case::new(&on_workload), Rule::LabelOnWorkload);
    let on_sa = GOOD.replace(
        "  name: api-sa\n  namespace: payments\n",
        "  name: api-sa\n  namespace: payments\n  labels: {azure.workload.identity/use: \"true\"}\n",
    );
    only(&Case::new(&on_sa), Rule::LabelOnServiceAccount);
    let boolean = GOOD.replace(
        "azure.workload.identity/use: \"true\"",
        "azure.workload.identity/use: true",
    );
    only(&Case::new(&boolean), Rule::LabelNotString);
}

#[test]
fn service_account_annotations() {
    let no_client = GOOD.replace(
        "    azure.workload.identity/client-id: \"11111111-0000-4000-8000-000000000001\"\n",
        "",
    );
    let finding = only(&Case::new(&no_client), Rule::ClientIdMissing);
    assert_eq!(finding.object.to_string(), "ServiceAccount payments/api-sa");
    let not_guid = GOOD.replace("\"11111111-0000-4000-8000-000000000001\"", "\"api-identity\"");
    only(&Case::new(&not_guid), Rule::ClientIdNotGuid);
    let bad_tenant = GOOD.replace("\"aaaaaaaa-0000-4000-8000-00000000000a\"", "\"my tenant\"");
    only(&Case::new(&bad_tenant), Rule::TenantIdInvalid);
    for typo in ["client_id", "clientId", "clientid"] {
        let typoed = GOOD.replace(
            "azure.workload.identity/client-id:",
            &format!("azure.workload.identity/{typo}:"),
        );
        let findings = Case::new(&typoed).run();
        let typo_finding = findings
            .iter()
            .find(|f| f.rule == Rule::AnnotationTypo)
            .unwrap_or_else(|| panic!("{typo}: {findings:#?}"));
        assert_eq!(
            typo_finding.fix, "rename the annotation to \"azure.workload.identity/client-id\"",
            "{typo}"
        );
        assert!(
            findings.iter().any(|f| f.rule == Rule::ClientIdMissing),
            "{typo}: {findings:#?}"
        );
    }
    let wrong_prefix = GOOD.replace(
        "azure.workload.identity/client-id:",
        "azure.workload.identity.io/client-id:",
    );
    assert!(ids(&Case::new(&wrong_prefix).run()).contains(&"annotation-typo"));
    let on_pod = GOOD.replace(
        "      labels: {app: api, azure.workload.identity/use: \"true\"}\n",
        "      labels: {app: api, azure.workload.identity/use: \"true\"}\n      annotations: {azure.workload.identity/client-id: \"11111111-0000-4000-8000-000000000001\"}\n",
    );
    only(&Case::new(&on_pod), Rule::AnnotationWrongObject);
}

#[test]
fn credentials_that_do_not_accept_the_workload() {
    let moved = with_credential(
        "system:serviceaccount:payment:api-sa",
        ISSUER,
        "api://AzureADTokenExchange",
    );
    let finding = only(&moved, Rule::CredentialSubject);
    assert!(
        finding
            .message
            .contains("(the namespace is 'payment' in the credential but 'payments' in the token)"),
        "{}",
        finding.message
    );
    assert_eq!(
        finding.fix,
        "in credential 'payments-api', set the subject to `system:serviceaccount:payments:api-sa`"
    );
    assert!(
        finding
            .object
            .name
            .starts_with("payments-api (on managed identity 'api-identity'")
    );
    let slash = with_credential(
        "system:serviceaccount:payments:api-sa",
        ISSUER.trim_end_matches('/'),
        "api://AzureADTokenExchange",
    );
    let finding = only(&slash, Rule::CredentialIssuer);
    assert!(
        finding.message.contains("they differ only by a trailing slash"),
        "{}",
        finding.message
    );
    assert_eq!(
        finding.fix,
        format!("in credential 'payments-api', set the issuer to `{ISSUER}`")
    );
    let scheme = with_credential(
        "system:serviceaccount:payments:api-sa",
        "http://oidc.example/cluster/",
        "api://AzureADTokenExchange",
    );
    assert!(only(&scheme, Rule::CredentialIssuer).message.contains("scheme"));
    let audience = with_credential(
        "system:serviceaccount:payments:api-sa",
        ISSUER,
        "api://AzureADTokenExchange/",
    );
    let finding = only(&audience, Rule::CredentialAudience);
    assert!(
        finding.message.contains("differs only by a trailing slash"),
        "{}",
        finding.message
    );
    let case = with_credential(
        "system:serviceaccount:Payments:api-sa",
        ISSUER,
        "api://AzureADTokenExchange",
    );
    assert!(only(&case, Rule::CredentialSubject).message.contains("letter case"));
    let elsewhere = Case {
        credentials: Some(vec![ClientCredentials {
            client_id: OTHER_CLIENT.into(),
            ..good_credentials().remove(0)
        }]),
        ..Case::new(GOOD)
    };
    let finding = only(&elsewhere, Rule::CredentialOtherClient);
    assert!(finding.fix.starts_with(&format!(
        "set the ServiceAccount's azure.workload.identity/client-id to {OTHER_CLIENT}"
    )));
    let none = Case {
        credentials: Some(vec![ClientCredentials {
            credentials: vec![],
            ..good_credentials().remove(0)
        }]),
        ..Case::new(GOOD)
    };
    let finding = only(&none, Rule::CredentialsNone);
    assert_eq!(
        finding.fix,
        format!(
            "add a federated identity credential to client id {CLIENT} with issuer `{ISSUER}`, subject `system:serviceaccount:payments:api-sa`, audience `api://AzureADTokenExchange`"
        )
    );
}

#[test]
fn containers_that_defeat_federation() {
    let secret = GOOD.replace(
        "env: [{name: LOG_LEVEL, value: info}]",
        "env: [{name: AZURE_CLIENT_SECRET, valueFrom: {secretKeyRef: {name: s, key: k}}}]",
    );
    let finding = only(&Case::new(&secret), Rule::EnvOverridesFederation);
    assert!(finding.message.contains("container \"api\" sets AZURE_CLIENT_SECRET"));
    for var in ["AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME"] {
        let set = GOOD.replace("name: LOG_LEVEL, value: info", &format!("name: {var}, value: x"));
        only(&Case::new(&set), Rule::EnvOverridesFederation);
    }
    let contradicting = GOOD.replace(
        "name: LOG_LEVEL, value: info",
        "name: AZURE_CLIENT_ID, value: 33333333-0000-4000-8000-000000000003",
    );
    only(&Case::new(&contradicting), Rule::EnvContradictsServiceAccount);
    let agreeing = GOOD.replace(
        "name: LOG_LEVEL, value: info",
        &format!("name: AZURE_CLIENT_ID, value: {CLIENT}"),
    );
    assert_eq!(Case::new(&agreeing).run(), []);
    let tenant = GOOD.replace(
        "name: LOG_LEVEL, value: info",
        "name: AZURE_TENANT_ID, value: other-tenant.example",
    );
    only(&Case::new(&tenant), Rule::EnvContradictsServiceAccount);
    let skipped = secret.replace(
        "      labels: {app: api, azure.workload.identity/use: \"true\"}\n",
        "      labels: {app: api, azure.workload.identity/use: \"true\"}\n      annotations: {azure.workload.identity/skip-containers: api}\n",
    );
    assert_eq!(Case::new(&skipped).run(), [], "a skipped container may keep its secret");
}

#[test]
fn pod_annotations_the_webhook_refuses_or_ignores() {
    for value in ["600", "86401", "ten"] {
        let finding = only(
            &Case::new(&annotate(&format!(
                "azure.workload.identity/service-account-token-expiration: \"{value}\""
            ))),
            Rule::TokenExpiration,
        );
        assert!(
            finding.message.starts_with("the webhook refuses the pod: "),
            "{}",
            finding.message
        );
    }
    assert_eq!(
        Case::new(&annotate(
            "azure.workload.identity/service-account-token-expiration: \"7200\""
        ))
        .run(),
        []
    );
    only(
        &Case::new(&annotate("azure.workload.identity/skip-containers: \"apii\"")),
        Rule::SkipContainersUnknown,
    );
    let proxy = annotate("azure.workload.identity/inject-proxy-sidecar: \"true\"");
    assert_eq!(Case::new(&proxy).run(), []);
    let host = proxy.replace(
        "      serviceAccountName: api-sa\n",
        "      serviceAccountName: api-sa\n      hostNetwork: true\n",
    );
    only(&Case::new(&host), Rule::ProxyHostNetwork);
    let windows = proxy.replace(
        "      serviceAccountName: api-sa\n",
        "      serviceAccountName: api-sa\n      os: {name: windows}\n",
    );
    only(&Case::new(&windows), Rule::ProxyWindows);
    only(
        &Case::new(&annotate("azure.workload.identity/inject-proxy-sidecar: \"false\"")),
        Rule::ProxyAnnotationFalse,
    );
    only(
        &Case::new(&annotate(
            "azure.workload.identity/inject-proxy-sidecar: \"true\", azure.workload.identity/proxy-sidecar-port: \"70000\"",
        )),
        Rule::ProxyPort,
    );
}

#[test]
fn one_identity_for_many_workloads_and_a_missing_service_account() {
    let twice = format!(
        "{GOOD}---\n{}",
        GOOD.split("---")
            .nth(1)
            .unwrap_or_default()
            .replace("name: api\n", "name: worker\n")
    );
    let finding = only(&Case::new(&twice), Rule::ClientIdShared);
    assert_eq!(
        finding.message,
        format!("client id {CLIENT} is used by 2 workloads: Deployment payments/api, Deployment payments/worker")
    );
    let orphan = GOOD.replace("serviceAccountName: api-sa", "serviceAccountName: gone");
    only(&Case::new(&orphan), Rule::ServiceAccountMissing);
}

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
