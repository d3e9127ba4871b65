//! `wif render` asks for a default tenant only when it needs one: a pod template it mutates
//! runs as a ServiceAccount without `azure.workload.identity/tenant-id`. The error names that
//! ServiceAccount and those templates; every other behaviour stays as with a tenant.

use super::super::*;
use super::{TENANT, parse};

const ACCOUNT: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api-sa\n  namespace: payments\n  annotations:\n    azure.workload.identity/client-id: 11111111-0000-4000-8000-000000000001\n";
const DEPLOYMENT: &str = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: payments}\nspec:\n  template:\n    metadata: {labels: {azure.workload.identity/use: \"true\"}}\n    spec: {serviceAccountName: api-sa, containers: [{name: api, image: api:1}]}\n";
const TENANT_ANNOTATION: &str = "    azure.workload.identity/tenant-id: aaaaaaaa-0000-4000-8000-00000000000a\n";

#[test]
fn no_tenant_is_asked_for_when_every_service_account_names_its_own() {
    // The fixture's one ServiceAccount names its tenant.
    let out = wif(&["render", "-f", &fixture("workloads.yaml")], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "wif render: 7 of 8 pod templates mutated\n");
    let with_tenant = wif(&["render", "-f", &fixture("workloads.yaml"), TENANT], b"");
    assert_eq!(stdout(&out), stdout(&with_tenant), "the same stream as with a default");
    let docs = parse(&stdout(&out));
    let env = &docs[2]["spec"]["containers"][0]["env"];
    assert!(
        env.as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "AZURE_TENANT_ID" && v["value"] == "aaaaaaaa-0000-4000-8000-00000000000a"),
        "{env}"
    );
    // --strict fails on a warning as with a default tenant (a label value that matches nothing).
    let near_miss = format!(
        "{ACCOUNT}{TENANT_ANNOTATION}{}",
        DEPLOYMENT.replace("use: \"true\"", "use: \"True\"")
    );
    let strict = wif(&["render", "-f", "-", "--strict"], near_miss.as_bytes());
    assert!(!strict.status.success());
    assert_eq!(stdout(&strict), "");
    assert!(
        stderr(&strict).ends_with(
            "wif render: 0 of 1 pod template mutated\nwif: nothing was written: --strict fails on the warnings above\n"
        ),
        "{}",
        stderr(&strict)
    );
}

#[test]
fn a_mutated_template_whose_service_account_names_no_tenant_asks_for_one_naming_both() {
    let pod = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: debug, namespace: payments, labels: {azure.workload.identity/use: \"true\"}}\nspec: {serviceAccountName: api-sa, containers: [{name: c, image: i}]}\n";
    let unlabelled = "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: other, namespace: payments}\nspec:\n  template:\n    spec: {serviceAccountName: plain, restartPolicy: Never, containers: [{name: c, image: i}]}\n";
    let input = format!("{ACCOUNT}{DEPLOYMENT}{pod}{unlabelled}");
    let out = wif(&["render", "-f", "-"], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "", "nothing written");
    assert_eq!(
        stderr(&out),
        "wif: a default tenant is required: ServiceAccount payments/api-sa has no azure.workload.identity/tenant-id annotation, and the pod templates of Deployment payments/api (document 2) and Pod payments/debug (document 3) run as it: pass --tenant-id or set AZURE_TENANT_ID (the tenant for ServiceAccounts without the annotation), or annotate the ServiceAccount\n"
    );
    // Annotated, it needs none; the unlabelled Job never did.
    let annotated = format!("{ACCOUNT}{TENANT_ANNOTATION}{DEPLOYMENT}{pod}{unlabelled}");
    let out = wif(&["render", "-f", "-"], annotated.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "wif render: 2 of 3 pod templates mutated\n");
    // A ServiceAccount that is not in the input has no annotation at all.
    let missing = wif(
        &["render", "-f", "-", "--allow-missing-service-accounts"],
        DEPLOYMENT.as_bytes(),
    );
    assert_eq!(
        stderr(&missing),
        "wif: a default tenant is required: ServiceAccount payments/api-sa (not in the input) has no azure.workload.identity/tenant-id annotation, and the pod template of Deployment payments/api (document 1) runs as it: pass --tenant-id or set AZURE_TENANT_ID (the tenant for ServiceAccounts without the annotation), or annotate the ServiceAccount\n"
    );
    // AZURE_TENANT_ID is a default, as --tenant-id is.
    let dir = super::super::issuer::TempDir::new("render-tenant-env");
    std::fs::write(dir.path("in.yaml"), &input).unwrap();
    let from_env = std::process::Command::new(env!("CARGO_BIN_EXE_wif"))
        .args(["render", "-f", &dir.path("in.yaml")])
        .env("AZURE_TENANT_ID", "33333333-0000-4000-8000-000000000003")
        .env("KUBECONFIG", "/nonexistent/wif-test-kubeconfig")
        .output()
        .unwrap();
    assert!(from_env.status.success(), "{}", stderr(&from_env));
    assert!(stdout(&from_env).contains("value: 33333333-0000-4000-8000-000000000003"));
}
