//! Keeps the serving certificate in the Secret and the CA in the MutatingWebhookConfiguration
//! current, as upstream's cert rotator does, without leader election: every replica may run
//! it. Writes are compare-and-swap on `resourceVersion`, so when replicas race, one write wins
//! and the others read the winner's certificates instead of overwriting them.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, PostParams};
use wif_core::contract;

use crate::certs::{CertBundle, issue, renewal_reason};

/// How often the rotation loop looks again (upstream: 12 h).
pub const CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);
const ATTEMPTS: usize = 5;

/// Rotation could not complete; the webhook keeps serving what it has.
#[derive(Debug, thiserror::Error)]
#[error("certificate rotation: {0}")]
pub struct RotationError(String);

fn conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn data_of(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

fn with_data(mut secret: Secret, bundle: &CertBundle) -> Secret {
    secret.data = Some(bundle.to_data().into_iter().map(|(k, v)| (k, ByteString(v))).collect());
    secret
}

/// Makes sure the Secret holds good certificates and returns them.
pub async fn ensure_secret(client: &kube::Client, namespace: &str) -> Result<CertBundle, RotationError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let fail = |e: kube::Error| RotationError(e.to_string());
    for _ in 0..ATTEMPTS {
        let now = unix_now();
        match api.get_opt(contract::WEBHOOK_SECRET_NAME).await.map_err(fail)? {
            None => {
                let bundle = issue(namespace, now).map_err(|e| RotationError(e.to_string()))?;
                let secret = Secret {
                    metadata: ObjectMeta {
                        name: Some(contract::WEBHOOK_SECRET_NAME.into()),
                        namespace: Some(namespace.into()),
                        ..ObjectMeta::default()
                    },
                    ..Secret::default()
                };
                match api.create(&PostParams::default(), &with_data(secret, &bundle)).await {
                    Ok(_) => {
                        tracing::info!(%namespace, "created the webhook certificate Secret");
                        return Ok(bundle);
                    }
                    Err(e) if conflict(&e) => continue, // another replica created it: read theirs
                    Err(e) => return Err(fail(e)),
                }
            }
            Some(secret) => {
                let data = data_of(&secret);
                let Some(reason) = renewal_reason(&data, namespace, now) else {
                    return CertBundle::from_data(&data)
                        .ok_or_else(|| RotationError("the Secret changed while read".into()));
                };
                tracing::info!(%namespace, %reason, "issuing new webhook certificates");
                let bundle = issue(namespace, now).map_err(|e| RotationError(e.to_string()))?;
                // `replace` carries the resourceVersion we read: a concurrent writer makes it 409.
                match api
                    .replace(
                        contract::WEBHOOK_SECRET_NAME,
                        &PostParams::default(),
                        &with_data(secret, &bundle),
                    )
                    .await
                {
                    Ok(_) => return Ok(bundle),
                    Err(e) if conflict(&e) => continue,
                    Err(e) => return Err(fail(e)),
                }
            }
        }
    }
    Err(RotationError(format!(
        "the Secret kept changing under {ATTEMPTS} attempts"
    )))
}

/// Sets every webhook's caBundle to `ca_pem`; `Ok(false)` when it already was, or when the
/// configuration is not installed yet.
pub async fn sync_ca_bundle(client: &kube::Client, ca_pem: &str) -> Result<bool, RotationError> {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let fail = |e: kube::Error| RotationError(e.to_string());
    for _ in 0..ATTEMPTS {
        let Some(mut configuration) = api.get_opt(contract::WEBHOOK_CONFIGURATION_NAME).await.map_err(fail)? else {
            return Ok(false);
        };
        let wanted = ByteString(ca_pem.as_bytes().to_vec());
        let mut changed = false;
        for webhook in configuration.webhooks.iter_mut().flatten() {
            if webhook.client_config.ca_bundle.as_ref() != Some(&wanted) {
                webhook.client_config.ca_bundle = Some(wanted.clone());
                changed = true;
            }
        }
        if !changed {
            return Ok(false);
        }
        match api
            .replace(
                contract::WEBHOOK_CONFIGURATION_NAME,
                &PostParams::default(),
                &configuration,
            )
            .await
        {
            Ok(_) => {
                tracing::info!("caBundle of the MutatingWebhookConfiguration updated");
                return Ok(true);
            }
            Err(e) if conflict(&e) => continue,
            Err(e) => return Err(fail(e)),
        }
    }
    Err(RotationError(format!(
        "the MutatingWebhookConfiguration kept changing under {ATTEMPTS} attempts"
    )))
}

/// One round: the Secret, then the caBundle.
pub async fn rotate_once(client: &kube::Client, namespace: &str) -> Result<CertBundle, RotationError> {
    let bundle = ensure_secret(client, namespace).await?;
    sync_ca_bundle(client, &bundle.ca_cert_pem).await?;
    Ok(bundle)
}

/// Rounds every [`CHECK_INTERVAL`], forever; failures are logged and retried next round.
pub async fn run(client: kube::Client, namespace: String) {
    loop {
        tokio::time::sleep(CHECK_INTERVAL).await;
        if let Err(error) = rotate_once(&client, &namespace).await {
            tracing::warn!(%error, "certificate rotation failed; retrying at the next check");
        }
    }
}
