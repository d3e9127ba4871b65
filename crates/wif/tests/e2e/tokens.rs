//! Tokens from the real signer: a TokenRequest bound to the pod, audience
//! api://AzureADTokenExchange, exchanged at `wif sts`, which trusts the API server as its
//! issuer and fetches its discovery document and JWKS over the API server's CA. Then the
//! Azure SDK for Go, the seeds' client: the same token for a reader and a writer in two
//! tenants, and DefaultAzureCredential with exactly the env the webhook stored in the pod.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use base64::Engine;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::admission::{CLIENT_ID, labelled_pod};
use crate::cluster::{CLIENT_A, CLIENT_B, Process, TENANT, banner_field, container_env, spawn_with_banner};
use crate::{Env, namespace_for};

const WRITER_TENANT: &str = "dddddddd-0000-4000-8000-00000000000d";
const TYPO_CLIENT: &str = "33333333-0000-4000-8000-000000000003";
const SCOPE: &str = "https://vault.azure.net/.default";

/// The emulator, trusting the API server as an issuer, and what the scenario set up for it.
struct Exchange {
    _sts: Process,
    url: String,
    ca: PathBuf,
    token_file: PathBuf,
    pod: Pod,
}

/// A pod of `namespace/app`, a token bound to it, and `wif sts` with a reader in the
/// webhook's tenant, a writer in another, and a credential whose namespace is misspelt.
async fn exchange(env: &Env, scenario: &str) -> Result<Exchange> {
    let ns = env.cluster.namespace(&namespace_for(scenario)).await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    let pod = env
        .cluster
        .create_pod(&ns, labelled_pod("p", "app", &["main"], &[]))
        .await?;
    let request: TokenRequest = serde_json::from_value(json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {
            "audiences": ["api://AzureADTokenExchange"],
            "expirationSeconds": 3600,
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": pod.metadata.uid},
        },
    }))?;
    let accounts: Api<ServiceAccount> = Api::namespaced(env.cluster.client.clone(), &ns);
    let issued = accounts
        .create_token_request("app", &PostParams::default(), &request)
        .await?;
    let token = issued.status.context("no token")?.token;
    let dir = env.work.join(scenario);
    std::fs::create_dir_all(&dir)?;
    let token_file = dir.join("azure-identity-token");
    std::fs::write(&token_file, &token)?;

    let issuer = &env.cluster.server;
    let fic = |name: &str, namespace: &str| json!({"name": name, "issuer": issuer, "subject": format!("system:serviceaccount:{namespace}:app"), "audiences": ["api://AzureADTokenExchange"]});
    let typo = format!("{ns}s");
    let directory = json!({
        "tenants": [
            {"tenantId": TENANT, "applications": [
                {"displayName": "reader", "appId": CLIENT_A, "federatedIdentityCredentials": [fic("k8s", &ns)]},
                {"displayName": "typo", "appId": TYPO_CLIENT, "federatedIdentityCredentials": [fic("k8s-typo", &typo)]},
            ]},
            {"tenantId": WRITER_TENANT, "applications": [
                {"displayName": "writer", "appId": CLIENT_B, "federatedIdentityCredentials": [fic("k8s", &ns)]},
            ]},
        ],
        "issuers": [{"issuer": issuer, "caFile": env.cluster.ca_file}],
    });
    let config = dir.join("directory.json");
    std::fs::write(&config, serde_json::to_vec_pretty(&directory)?)?;
    let ca = dir.join("sts-ca.pem");
    let mut command = Command::new(env!("CARGO_BIN_EXE_wif"));
    command
        .args([
            "sts",
            "--addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:0",
            "--log-level",
            "info",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--self-signed-ca-out")
        .arg(&ca);
    let (sts, banner) = spawn_with_banner("wif sts", &mut command, &dir.join("sts.log"))?;
    let url = banner_field(&banner, "listening on ")?;
    Ok(Exchange {
        _sts: sts,
        url,
        ca,
        token_file,
        pod,
    })
}

fn claims(jwt: &str) -> Result<Value> {
    let payload = jwt.split('.').nth(1).context("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?;
    Ok(serde_json::from_slice(&bytes)?)
}

fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    let escape = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn post_assertion(exchange: &Exchange, tenant: &str, client: &str) -> Result<(u16, Value)> {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&exchange.ca)?)?;
    let http = reqwest::Client::builder().no_proxy().tls_certs_only([ca]).build()?;
    let assertion = std::fs::read_to_string(&exchange.token_file)?;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client),
        ("scope", SCOPE),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.trim()),
    ];
    let response = http
        .post(format!("{}/{tenant}/oauth2/v2.0/token", exchange.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_urlencoded(&form))
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

pub async fn token_request_is_exchanged_at_the_emulator(env: Arc<Env>) -> Result<()> {
    let exchange = exchange(&env, "token-exchange").await?;
    // The API server's own token: its issuer, the pod it is bound to, our audience.
    let projected = claims(&std::fs::read_to_string(&exchange.token_file)?)?;
    ensure!(
        projected["iss"] == env.cluster.server.as_str(),
        "iss {}",
        projected["iss"]
    );
    ensure!(
        projected["aud"] == json!(["api://AzureADTokenExchange"]),
        "aud {}",
        projected["aud"]
    );
    ensure!(
        projected["kubernetes.io"]["pod"]["uid"] == json!(exchange.pod.metadata.uid),
        "pod {}",
        projected["kubernetes.io"]
    );
    let (status, body) = post_assertion(&exchange, TENANT, CLIENT_A).await?;
    ensure!(status == 200, "the exchange answered {status}: {body}");
    let access = claims(body["access_token"].as_str().context("no access_token")?)?;
    ensure!(
        access["tid"] == TENANT && access["appid"] == CLIENT_A,
        "access token claims {access}"
    );
    Ok(())
}

pub async fn namespace_typo_gets_aadsts700213_and_the_diagnosis(env: Arc<Env>) -> Result<()> {
    let exchange = exchange(&env, "token-typo").await?;
    let (status, body) = post_assertion(&exchange, TENANT, TYPO_CLIENT).await?;
    ensure!(status == 401 && body["error"] == "invalid_client", "{status} {body}");
    ensure!(
        body["error_codes"] == json!([700213]),
        "error codes {}",
        body["error_codes"]
    );
    // `wif token get` puts the diagnosis first.
    let out = Command::new(env!("CARGO_BIN_EXE_wif"))
        .args([
            "token",
            "get",
            "--scope",
            SCOPE,
            "--client-id",
            TYPO_CLIENT,
            "--tenant-id",
            TENANT,
        ])
        .args(["--authority-host", &exchange.url])
        .arg("--token-file")
        .arg(&exchange.token_file)
        .arg("--ca-file")
        .arg(&exchange.ca)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "wif token get succeeded");
    let namespace = namespace_for("token-typo");
    let typo = format!("{namespace}s");
    let diagnosis = format!("the namespace is '{typo}' in the credential but '{namespace}' in the token");
    ensure!(
        stderr.contains("AADSTS700213") && stderr.contains(&diagnosis),
        "wif token get said: {stderr}"
    );
    Ok(())
}

