//! `--apply`: the federated credentials created in a running `wif up`, through its Graph's
//! management API as its operator ([`crate::cmd::up::management`]).

use anyhow::{Context, Result};
use wif_core::migrate::Migration;

/// Creates each credential through the running `wif up`'s Graph (its management API, as its
/// operator): one already there with the same issuer and subject is left as it is. What was
/// done, a line per credential.
pub(super) async fn apply(
    management: &crate::cmd::up::management::Management,
    issuer: &str,
    migration: &Migration,
) -> Result<Vec<String>> {
    let ca = std::fs::read(&management.ca_file).with_context(|| format!("reading {}", management.ca_file.display()))?;
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca)?])
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let mut done = Vec::new();
    for credential in &migration.credentials {
        let url = format!(
            "{}/v1.0/userAssignedIdentities/{}/federatedIdentityCredentials",
            management.url, credential.client_id
        );
        let listed: serde_json::Value = client
            .get(&url)
            .bearer_auth(&management.token)
            .send()
            .await
            .with_context(|| {
                format!(
                    "asking wif up at {} for identity {}",
                    management.url, credential.client_id
                )
            })?
            .error_for_status()
            .with_context(|| {
                format!(
                    "identity {} ({}) in wif up's directory",
                    credential.identity.name, credential.client_id
                )
            })?
            .json()
            .await?;
        let exists = listed["value"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|fic| fic["issuer"] == issuer && fic["subject"] == credential.subject.as_str());
        if exists {
            done.push(format!(
                "applied (already there): {} on {}",
                credential.subject, credential.identity.name
            ));
            continue;
        }
        let body = serde_json::json!({
            "name": credential.name,
            "issuer": issuer,
            "subject": credential.subject,
            "audiences": [wif_core::migrate::AUDIENCE],
        });
        let answer = client
            .post(&url)
            .bearer_auth(&management.token)
            .json(&body)
            .send()
            .await?;
        let status = answer.status();
        if !status.is_success() {
            let text = answer.text().await.unwrap_or_default();
            anyhow::bail!(
                "wif up refused the credential {} on {}: {status} {text}",
                credential.name,
                credential.identity.name
            );
        }
        done.push(format!(
            "applied: {} on {} ({})",
            credential.subject, credential.identity.name, credential.name
        ));
    }
    Ok(done)
}
