//! `wif demo`'s proxy step: the pod's environment from the earlier steps, a `wif proxy` on
//! loopback, and requests as a managed-identity SDK sends them: IMDS for the default identity,
//! App Service's protocol for the named writer in the other tenant, and an SDK's probe.

use anyhow::{Context, Result, ensure};
use wif_proxy::{IdentityTable, Proxy, ProxyOptions};

use super::context::{DemoContext, DemoEnv, Printer, READER_CLIENT, TENANT_A, TENANT_B, WRITER_CLIENT};

/// The App Service secret the demo's proxy and its "app" share.
const IDENTITY_HEADER: &str = "wif-demo-identity-header-secret";

/// The step.
pub(crate) fn proxy_step(out: &Printer, context: &mut DemoContext) -> Result<()> {
    let sts = context.sts.as_ref().context("the exchange step did not run")?;
    ensure!(!context.pod_env.is_empty(), "no pod environment");
    let env = DemoEnv(context.pod_env.clone());
    let table = IdentityTable::from_env(&env, env.0.keys().cloned())?;
    let workload = wif_client::WorkloadIdentity::from_env(&env, Some(sts.ca_pem().as_bytes()))?;
    let options = ProxyOptions {
        port: 0,
        identity_header: Some(IDENTITY_HEADER.into()),
        ..ProxyOptions::default()
    };
    let runtime = &context.runtime;
    let proxy = runtime.block_on(Proxy::bind(options, workload, table))?;
    let base = format!("http://{}", proxy.address);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    runtime.spawn(proxy.serve(async move {
        let _ = stopped.await;
    }));
    out.say(&format!(
        "  wif proxy on {base}, with the pod's environment (the sidecar upstream's webhook injects)"
    ));
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let get = |path: String, header: (&'static str, &'static str)| {
        let request = http.get(format!("{base}{path}")).header(header.0, header.1);
        runtime.block_on(async move {
            let answer = request.send().await?;
            let status = answer.status().as_u16();
            let body: serde_json::Value = answer.json().await?;
            anyhow::Ok((status, body))
        })
    };
    let cases = [
        (
            "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net",
            ("Metadata", "true"),
            "IMDS, no client_id: the default identity",
            TENANT_A,
            READER_CLIENT,
        ),
        (
            "/msi/token?api-version=2019-08-01&resource=https://storage.azure.com&client_id=writer",
            ("X-IDENTITY-HEADER", IDENTITY_HEADER),
            "App Service (IDENTITY_ENDPOINT), client_id=writer: the named identity",
            TENANT_B,
            WRITER_CLIENT,
        ),
    ];
    for (path, header, name, tenant, client) in cases {
        let (status, body) = get(path.to_owned(), header)?;
        ensure!(status == 200, "{name}: HTTP {status}: {body}");
        let token = body["access_token"].as_str().context("no access_token")?;
        let claims = wif_jose::decode_unverified(token)?.claims;
        ensure!(
            claims["tid"] == tenant && claims["appid"] == client,
            "{name}: wrong tid/appid: {claims:?}"
        );
        out.say(&format!("  GET {path}\n    {name}:"));
        out.block(&format!(
            "client_id={} expires_on={} resource={}; access token tid={} appid={}",
            body["client_id"], body["expires_on"], body["resource"], claims["tid"], claims["appid"]
        ));
    }
    let (status, body) = get(
        "/metadata/identity/oauth2/token?resource=https://vault.azure.net".into(),
        ("X-Probe", "sdk"),
    )?;
    ensure!(
        status == 400 && body["error_description"] == "Required metadata header not specified",
        "the probe got HTTP {status}: {body}"
    );
    out.say("  an SDK's probe (no Metadata header) is answered at once, as IMDS answers it:");
    out.block(&format!("HTTP 400 {body}"));
    drop(stop);
    Ok(())
}
