//! `wif webhook` as a process: upstream's flags, a ServiceAccounts file, TLS, a real client,
//! JSON logs, SIGTERM.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::*;

#[tokio::test]
async fn serves_admission_reviews_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("wif-it-webhook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let accounts = dir.join("sas.yaml");
    std::fs::write(&accounts, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: demo, annotations: {azure.workload.identity/client-id: 11111111-0000-4000-8000-000000000001}}\n").unwrap();
    let ca = dir.join("ca.pem");
    let mut command = Command::new(env!("CARGO_BIN_EXE_wif"));
    command
        .args([
            "webhook",
            "--bind-address",
            "127.0.0.1",
            "--port",
            "0",
            "--health-addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .args([
            "--tenant-id",
            "aaaaaaaa-0000-4000-8000-00000000000a",
            "--log-level",
            "info",
            "--shutdown-delay",
            "200ms",
        ])
        .arg("--service-accounts")
        .arg(&accounts)
        .arg("--self-signed-ca-out")
        .arg(&ca)
        .env_remove("AZURE_TENANT_ID")
        .stderr(Stdio::piped());
    let (child, line) = spawn_with_banner(&mut command);
    let url = banner_field(&line, "listening on ");
    let metrics = banner_field(&line, "metrics on ");
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap()])
        .build()
        .unwrap();
    let review = json!({
        "apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
        "request": { "uid": "u-1", "namespace": "demo", "operation": "CREATE",
                     "object": { "metadata": { "name": "p", "labels": { "azure.workload.identity/use": "true" }, "annotations": { "azure.workload.identity/client_id": "x" } },
                                 "spec": { "serviceAccountName": "app", "containers": [{ "name": "c", "image": "i" }] } } }
    });
    let answer: Value = http
        .post(&url)
        .json(&review)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(answer["response"]["patchType"], "JSONPatch");
    assert!(
        answer["response"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("did you mean")
    );
    let text = reqwest::get(format!("{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("wif_webhook_admissions_total{outcome=\"mutated\"} 1"),
        "{text}"
    );

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "SIGTERM stops it cleanly");
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(
        logs.contains("still accepting while callers stop routing here") && logs.contains("200ms"),
        "the shutdown delay is logged: {logs}"
    );
    let json_line = logs
        .lines()
        .find(|l| l.contains("admission warning"))
        .unwrap_or_else(|| panic!("{logs}"));
    let entry: Value = serde_json::from_str(json_line).unwrap();
    assert_eq!(entry["level"], "INFO", "JSON logs, as upstream");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn refuses_bad_setups_clearly() {
    let cases: &[(&[&str], &str)] = &[
        (&["webhook"], "a default tenant is required"),
        (
            &[
                "webhook",
                "--tenant-id",
                "t",
                "--bind-address",
                "127.0.0.1",
                "--port",
                "0",
                "--health-addr",
                "127.0.0.1:0",
                "--metrics-addr",
                "127.0.0.1:0",
                "--self-signed-ca-out",
                "/dev/null",
            ],
            "no cluster: not in a pod and no kubeconfig (pass --kubeconfig FILE or set KUBECONFIG)",
        ),
        (
            &[
                "webhook",
                "--tenant-id",
                "t",
                "--kubeconfig",
                "/nonexistent/kubeconfig",
                "--self-signed-ca-out",
                "/dev/null",
            ],
            "cannot read the kubeconfig /nonexistent/kubeconfig",
        ),
        (
            &["webhook", "--tenant-id", "t", "--metrics-backend", "statsd"],
            "unsupported metrics backend: statsd",
        ),
        (
            &[
                "webhook",
                "--tenant-id",
                "t",
                "--service-accounts",
                "/dev/null",
                "--heal=evict",
            ],
            "--heal=evict needs the cluster: it does not go with --service-accounts",
        ),
        (
            &["webhook", "--tenant-id", "t", "--tls-min-version", "1.0"],
            "TLS 1.0 is not offered",
        ),
        (
            &["webhook", "--tenant-id", "t", "--health-addr", "nonsense"],
            "is not host:port",
        ),
    ];
    for (args, expected) in cases {
        let out = wif(args, b"");
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
    }
}
