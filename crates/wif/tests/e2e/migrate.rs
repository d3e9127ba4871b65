//! `wif migrate pod-identity --cluster` against a real API server with aad-pod-identity's CRDs
//! installed (written here from its documented shapes, with the schema that makes `type` an
//! integer): its objects and workloads are read, the migration is written out (a new
//! ServiceAccount, the workload relabelled, the credential command with the API server's own
//! issuer), and nothing in the cluster changes.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};

use crate::{Env, namespace_for};

const GROUP: &str = "aadpodidentity.k8s.io";
const CLIENT: &str = "0b6c1a9e-2f3d-4c5b-8a7e-9d0f1e2a3b4c";

fn crd(kind: &str, spec: Value) -> Value {
    let plural = format!("{}s", kind.to_ascii_lowercase()).replace("ys", "ies");
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        // A group under .k8s.io needs the approval annotation; aad-pod-identity's says unapproved.
        "metadata": {"name": format!("{plural}.{GROUP}"), "annotations": {"api-approved.kubernetes.io": "unapproved"}},
        "spec": {
            "group": GROUP,
            "names": {"kind": kind, "listKind": format!("{kind}List"), "plural": plural, "singular": kind.to_ascii_lowercase()},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                    "spec": spec,
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                }}},
            }],
        },
    })
}

fn crds() -> [Value; 3] {
    let text = json!({"type": "string"});
    [
        crd(
            "AzureIdentity",
            json!({"type": "object", "properties": {
                "type": {"type": "integer"}, "resourceID": text, "clientID": text, "tenantID": text,
                "adResourceID": text, "adEndpoint": text, "replicas": {"type": "integer", "nullable": true},
                "auxiliaryTenantIDs": {"type": "array", "items": text, "nullable": true},
                "clientPassword": {"type": "object", "properties": {"name": text, "namespace": text}},
            }}),
        ),
        crd(
            "AzureIdentityBinding",
            json!({"type": "object", "properties": {"azureIdentity": text, "selector": text, "weight": {"type": "integer"}}}),
        ),
        crd(
            "AzurePodIdentityException",
            json!({"type": "object", "properties": {"podLabels": {"type": "object", "additionalProperties": text}}}),
        ),
    ]
}

async fn create(env: &Env, ns: &str, kind: &str, object: Value) -> Result<()> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(GROUP, "v1", kind));
    let object: DynamicObject = serde_json::from_value(object)?;
    Api::<DynamicObject>::namespaced_with(env.cluster.client.clone(), ns, &resource)
        .create(&PostParams::default(), &object)
        .await
        .with_context(|| format!("creating a {kind}"))?;
    Ok(())
}

async fn deployment(env: &Env, ns: &str, name: &str, binding: Option<&str>) -> Result<()> {
    let mut labels = json!({"app": name});
    if let Some(selector) = binding {
        labels["aadpodidbinding"] = json!(selector);
    }
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "busybox"}]}}},
    }))?;
    Api::<Deployment>::namespaced(env.cluster.client.clone(), ns)
        .create(&PostParams::default(), &deployment)
        .await?;
    Ok(())
}

