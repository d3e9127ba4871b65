//! `wif demo`'s exchange step: the emulator trusting the demo's issuer, the projected token
//! exchanged for the reader in tenant A and the writer in tenant B, and a credential typo
//! refused with Entra's code and the diagnosis.

use anyhow::{Context, Result, bail, ensure};
use wif_core::contract;

use super::context::{DemoContext, DemoEnv, Printer, READER_CLIENT, TENANT_A, TENANT_B, TYPO_CLIENT, WRITER_CLIENT};
use super::directory::demo_directory;

pub(crate) fn exchange_step(out: &Printer, context: &mut DemoContext) -> Result<()> {
    let issuer = context.issuer.as_ref().context("the issuer step did not run")?;
    let token = context.projected_token.clone().context("no projected token")?;
    let sts = context
        .runtime
        .block_on(super::servers::RunningSts::start(&demo_directory(&issuer.url), issuer))?;
    out.say(&format!(
        "  Entra ID emulator at {}, two tenants, trusting the issuer above",
        sts.url
    ));
    // The pod's environment is what step 1's mutation injected; on this machine kubelet's
    // token path and the cloud's authority host are replaced by local ones (as `wif up` would).
    let token_file = sts.workdir().join("azure-identity-token");
    std::fs::write(&token_file, &token)?;
    let mut env = context.pod_env.clone();
    ensure!(
        env.contains_key(contract::ENV_CLIENT_ID),
        "step 1 left no pod environment"
    );
    env.insert(contract::ENV_AUTHORITY_HOST.into(), sts.url.clone());
    env.insert(
        contract::ENV_FEDERATED_TOKEN_FILE.into(),
        token_file.display().to_string(),
    );
    let env = DemoEnv(env);
    out.say("  the app's environment, as the webhook injected it (authority host and token file made local):");
    let mut names: Vec<&String> = env.0.keys().filter(|k| k.starts_with("AZURE_")).collect();
    names.sort();
    out.block(
        &names
            .iter()
            .map(|k| format!("{k}={}", env.0[*k]))
            .collect::<Vec<_>>()
            .join("\n"),
    );

    let identity = wif_client::WorkloadIdentity::from_env(&env, Some(sts.ca_pem().as_bytes()))?;
    let reader = identity.default_credential(&env)?;
    let writer = identity.named(&env, "writer")?;
    let cases = [
        (
            &reader,
            "reader (AZURE_CLIENT_ID)",
            TENANT_A,
            READER_CLIENT,
            "https://vault.azure.net/.default",
        ),
        (
            &writer,
            "writer (AZURE_CLIENT_ID_WRITER)",
            TENANT_B,
            WRITER_CLIENT,
            "https://storage.azure.com/.default",
        ),
    ];
    for (credential, name, tenant, client, scope) in cases {
        let access = context.runtime.block_on(credential.get_token(scope))?;
        let claims = wif_jose::decode_unverified(&access.token)?.claims;
        ensure!(
            claims["tid"] == tenant && claims["appid"] == client,
            "{name}: wrong tid/appid: {claims:?}"
        );
        out.say(&format!("  wif-client, {name}, scope {scope}:"));
        out.block(&format!(
            "access token: aud={} iss={} tid={} appid={}",
            claims["aud"], claims["iss"], claims["tid"], claims["appid"]
        ));
    }
    let typo = identity.credential(wif_client::Identity::new(&sts.url, TENANT_A, TYPO_CLIENT)?);
    let refused = context
        .runtime
        .block_on(typo.get_token("https://vault.azure.net/.default"))
        .err()
        .context("the typo was accepted")?;
    ensure!(
        refused.aadsts() == Some(700_213),
        "the typo was not refused as AADSTS700213: {refused}"
    );
    let wif_client::ClientError::Entra {
        description, diagnosis, ..
    } = &refused
    else {
        bail!("unexpected: {refused}")
    };
    let diagnosis = diagnosis.as_deref().unwrap_or_default();
    ensure!(
        diagnosis.contains("namespace is 'demos' in the credential but 'demo' in the token"),
        "diagnosis: {diagnosis}"
    );
    out.say("  and an application whose federated credential has a typo in the namespace:");
    out.block(description.split(" Trace ID").next().unwrap_or_default());
    out.block(&format!("wif_diagnosis: {diagnosis}"));
    context.sts = Some(sts);
    // Later steps (the proxy) run with the environment made local.
    context.pod_env = env.0;
    Ok(())
}
