//! The webhook server for real: HTTPS on 127.0.0.1 with a CA made here, a real client, the
//! AdmissionReview kube-apiserver sends (v1 and v1beta1), the patch applied to the pod,
//! each denial, warnings, bad bodies, certificate rotation under load and graceful shutdown
//! with requests in flight.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use wif_core::{ServiceAccountInfo, WebhookSettings, contract};
use wif_server::pki::{LOOPBACK_NAMES, LocalCa};
use wif_server::{ServiceOptions, TlsSource};
use wif_webhook::accounts::{LookupError, ServiceAccountSource, account};
use wif_webhook::{StaticServiceAccounts, WebhookMetrics, WebhookState};

use super::until;

const CLIENT: &str = "11111111-0000-4000-8000-000000000001";

struct Webhook {
    url: String,
    health: String,
    dir: PathBuf,
    ca: LocalCa,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_cert(dir: &Path, ca: &LocalCa) {
    let cert = ca.issue(&LOOPBACK_NAMES).unwrap();
    // As a Secret volume changes: new files, then swapped in.
    std::fs::write(dir.join("tls.crt.new"), &cert.cert_pem).unwrap();
    std::fs::write(dir.join("tls.key.new"), &cert.key_pem).unwrap();
    std::fs::rename(dir.join("tls.key.new"), dir.join("tls.key")).unwrap();
    std::fs::rename(dir.join("tls.crt.new"), dir.join("tls.crt")).unwrap();
}

async fn start(accounts: Arc<dyn ServiceAccountSource>) -> Webhook {
    let dir = std::env::temp_dir().join(format!(
        "wif-webhook-it-{}",
        wif_jose::kubernetes::random_uuid().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = LocalCa::new("webhook test CA").unwrap();
    write_cert(&dir, &ca);
    let mut registry = Registry::default();
    let state = Arc::new(WebhookState {
        settings: WebhookSettings::new("aaaaaaaa-0000-4000-8000-00000000000a"),
        accounts,
        metrics: WebhookMetrics::new(&mut registry),
    });
    let loopback = "127.0.0.1:0".parse().unwrap();
    let mut options = ServiceOptions::new(loopback, loopback, TlsSource::CertDir(dir.clone()), "1.3");
    options.reload_interval = Duration::from_millis(100);
    let bound = wif_server::bind(options, wif_webhook::router(state), registry)
        .await
        .unwrap();
    let url = format!("https://{}{}", bound.address, contract::WEBHOOK_PATH);
    let health = format!("http://{}", bound.health_address);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        bound
            .serve(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Webhook {
        url,
        health,
        dir,
        ca,
        stop: Some(stop),
        done: Some(done),
    }
}

fn client(cas: &[&LocalCa]) -> reqwest::Client {
    let certs = cas
        .iter()
        .map(|ca| reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap());
    reqwest::Client::builder().tls_certs_only(certs).build().unwrap()
}

fn accounts() -> Arc<dyn ServiceAccountSource> {
    Arc::new(StaticServiceAccounts::from_accounts([
        account("demo", "app", &[(contract::ANNOTATION_CLIENT_ID, CLIENT)]),
        account("demo", "no-client", &[]),
    ]))
}

fn pod(annotations: Value, spec_extra: Value) -> Value {
    let mut spec = json!({ "serviceAccountName": "app", "containers": [{ "name": "app", "image": "app:1" }] });
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        s.extend(extra.clone());
    }
    json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "generateName": "myapp-7d9f8c5b4-", "labels": { contract::LABEL_USE: "true" }, "annotations": annotations }, "spec": spec })
}

fn review(version: &str, uid: &str, object: Value) -> Value {
    json!({
        "apiVersion": version, "kind": "AdmissionReview",
        "request": {
            "uid": uid, "kind": { "group": "", "version": "v1", "kind": "Pod" }, "resource": { "group": "", "version": "v1", "resource": "pods" },
            "namespace": "demo", "operation": "CREATE", "userInfo": { "username": "system:serviceaccount:kube-system:replicaset-controller" },
            "object": object, "oldObject": null, "dryRun": false, "options": { "apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions" }
        }
    })
}

