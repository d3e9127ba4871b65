//! The built-in certificate rotation against the real API: two replicas of `wif webhook`
//! start at once with no certificates; the Secret is created, the
//! MutatingWebhookConfiguration's caBundle is patched with a CA that verifies the served
//! certificate, and the race ends with one set both replicas serve. The test plays kubelet:
//! it projects the Secret into each replica's cert dir.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use crate::cluster::{eventually, spawn};
use crate::webhook::Webhook;
use crate::{Env, namespace_for};

pub async fn replicas_racing_end_with_one_certificate_set(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("rotation")).await?;
    let name = wif_core::contract::WEBHOOK_CONFIGURATION_NAME;
    let outcome = race(&env, &ns).await;
    // Give the shared webhook its registration back, whatever happened.
    crate::webhook::register(
        &env.cluster,
        name,
        &env.webhook.url,
        &env.webhook.ca_pem,
        Some(crate::shared_selector()),
    )
    .await?;
    outcome
}

async fn race(env: &Env, ns: &str) -> Result<()> {
    let mut starting = Vec::new();
    for replica in ["a", "b"] {
        let cert_dir = env.work.join(format!("rotation-{replica}"));
        std::fs::create_dir_all(&cert_dir)?;
        let mut command = crate::webhook::command(&env.cluster.kubeconfig);
        command
            .arg("--webhook-cert-dir")
            .arg(&cert_dir)
            .env("POD_NAMESPACE", ns);
        let log = env.work.join(format!("rotation-{replica}.log"));
        starting.push((
            spawn(&format!("rotation replica {replica}"), &mut command, &log)?,
            cert_dir,
        ));
    }

    let secrets: Api<Secret> = Api::namespaced(env.cluster.client.clone(), ns);
    let secret_name = wif_core::contract::WEBHOOK_SECRET_NAME;
    let configurations: Api<MutatingWebhookConfiguration> = Api::all(env.cluster.client.clone());
    // Both replicas have finished their round once the Secret holds a certificate and the
    // caBundle names its CA.
    eventually("the Secret and the caBundle", || async {
        let Some(secret) = secrets.get_opt(secret_name).await? else {
            return Ok(false);
        };
        let data = secret.data.unwrap_or_default();
        let ca = data.get("ca.crt").map(|b| b.0.clone()).unwrap_or_default();
        let bundle = configurations
            .get(wif_core::contract::WEBHOOK_CONFIGURATION_NAME)
            .await?;
        Ok(!ca.is_empty()
            && bundle
                .webhooks
                .unwrap_or_default()
                .iter()
                .all(|w| w.client_config.ca_bundle.as_ref().is_some_and(|b| b.0 == ca)))
    })
    .await?;
    let secret = secrets.get(secret_name).await?;
    let data = secret.data.context("no data")?;
    let file = |key: &str| {
        data.get(key)
            .map(|b| b.0.clone())
            .with_context(|| format!("no {key} in the Secret"))
    };
    let (cert, key, ca) = (file("tls.crt")?, file("tls.key")?, file("ca.crt")?);

    let mut served = BTreeSet::new();
    for (replica, cert_dir) in starting {
        // kubelet's projection: the Secret's keys as files.
        std::fs::write(cert_dir.join("tls.key"), &key)?;
        std::fs::write(cert_dir.join("tls.crt"), &cert)?;
        let (process, banner) = replica.banner()?;
        let webhook = Webhook::from_banner(process, &banner, String::from_utf8(ca.clone())?)?;
        // The caBundle alone must verify what each replica serves.
        // by the Service's name, as the API server calls it in a cluster.
        let root = reqwest::Certificate::from_pem(&ca)?;
        let service = format!("{}.{ns}.svc", wif_core::contract::WEBHOOK_SERVICE_NAME);
        let address: std::net::SocketAddr = webhook.url.trim_start_matches("https://").parse()?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([root])
            .tls_info(true)
            .resolve(&service, address)
            .build()?;
        let response = http
            .get(format!("https://{service}:{}/healthz", address.port()))
            .send()
            .await
            .context("a TLS handshake verified by the caBundle")?;
        let info = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .context("no TLS info")?;
        served.insert(info.peer_certificate().context("no peer certificate")?.to_vec());
    }
    ensure!(
        served.len() == 1,
        "the replicas serve {} different certificates",
        served.len()
    );
    Ok(())
}