fn azidentity_client() -> Result<PathBuf> {
    let path = std::env::var("AZIDENTITY_CLIENT").map_err(|_| {
        anyhow::anyhow!("AZIDENTITY_CLIENT is not set: scripts/e2e builds tests/cluster/azidentity and sets it")
    })?;
    Ok(PathBuf::from(path))
}

/// Runs the Go client with exactly `vars` (and the emulator's CA as the system's).
fn run_go(exchange: &Exchange, vars: &[(String, String)], args: &[&str]) -> Result<Vec<Value>> {
    let out = Command::new(azidentity_client()?)
        .args(args)
        .env_clear()
        .envs(vars.iter().cloned())
        .env("SSL_CERT_FILE", &exchange.ca)
        .env("HOME", exchange.ca.parent().unwrap_or(Path::new("/")))
        .output()
        .context("running the azidentity client")?;
    ensure!(
        out.status.success(),
        "azidentity-client {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)?
        .lines()
        .map(|l| serde_json::from_str(l).context("a JSON line"))
        .collect()
}

pub async fn azidentity_gets_tokens_in_two_tenants_from_one_token(env: Arc<Env>) -> Result<()> {
    let exchange = exchange(&env, "azidentity-two-tenants").await?;
    let vars = vec![
        ("AZURE_AUTHORITY_HOST".to_owned(), exchange.url.clone()),
        (
            "AZURE_FEDERATED_TOKEN_FILE".to_owned(),
            exchange.token_file.display().to_string(),
        ),
    ];
    let reader = format!("{TENANT}:{CLIENT_A}");
    let writer = format!("{WRITER_TENANT}:{CLIENT_B}");
    let lines = run_go(&exchange, &vars, &["workload", SCOPE, &reader, &writer])?;
    ensure!(lines.len() == 2, "{} tokens", lines.len());
    for (line, (tenant, client)) in lines.iter().zip([(TENANT, CLIENT_A), (WRITER_TENANT, CLIENT_B)]) {
        let access = claims(line["token"].as_str().context("token")?)?;
        ensure!(
            access["tid"] == tenant && access["appid"] == client,
            "wanted {tenant}/{client}, got {access}"
        );
    }
    Ok(())
}

pub async fn azidentity_default_credential_with_the_pods_env(env: Arc<Env>) -> Result<()> {
    let exchange = exchange(&env, "azidentity-default").await?;
    // The webhook's variables as stored, with the two that name places made local: the
    // authority host (the emulator) and the token file (kubelet would write it there).
    let mut vars: Vec<(String, String)> = container_env(&exchange.pod, "main")
        .into_iter()
        .filter(|(name, _)| name.starts_with("AZURE_"))
        .collect();
    let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    ensure!(
        names
            == [
                "AZURE_CLIENT_ID",
                "AZURE_TENANT_ID",
                "AZURE_FEDERATED_TOKEN_FILE",
                "AZURE_AUTHORITY_HOST"
            ],
        "the pod's variables: {names:?}"
    );
    for (name, value) in vars.iter_mut() {
        match name.as_str() {
            "AZURE_AUTHORITY_HOST" => *value = exchange.url.clone(),
            "AZURE_FEDERATED_TOKEN_FILE" => *value = exchange.token_file.display().to_string(),
            _ => {}
        }
    }
    let lines = run_go(&exchange, &vars, &["default", SCOPE])?;
    let access = claims(lines.first().and_then(|l| l["token"].as_str()).context("no token")?)?;
    ensure!(
        access["tid"] == TENANT && access["appid"] == CLIENT_A,
        "access token claims {access}"
    );
    Ok(())
}