async fn send(http: &reqwest::Client, url: &str, body: &Value) -> Value {
    let response = http.post(url).json(body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn mutates_in_the_version_it_was_asked() {
    let webhook = start(accounts()).await;
    let http = client(&[&webhook.ca]);
    for version in ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] {
        let object = pod(json!({}), json!({}));
        let answer = send(&http, &webhook.url, &review(version, "uid-1", object.clone())).await;
        assert_eq!(answer["apiVersion"], version);
        assert_eq!(answer["kind"], "AdmissionReview");
        let response = &answer["response"];
        assert_eq!(
            (response["uid"].as_str(), response["allowed"].as_bool()),
            (Some("uid-1"), Some(true))
        );
        assert_eq!(response["patchType"], "JSONPatch");
        let patch_bytes = base64::engine::general_purpose::STANDARD
            .decode(response["patch"].as_str().unwrap())
            .unwrap();
        let patch: json_patch::Patch = serde_json::from_slice(&patch_bytes).unwrap();
        let mut mutated = object.clone();
        json_patch::patch(&mut mutated, &patch).unwrap();
        let env = &mutated["spec"]["containers"][0]["env"];
        assert_eq!(env[0], json!({ "name": "AZURE_CLIENT_ID", "value": CLIENT }));
        assert_eq!(
            mutated["spec"]["volumes"][0]["name"],
            "azure-workload-identity-reserved-bbf111454f7f1e0d38a881667e39c2"
        );
        // The API server would re-invoke with the mutated pod: nothing more to do.
        let again = send(&http, &webhook.url, &review(version, "uid-2", mutated)).await;
        assert!(again["response"].get("patch").is_none(), "{again}");
    }
}

#[tokio::test]
async fn denials_carry_upstreams_words_and_warnings_reach_kubectl() {
    let webhook = start(accounts()).await;
    let http = client(&[&webhook.ca]);
    let proxy = |port: &str| json!({ contract::ANNOTATION_INJECT_PROXY_SIDECAR: "true", contract::ANNOTATION_PROXY_SIDECAR_PORT: port });
    let mut missing_sa = pod(json!({}), json!({}));
    missing_sa["spec"]["serviceAccountName"] = json!("ghost");
    let cases = [
        (missing_sa, "serviceaccounts \"ghost\" not found"),
        (
            pod(proxy("8000"), json!({ "hostNetwork": true })),
            "hostNetwork is set to true, cannot inject proxy sidecar",
        ),
        (
            pod(proxy("invalid"), json!({})),
            "failed to parse proxy sidecar port: strconv.ParseInt: parsing \"invalid\": invalid syntax",
        ),
        (
            pod(json!({ contract::ANNOTATION_TOKEN_EXPIRATION: "100" }), json!({})),
            "token expiration 100 not valid. Expected value to be between 3600 and 86400",
        ),
        (json!("invalid"), "couldn't get version/kind"),
    ];
    for (object, message) in cases {
        let answer = send(&http, &webhook.url, &review("admission.k8s.io/v1", "uid-d", object)).await;
        let response = &answer["response"];
        assert_eq!(response["allowed"], false, "{message}");
        assert_eq!(response["status"]["code"], 400);
        assert!(
            response["status"]["message"].as_str().unwrap().contains(message),
            "{message}: {response}"
        );
    }
    let mut warned = pod(json!({ "azure.workload.identity/client-id": "x" }), json!({}));
    warned["spec"]["serviceAccountName"] = json!("no-client");
    let answer = send(&http, &webhook.url, &review("admission.k8s.io/v1", "uid-w", warned)).await;
    let warnings = answer["response"]["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("read from the ServiceAccount, not the pod")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("AZURE_CLIENT_ID is not injected")),
        "{warnings:?}"
    );
    assert_eq!(answer["response"]["allowed"], true);

    let metrics = reqwest::get(format!("{}/metrics", webhook.health))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("azwi_mutation_request_bucket{le=\"0.001\",namespace=\"demo\",service_name=\"webhook\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wif_webhook_admissions_total{outcome=\"denied\"} 5"),
        "{metrics}"
    );
    assert!(metrics.contains("wif_webhook_warnings_total 2"), "{metrics}");
}

