//! `wif demo`'s storage step, seed 000 to its end: from the one projected token, the reader
//! (tenant A, Storage Blob Data Reader on its account) reads its input blob and is refused a
//! write; the writer (tenant B, Storage Blob Data Contributor on its own account) writes its
//! output there; the writer's token is refused at the reader's account, another tenant's. The
//! blob hosts have no DNS: the emulator's CONNECT proxy reaches them.

use anyhow::{Context, Result, ensure};

use super::context::{DemoContext, DemoEnv, Printer};
use super::directory::{INPUT_BLOB, INPUT_CONTENT, READ_ACCOUNT, WRITE_ACCOUNT};

const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// Status and `x-ms-error-code` of an answer, and its body.
async fn outcome(response: reqwest::Response) -> Result<(u16, String, String)> {
    let status = response.status().as_u16();
    let code = response
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, code, response.text().await?))
}

pub(crate) fn storage_step(out: &Printer, context: &mut DemoContext) -> Result<()> {
    let sts = context.sts.as_ref().context("the exchange step did not run")?;
    let env = DemoEnv(context.pod_env.clone());
    let identity = wif_client::WorkloadIdentity::from_env(&env, Some(sts.ca_pem().as_bytes()))?;
    let reader = identity.default_credential(&env)?;
    let writer = identity.named(&env, "writer")?;
    let ca = reqwest::Certificate::from_pem(sts.ca_pem().as_bytes())?;
    let proxy = format!(
        "http://{}",
        sts.vault_proxy().context("the emulator serves no CONNECT proxy")?
    );
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .proxy(reqwest::Proxy::https(&proxy)?)
        .build()?;
    let blob = |account: &str, name: &str| format!("https://{account}.blob.storage.wif.test/{name}");
    out.say(&format!(
        "  accounts {READ_ACCOUNT} (tenant A) and {WRITE_ACCOUNT} (tenant B), no DNS: HTTPS_PROXY={proxy}"
    ));
    context.runtime.block_on(async {
        let read_token = reader.get_token(STORAGE_SCOPE).await?.token;
        let write_token = writer.get_token(STORAGE_SCOPE).await?.token;
        let send = |request: reqwest::RequestBuilder, token: &str| {
            request.bearer_auth(token).header("x-ms-version", "2025-05-05").send()
        };

        let (status, _, body) = outcome(send(http.get(blob(READ_ACCOUNT, INPUT_BLOB)), &read_token).await?).await?;
        ensure!(
            status == 200 && body == INPUT_CONTENT,
            "the reader's read: {status} {body}"
        );
        out.say(&format!("  the reader reads {READ_ACCOUNT}/{INPUT_BLOB}:"));
        out.block(&format!("200 {} bytes", body.len()));

        let attempt = http
            .put(blob(READ_ACCOUNT, "input/tampered.csv"))
            .header("x-ms-blob-type", "BlockBlob")
            .body("x");
        let (status, code, _) = outcome(send(attempt, &read_token).await?).await?;
        ensure!(
            status == 403 && code == "AuthorizationPermissionMismatch",
            "the reader wrote: {status} {code}"
        );
        out.say("  and may not write there (Storage Blob Data Reader):");
        out.block(&format!("{status} {code}"));

        let create = http.put(blob(WRITE_ACCOUNT, "output?restype=container"));
        let (status, code, _) = outcome(send(create, &write_token).await?).await?;
        ensure!(
            status == 201 || code == "ContainerAlreadyExists",
            "the writer's container: {status} {code}"
        );
        let upload = http
            .put(blob(WRITE_ACCOUNT, "output/result.csv"))
            .header("x-ms-blob-type", "BlockBlob")
            .body("id,result\n1,done\n");
        let (status, code, _) = outcome(send(upload, &write_token).await?).await?;
        ensure!(status == 201, "the writer's write: {status} {code}");
        out.say(&format!(
            "  the writer, in tenant B, writes {WRITE_ACCOUNT}/output/result.csv:"
        ));
        out.block(&format!("{status} Created"));

        let (status, code, _) = outcome(send(http.get(blob(READ_ACCOUNT, INPUT_BLOB)), &write_token).await?).await?;
        ensure!(
            status == 401 && code == "InvalidAuthenticationInfo",
            "the writer at the reader's account: {status} {code}"
        );
        out.say(&format!("  and its token is refused at {READ_ACCOUNT}, tenant A's:"));
        out.block(&format!("{status} {code}"));
        Ok(())
    })
}
