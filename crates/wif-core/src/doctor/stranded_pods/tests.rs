use serde_json::json;

use super::*;

const CLIENT: &str = "11111111-0000-4000-8000-000000000001";

fn settings() -> WebhookSettings {
    WebhookSettings::new("aaaaaaaa-0000-4000-8000-00000000000a")
}

/// A running, labelled, unmutated pod of `owner` (`kind`, `name`), as listed.
fn pod(namespace: &str, name: &str, owner: Option<(&str, &str)>, account: &str) -> Value {
    let owners: Vec<Value> = owner
        .map(
            |(kind, name)| json!({"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "u", "controller": true}),
        )
        .into_iter()
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "ownerReferences": owners,
                     "labels": {contract::LABEL_USE: "true"}},
        "spec": {"serviceAccountName": account, "containers": [{"name": "web", "image": "web:1",
                 "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"}]},
        "status": {"phase": "Running"}
    })
}

fn account(namespace: &str, name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": name, "namespace": namespace, "annotations": annotations}})
}

fn replica_set(namespace: &str, name: &str, deployment: Option<&str>) -> Value {
    let owners: Vec<Value> = deployment
        .map(|d| json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": d, "uid": "d", "controller": true}))
        .into_iter()
        .collect();
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
           "metadata": {"name": name, "namespace": namespace, "ownerReferences": owners}})
}

fn run(pods: &[Value], accounts: &[Value], replica_sets: &[Value]) -> Vec<Finding> {
    stranded_pods(
        &LivePods {
            pods,
            service_accounts: accounts,
            replica_sets,
        },
        &settings(),
    )
}

const MISSING: &str = "missing: env AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST and token mount in container web, and token volume";

#[test]
fn one_finding_per_owner_and_reason() {
    let rs = ("ReplicaSet", "web-5d8f");
    let pods = [
        pod("demo", "web-5d8f-a", Some(rs), "app"),
        pod("demo", "web-5d8f-b", Some(rs), "app"),
        pod("demo", "web-5d8f-c", Some(rs), "app"),
        pod("demo", "web-5d8f-d", Some(rs), "app"),
        pod("demo", "lonely", None, "app"),
        pod("demo", "db-0", Some(("StatefulSet", "db")), "app"),
        pod("demo", "solo-x", Some(("ReplicaSet", "solo")), "app"),
        pod("demo", "batch-q", Some(("Job", "batch")), "app"),
        pod("demo", "agent-1", Some(("DaemonSet", "agent")), "app"),
        pod("demo", "agent-2", Some(("DaemonSet", "agent")), "app"),
    ];
    let accounts = [account("demo", "app", json!({contract::ANNOTATION_CLIENT_ID: CLIENT}))];
    let replica_sets = [
        replica_set("demo", "web-5d8f", Some("web")),
        replica_set("demo", "solo", None),
    ];
    let findings = run(&pods, &accounts, &replica_sets);
    let objects: Vec<String> = findings.iter().map(|f| f.object.to_string()).collect();
    assert_eq!(
        objects,
        [
            "DaemonSet demo/agent",
            "Deployment demo/web",
            "Job demo/batch",
            "Pod demo/lonely",
            "ReplicaSet demo/solo",
            "StatefulSet demo/db"
        ]
    );
    assert!(findings.iter().all(|f| f.rule == Rule::PodStranded));
    assert!(
        findings[0].message.contains(": agent-1 and agent-2; missing: "),
        "{}",
        findings[0].message
    );
    assert!(
        findings[0]
            .fix
            .starts_with("kubectl rollout restart daemonset/agent -n demo; ")
    );
    let deployment = &findings[1];
    assert_eq!(
        deployment.message,
        format!(
            "stranded (never_mutated): 4 pods of Deployment demo/web (ReplicaSet web-5d8f) run without what the webhook would inject now, {}: web-5d8f-a, web-5d8f-b, web-5d8f-c and 1 more; {MISSING}",
            StrandedReason::NeverMutated.explain()
        )
    );
    assert_eq!(
        deployment.fix,
        "kubectl rollout restart deployment/web -n demo; or let the webhook do it: wif webhook --heal=evict evicts the stranded pods of controllers"
    );
    let job = &findings[2];
    assert!(
        job.message
            .starts_with("stranded (never_mutated): 1 pod of Job demo/batch runs without"),
        "{}",
        job.message
    );
    assert!(
        job.fix
            .starts_with("kubectl delete pod batch-q -n demo (its Job creates them again, through the webhook)")
    );
    let bare = &findings[3];
    assert_eq!(
        bare.message,
        format!(
            "stranded (never_mutated): pod demo/lonely (no controller) runs without what the webhook would inject now, {}; {MISSING}",
            StrandedReason::NeverMutated.explain()
        )
    );
    assert_eq!(
        bare.fix,
        "recreate the pod through the webhook: kubectl get pod lonely -n demo -o yaml | kubectl replace --force -f - (wif webhook --heal=evict leaves pods without a controller alone)"
    );
    assert!(findings[4].fix.starts_with("kubectl delete pod solo-x -n demo"));
    assert!(
        findings[5]
            .message
            .contains("1 pod of StatefulSet demo/db runs without")
    );
    assert!(
        findings[5]
            .fix
            .starts_with("kubectl rollout restart statefulset/db -n demo")
    );
}

#[test]
fn unhealable_reasons_name_what_to_fix_first() {
    let pods = [
        pod("demo", "web-a", Some(("ReplicaSet", "web-1")), "gone"),
        pod("demo", "web-b", Some(("ReplicaSet", "web-1")), "app"),
    ];
    let accounts = [account(
        "demo",
        "app",
        json!({contract::ANNOTATION_CLIENT_ID: CLIENT, contract::ANNOTATION_TOKEN_EXPIRATION: "100"}),
    )];
    let replica_sets = [replica_set("demo", "web-1", Some("web"))];
    let findings = run(&pods, &accounts, &replica_sets);
    assert!(
        findings[0].message.contains(": web-a; missing: env AZURE_TENANT_ID"),
        "{}",
        findings[0].message
    );
    let reasons: Vec<&str> = findings
        .iter()
        .map(|f| f.message.split_once(')').map_or("", |(r, _)| r))
        .collect();
    assert_eq!(
        reasons,
        ["stranded (service_account_missing", "stranded (would_be_denied"]
    );
    assert_eq!(
        findings[0].fix,
        "create ServiceAccount demo/gone with its azure.workload.identity/client-id annotation, then kubectl rollout restart deployment/web -n demo"
    );
    assert_eq!(
        findings[1].fix,
        "fix what the webhook refuses (token expiration 100 not valid. Expected value to be between 3600 and 86400), then kubectl rollout restart deployment/web -n demo"
    );
}

#[test]
fn fine_unlabelled_and_finished_pods_are_not_reported() {
    let mutated: Value = serde_json::from_str(include_str!("../../stranded/testdata/stored-pod.json")).unwrap();
    let mut unlabelled = pod("demo", "plain", None, "app");
    unlabelled["metadata"]["labels"] = json!({});
    let mut finished = pod("demo", "done", Some(("Job", "batch")), "app");
    finished["status"]["phase"] = json!("Succeeded");
    let accounts = [account("demo", "app", json!({contract::ANNOTATION_CLIENT_ID: CLIENT}))];
    assert_eq!(run(&[mutated, unlabelled, finished], &accounts, &[]), []);
}