#[tokio::test]
async fn bad_bodies_get_a_clear_http_error() {
    let webhook = start(accounts()).await;
    let http = client(&[&webhook.ca]);
    let malformed = http.post(&webhook.url).body("invalid").send().await.unwrap();
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("not an AdmissionReview"),
        "{body}"
    );
    let oversized = http
        .post(&webhook.url)
        .body(vec![b' '; 4 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    // Past the limit and the drain (3 MiB + 1 MiB): the server stops reading. The client
    // gets the 413 or, if it was still sending, a broken connection; never a hang, and the
    // server goes on serving.
    let flood = tokio::time::timeout(
        Duration::from_secs(30),
        http.post(&webhook.url).body(vec![b' '; 8 * 1024 * 1024]).send(),
    )
    .await
    .expect("an answer or a closed connection, not a hang");
    match flood {
        Ok(answer) => assert_eq!(answer.status(), 413),
        Err(error) => assert!(error.is_request() || error.is_body(), "{}", chain(&error)),
    }
    let wrong_version = http
        .post(&webhook.url)
        .json(&json!({ "apiVersion": "admission.k8s.io/v2", "kind": "AdmissionReview" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_version.status(), 400);
    // Still serving.
    let ok = send(
        &http,
        &webhook.url,
        &review("admission.k8s.io/v1", "uid-ok", pod(json!({}), json!({}))),
    )
    .await;
    assert_eq!(ok["response"]["allowed"], true);
}

/// The whole cause chain of a client error, as one line.
fn chain(error: &reqwest::Error) -> String {
    wif_core::error_text::error_chain(error)
}

#[tokio::test]
async fn certificate_rotation_mid_traffic_fails_no_request() {
    let mut webhook = start(accounts()).await;
    let new_ca = LocalCa::new("rotated CA").unwrap();
    let both = client(&[&webhook.ca, &new_ca]);
    let only_new = client(&[&new_ca]);
    let refused = only_new.post(&webhook.url).json(&json!({})).send().await.unwrap_err();
    assert!(
        chain(&refused).contains("invalid peer certificate: UnknownIssuer"),
        "the old certificate is served, so a client trusting only the new CA refuses it: {}",
        chain(&refused)
    );

    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut loads = Vec::new();
    for i in 0..4 {
        let (http, url, stop, sent, failed) = (
            both.clone(),
            webhook.url.clone(),
            stop.clone(),
            sent.clone(),
            failed.clone(),
        );
        loads.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let body = review("admission.k8s.io/v1", &format!("load-{i}"), pod(json!({}), json!({})));
                match http.post(&url).json(&body).send().await {
                    Ok(r) if r.status() == 200 => {}
                    _ => {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                sent.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    // The load is running (each task has answers) before the certificate changes ...
    until("load before the rotation", async || sent.load(Ordering::SeqCst) >= 8).await;
    write_cert(&webhook.dir, &new_ca);
    let probe = review("admission.k8s.io/v1", "probe", pod(json!({}), json!({})));
    until("the new certificate served", async || {
        only_new.post(&webhook.url).json(&probe).send().await.is_ok()
    })
    .await;
    // ... and goes on after it, on connections opened before and after.
    let at_rotation = sent.load(Ordering::SeqCst);
    until("load after the rotation", async || {
        sent.load(Ordering::SeqCst) >= at_rotation + 8
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for load in loads {
        load.await.unwrap();
    }
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "no request failed during the rotation"
    );
    let _ = webhook.stop.take().map(|s| s.send(()));
}

/// A ServiceAccount source whose lookups wait for `release`, counting those that wait, so
/// requests are provably in flight at shutdown.
#[derive(Debug)]
struct Held {
    accounts: StaticServiceAccounts,
    waiting: AtomicUsize,
    release: tokio::sync::Semaphore,
}

#[async_trait::async_trait]
impl ServiceAccountSource for Held {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<ServiceAccountInfo>, LookupError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // Each lookup takes one permit and keeps it: released lookups stay released.
        if let Ok(permit) = self.release.acquire().await {
            permit.forget();
        }
        self.accounts.get(namespace, name).await
    }
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight() {
    const IN_FLIGHT: usize = 30;
    let held = Arc::new(Held {
        accounts: StaticServiceAccounts::from_accounts([account(
            "demo",
            "app",
            &[(contract::ANNOTATION_CLIENT_ID, CLIENT)],
        )]),
        waiting: AtomicUsize::new(0),
        release: tokio::sync::Semaphore::new(0),
    });
    let mut webhook = start(held.clone()).await;
    let http = client(&[&webhook.ca]);
    let in_flight: Vec<_> = (0..IN_FLIGHT)
        .map(|i| {
            let (http, url) = (http.clone(), webhook.url.clone());
            tokio::spawn(async move {
                let body = review(
                    "admission.k8s.io/v1",
                    &format!("inflight-{i}"),
                    pod(json!({}), json!({})),
                );
                http.post(&url).json(&body).send().await.map(|r| r.status().as_u16())
            })
        })
        .collect();
    until("every request in the handler", async || {
        held.waiting.load(Ordering::SeqCst) == IN_FLIGHT
    })
    .await;
    webhook.stop.take().unwrap().send(()).unwrap();
    // Draining: not ready, so kube-proxy takes the replica out while it finishes.
    let readyz = format!("{}/readyz", webhook.health);
    until("readyz reporting the drain", async || {
        reqwest::get(&readyz).await.is_ok_and(|r| r.status() == 503)
    })
    .await;
    held.release.add_permits(IN_FLIGHT);
    for request in in_flight {
        assert_eq!(request.await.unwrap().unwrap(), 200, "an in-flight request was cut");
    }
    tokio::time::timeout(Duration::from_secs(10), webhook.done.take().unwrap())
        .await
        .unwrap()
        .unwrap();
    let after = http.post(&webhook.url).json(&json!({})).send().await.unwrap_err();
    assert!(after.is_connect(), "stopped accepting: {}", chain(&after));
}
