//! `--apply`: the federated credentials created in a running `wif up`, through its Graph's
//! management API as its operator ([`crate::cmd::up::management`]).

use anyhow::{Context, Result};
use wif_core::migrate::{CredentialPlan, Migration};

/// What became of one credential.
pub(super) enum Applied {
    /// Created.
    Created(String),
    /// There already, with the same issuer and subject.
    AlreadyThere(String),
    /// Refused, or not reached: why.
    Failed(String),
}

/// Creates each credential through the running `wif up`'s Graph (its management API, as its
/// operator): one already there with the same issuer and subject is left as it is, and one
/// refused does not stop the others.
pub(super) async fn apply(
    management: &crate::cmd::up::management::Management,
    issuer: &str,
    migration: &Migration,
) -> Result<Vec<Applied>> {
    let ca = std::fs::read(&management.ca_file).with_context(|| format!("reading {}", management.ca_file.display()))?;
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca)?])
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let mut done = Vec::new();
    for credential in &migration.credentials {
        done.push(match one(&client, management, issuer, credential).await {
            Ok(applied) => applied,
            Err(error) => Applied::Failed(format!(
                "{} on {}: {}",
                credential.subject,
                credential.identity.name,
                wif_core::error_text::error_chain(error.as_ref())
            )),
        });
    }
    Ok(done)
}

async fn one(
    client: &reqwest::Client,
    management: &crate::cmd::up::management::Management,
    issuer: &str,
    credential: &CredentialPlan,
) -> Result<Applied> {
    // A client id is a GUID (the migration refuses any other): safe in a path as it is.
    let url = format!(
        "{}/v1.0/userAssignedIdentities/{}/federatedIdentityCredentials",
        management.url, credential.client_id
    );
    let listed: serde_json::Value = client
        .get(&url)
        .bearer_auth(&management.token)
        .send()
        .await
        .with_context(|| format!("asking wif up at {}", management.url))?
        .error_for_status()
        .context("the identity is not in wif up's directory (same client id)")?
        .json()
        .await?;
    let what = format!("{} on {}", credential.subject, credential.identity.name);
    let exists = listed["value"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|fic| fic["issuer"] == issuer && fic["subject"] == credential.subject.as_str());
    if exists {
        return Ok(Applied::AlreadyThere(what));
    }
    let name = credential.name_for(issuer);
    let body = serde_json::json!({
        "name": name,
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
        anyhow::bail!("wif up refused it: {status} {text}");
    }
    Ok(Applied::Created(format!("{what} ({name})")))
}
