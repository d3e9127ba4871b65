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
        self.with_input(diagnose)
    }

    /// `f` of the doctor's input for this case.
    fn with_input<T>(&self, f: impl FnOnce(&Input<'_>) -> T) -> T {
        let documents = documents(self.yaml);
        let settings = WebhookSettings::new(TENANT);
        f(&Input {
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

mod coverage;
mod manifests;
mod placement;
mod token_issuer;
