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
/// After a failed round, the first retry comes this soon; it doubles with each failure in a
/// row up to [`MAX_RETRY_DELAY`], and the loop is back to [`CHECK_INTERVAL`] once a round
/// succeeds ([`Schedule`]).
pub const FIRST_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(10);
/// The longest wait between two failed rounds.
pub const MAX_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(300);
const ATTEMPTS: usize = 5;

/// Rotation could not complete; the webhook keeps serving what it has.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// The API server refused or could not be reached.
    #[error("certificate rotation: the API server call failed")]
    Api(#[source] kube::Error),
    /// Certificates could not be made.
    #[error("certificate rotation: cannot issue certificates")]
    Issue(#[source] rcgen::Error),
    /// Other writers kept winning the compare-and-swap.
    #[error("certificate rotation: the {what} kept changing under {ATTEMPTS} attempts")]
    Contended {
        /// The Secret or the MutatingWebhookConfiguration.
        what: &'static str,
    },
}

/// When the rotation loop looks: every `every`, and after a failed round `first_retry`,
/// doubling with each failure in a row up to `max_retry`. [`Schedule::default`] is
/// upstream's 12 hours with retries from 10 s to 5 minutes; tests use milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Between two good rounds.
    pub every: std::time::Duration,
    /// After the first failure.
    pub first_retry: std::time::Duration,
    /// The longest wait after failures.
    pub max_retry: std::time::Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            every: CHECK_INTERVAL,
            first_retry: FIRST_RETRY_DELAY,
            max_retry: MAX_RETRY_DELAY,
        }
    }
}

impl Schedule {
    /// How long to wait after the `failures`-th failed round in a row (0: a good round).
    pub fn wait_after(&self, failures: u32) -> std::time::Duration {
        if failures == 0 {
            return self.every;
        }
        self.first_retry
            .saturating_mul(1u32.checked_shl(failures.saturating_sub(1)).unwrap_or(u32::MAX))
            .min(self.max_retry)
    }
}

fn conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
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
    let fail = RotationError::Api;
    for _ in 0..ATTEMPTS {
        let now = wif_core::clock::unix_now();
        match api.get_opt(contract::WEBHOOK_SECRET_NAME).await.map_err(fail)? {
            None => {
                let bundle = issue(namespace, now).map_err(RotationError::Issue)?;
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
                    match CertBundle::from_data(&data) {
                        Some(bundle) => return Ok(bundle),
                        // renewal_reason found all four files: unreachable, but a retry is safe.
                        None => continue,
                    }
                };
                tracing::info!(%namespace, %reason, "issuing new webhook certificates");
                let bundle = issue(namespace, now).map_err(RotationError::Issue)?;
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
    Err(RotationError::Contended { what: "Secret" })
}

/// Sets every webhook's caBundle to `ca_pem`; `Ok(false)` when it already was, or when the
/// configuration is not installed yet.
pub async fn sync_ca_bundle(client: &kube::Client, ca_pem: &str) -> Result<bool, RotationError> {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let fail = RotationError::Api;
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
    Err(RotationError::Contended {
        what: "MutatingWebhookConfiguration",
    })
}

/// One round: the Secret, then the caBundle.
pub async fn rotate_once(client: &kube::Client, namespace: &str) -> Result<CertBundle, RotationError> {
    let bundle = ensure_secret(client, namespace).await?;
    sync_ca_bundle(client, &bundle.ca_cert_pem).await?;
    Ok(bundle)
}

/// Rounds on [`Schedule::default`], forever. Run it under `wif_server::supervise`, so that
/// even a panic is logged and the loop started again.
pub async fn run(client: kube::Client, namespace: String) {
    run_on(client, namespace, Schedule::default()).await;
}

/// Rounds on `schedule`, forever: a failed round is logged and retried within seconds to
/// minutes, not at the next regular check.
pub async fn run_on(client: kube::Client, namespace: String, schedule: Schedule) {
    let mut failures = 0u32;
    loop {
        tokio::time::sleep(schedule.wait_after(failures)).await;
        match rotate_once(&client, &namespace).await {
            Ok(_) => failures = 0,
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::warn!(
                    error = %wif_core::error_text::error_chain(&error),
                    retry_in_seconds = schedule.wait_after(failures).as_secs(),
                    "certificate rotation failed"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_round_is_retried_within_minutes() {
        let schedule = Schedule::default();
        let seconds: Vec<u64> = [0, 1, 2, 3, 4, 5, 6, 50]
            .iter()
            .map(|n| schedule.wait_after(*n).as_secs())
            .collect();
        assert_eq!(seconds, [12 * 3600, 10, 20, 40, 80, 160, 300, 300]);
    }
}
