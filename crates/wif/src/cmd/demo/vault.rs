//! `wif demo`'s Key Vault step: the pod's reader identity reads a secret from a vault of the
//! local Azure plane, whose host has no DNS (reached through the emulator's CONNECT proxy).
//! Its first request gets Key Vault's challenge; as Owner of the subscription it still reads
//! no secret (403 ForbiddenByRbac); it assigns itself "Key Vault Secrets User" through ARM
//! with its own token; then it reads the value.

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use super::context::{DemoContext, DemoEnv, Printer};
use super::directory::{SECRET, SECRET_VALUE, SUBSCRIPTION, VAULT};

fn error_code(body: &Value) -> String {
    let inner = body["error"]["innererror"]["code"].as_str();
    let code = body["error"]["code"].as_str().unwrap_or_default();
    inner.map_or_else(|| code.to_owned(), |inner| format!("{code} ({inner})"))
}

pub(crate) fn vault_step(out: &Printer, context: &mut DemoContext) -> Result<()> {
    let sts = context.sts.as_ref().context("the exchange step did not run")?;
    let env = DemoEnv(context.pod_env.clone());
    let identity = wif_client::WorkloadIdentity::from_env(&env, Some(sts.ca_pem().as_bytes()))?;
    let reader = identity.default_credential(&env)?;
    let ca = reqwest::Certificate::from_pem(sts.ca_pem().as_bytes())?;
    let proxy = format!(
        "http://{}",
        sts.vault_proxy().context("the emulator serves no CONNECT proxy")?
    );
    let through_proxy = reqwest::Client::builder()
        .tls_certs_only([ca.clone()])
        .proxy(reqwest::Proxy::https(&proxy)?)
        .build()?;
    let direct = reqwest::Client::builder().tls_certs_only([ca]).build()?;
    let secret_url = format!("https://{VAULT}.vault.wif.test/secrets/{SECRET}/?api-version=7.4");
    out.say(&format!(
        "  vault {VAULT}.vault.wif.test (no DNS: HTTPS_PROXY={proxy}, the emulator's CONNECT proxy)"
    ));
    context.runtime.block_on(async {
        let challenged = through_proxy.get(&secret_url).send().await?;
        let challenge = challenged
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        ensure!(challenged.status() == 401, "no challenge: {}", challenged.status());
        let resource = challenge
            .split("resource=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .context("the challenge names no resource")?
            .to_owned();
        out.say("  the first request, without a token, gets Key Vault's challenge:");
        out.block(&format!("401 WWW-Authenticate: {challenge}"));

        let vault_token = reader.get_token(&format!("{resource}/.default")).await?;
        let read = || async {
            let answer = through_proxy
                .get(&secret_url)
                .bearer_auth(&vault_token.token)
                .send()
                .await?;
            let status = answer.status().as_u16();
            Ok::<_, anyhow::Error>((status, answer.json::<Value>().await?))
        };
        let (status, body) = read().await?;
        ensure!(
            status == 403 && body["error"]["innererror"]["code"] == "ForbiddenByRbac",
            "Owner read a secret: {status} {body}"
        );
        out.say("  the reader is Owner of the subscription, which grants no data action:");
        out.block(&format!("{status} {}", error_code(&body)));

        let arm_token = reader.get_token("https://management.azure.com/.default").await?;
        let principal = wif_jose::decode_unverified(&arm_token.token)?.claims["oid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let scope = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/demo/providers/Microsoft.KeyVault/vaults/{VAULT}");
        let assignment = format!(
            "{}{scope}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
            sts.url,
            wif_jose::kubernetes::random_uuid()?
        );
        let created = direct
            .put(&assignment)
            .bearer_auth(&arm_token.token)
            .json(&json!({"properties": {
                "roleDefinitionId": format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"),
                "principalId": principal,
                "principalType": "ServicePrincipal",
            }}))
            .send()
            .await?;
        ensure!(created.status() == 201, "the role assignment: {}", created.status());
        out.say("  as Owner it assigns itself \"Key Vault Secrets User\" on the vault, through ARM:");
        out.block(&format!("PUT {scope}/providers/Microsoft.Authorization/roleAssignments/…: 201"));

        let (status, body) = read().await?;
        ensure!(
            status == 200 && body["value"] == SECRET_VALUE,
            "the secret: {status} {body}"
        );
        out.say("  and reads the secret:");
        out.block(&format!("200 {SECRET} = {:?}", SECRET_VALUE));
        Ok(())
    })
}