pub async fn migrate_reads_pod_identity_from_the_cluster_and_writes_nothing_there(env: Arc<Env>) -> Result<()> {
    let definitions: Api<CustomResourceDefinition> = Api::all(env.cluster.client.clone());
    for definition in crds() {
        let name = definition["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let definition: CustomResourceDefinition = serde_json::from_value(definition)?;
        match definitions.create(&PostParams::default(), &definition).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => return Err(error).context("installing aad-pod-identity's CRDs"),
        }
        tokio::time::timeout(
            Duration::from_secs(60),
            await_condition(definitions.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .with_context(|| format!("{name} not established in time"))??;
    }
    let ns = env.cluster.namespace(&namespace_for("migrate")).await?;
    create(&env, &ns, "AzureIdentity", json!({
        "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity", "metadata": {"name": "orders-reader"},
        "spec": {"type": 0, "clientID": CLIENT,
            "resourceID": "/subscriptions/5b0c3e4a-7d21-4f6e-9a38-2c1d0e9f8a7b/resourcegroups/rg-shop/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orders-reader"},
    }))
    .await?;
    create(&env, &ns, "AzureIdentityBinding", json!({
        "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentityBinding", "metadata": {"name": "orders-binding"},
        "spec": {"azureIdentity": "orders-reader", "selector": "orders"},
    }))
    .await?;
    // The API server holds aad-pod-identity's CRD rule: a type that is no integer is refused.
    let refused = create(
        &env,
        &ns,
        "AzureIdentity",
        json!({
            "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity", "metadata": {"name": "stringly"},
            "spec": {"type": "0", "clientID": CLIENT},
        }),
    )
    .await;
    ensure!(refused.is_err(), "a string type was stored");
    deployment(&env, &ns, "orders-api", Some("orders")).await?;
    deployment(&env, &ns, "storefront", None).await?;

    let commands = env.work.join("migrate-fic.sh");
    let out = Command::new(env!("CARGO_BIN_EXE_wif"))
        .args(["migrate", "pod-identity", "--cluster", "-n", &ns, "--commands"])
        .arg(&commands)
        .arg("--kubeconfig")
        .arg(&env.cluster.kubeconfig)
        .output()?;
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(out.status.success(), "wif migrate: {report}");
    ensure!(
        report.contains(&format!("migrated: Deployment {ns}/orders-api")),
        "{report}"
    );
    let written: Vec<Value> = wif_core::yaml::parse_stream(&String::from_utf8_lossy(&out.stdout))?
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    let kinds: Vec<(String, String)> = written
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or_default().to_owned(),
                d["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    ensure!(
        kinds
            == [
                ("ServiceAccount".to_owned(), "orders-api".to_owned()),
                ("Deployment".to_owned(), "orders-api".to_owned())
            ],
        "only what the migration changes or makes: {kinds:?}"
    );
    let migrated = &written[1];
    ensure!(
        migrated["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true",
        "{migrated}"
    );
    ensure!(
        migrated["spec"]["template"]["metadata"]["labels"]
            .get("aadpodidbinding")
            .is_none(),
        "{migrated}"
    );
    ensure!(
        migrated["metadata"].get("resourceVersion").is_none() && migrated.get("status").is_none(),
        "server fields left: {migrated}"
    );
    ensure!(
        written[0]["metadata"]["annotations"]["azure.workload.identity/client-id"] == CLIENT,
        "{}",
        written[0]
    );
    let script = std::fs::read_to_string(&commands)?;
    ensure!(
        script.contains(&format!("--issuer {} ", env.cluster.server)) || script.contains("--issuer https://"),
        "the API server's issuer: {script}"
    );
    ensure!(
        script.contains(&format!("--subject system:serviceaccount:{ns}:orders-api")),
        "{script}"
    );

    // Nothing was written to the cluster.
    let stored = Api::<Deployment>::namespaced(env.cluster.client.clone(), &ns)
        .get("orders-api")
        .await?;
    let labels = stored
        .spec
        .and_then(|s| s.template.metadata)
        .and_then(|m| m.labels)
        .unwrap_or_default();
    ensure!(
        labels.get("aadpodidbinding").map(String::as_str) == Some("orders"),
        "the cluster changed: {labels:?}"
    );
    ensure!(
        Api::<ServiceAccount>::namespaced(env.cluster.client.clone(), &ns)
            .get_opt("orders-api")
            .await?
            .is_none(),
        "a ServiceAccount was created in the cluster"
    );

    // The doctor sees what is left: the CRDs, and the workload still on its label.
    let out = Command::new(env!("CARGO_BIN_EXE_wif"))
        .args(["doctor", "--cluster", "-o", "json", "--kubeconfig"])
        .arg(&env.cluster.kubeconfig)
        .output()?;
    let report: Value = serde_json::from_slice(&out.stdout).context("the doctor's JSON report")?;
    let findings = report["findings"].as_array().context("no findings")?;
    let found = |rule: &str, namespace: &str, name: &str| {
        findings
            .iter()
            .any(|f| f["rule"] == rule && f["object"]["namespace"] == namespace && f["object"]["name"] == name)
    };
    for crd in ["azureidentities", "azureidentitybindings", "azurepodidentityexceptions"] {
        ensure!(
            found("pod-identity-installed", "", &format!("{crd}.{GROUP}")),
            "no pod-identity-installed for {crd} in {:#}",
            report["findings"]
        );
    }
    ensure!(
        found("pod-identity-leftover", &ns, "orders-api"),
        "no pod-identity-leftover for orders-api in {:#}",
        report["findings"]
    );
    Ok(())
}
