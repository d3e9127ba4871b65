//! `wif token`: exchange the projected token for an access token (any identity, any tenant,
//! chosen here or from the webhook's variables), and decode a projected token to show the
//! federated identity credential that would accept it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use wif_client::assertion::TokenFile;
use wif_client::cache::TokenCache;
use wif_client::exchange::TokenClient;
use wif_client::{Identity, WorkloadIdentity, identity};
use wif_core::contract;
use wif_core::settings::{EnvSource, ProcessEnv};

/// `wif token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print an access token for a scope.
    Get(GetArgs),
    /// Decode a projected token and print the federated credential that would accept it.
    Inspect(InspectArgs),
}

/// Output shapes of `wif token get`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    /// The access token alone.
    Raw,
    /// `{access_token, expires_on, token_type}`.
    Json,
}

/// `wif token get` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif token get --scope https://vault.azure.net/.default",
        "wif token get --scope https://storage.azure.com/.default --identity writer --output json",
        "wif token get --scope https://vault.azure.net/.default --client-id $CLIENT --token-file token --ca-file sts-ca.pem",
    )
)]
pub struct GetArgs {
    /// The scope: one resource with /.default, e.g. https://vault.azure.net/.default.
    #[arg(long)]
    pub scope: String,
    /// A named identity (AZURE_CLIENT_ID_<ALIAS>, from wif.dev/client-id.<alias> on the ServiceAccount).
    #[arg(long, conflicts_with = "client_id")]
    pub identity: Option<String>,
    /// Client id (default AZURE_CLIENT_ID).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Tenant id or domain (default AZURE_TENANT_ID).
    #[arg(long)]
    pub tenant_id: Option<String>,
    /// Authority host (default AZURE_AUTHORITY_HOST, else the public cloud).
    #[arg(long)]
    pub authority_host: Option<String>,
    /// The projected token (default AZURE_FEDERATED_TOKEN_FILE).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// More CA certificates to trust (PEM), besides the system's and SSL_CERT_FILE.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Output shape.
    #[arg(long, value_enum, default_value = "raw")]
    pub output: Output,
}

/// `wif token inspect` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif token inspect                          # AZURE_FEDERATED_TOKEN_FILE",
        "wif token inspect token --federated-credentials directory.yaml",
        "wif token inspect \"$(cat token)\"",
    )
)]
pub struct InspectArgs {
    /// The token file (default AZURE_FEDERATED_TOKEN_FILE); `-` reads standard input.
    pub file: Option<String>,
    /// Check the token against these federated identity credentials, as `wif doctor` does
    /// (the emulator's directory, or Azure's list as CLIENT_ID=FILE). Repeatable.
    #[arg(long, value_name = "[CLIENT_ID=]FILE")]
    pub federated_credentials: Vec<String>,
}

/// Runs a `wif token` subcommand.
pub fn run(command: &TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Get(args) => get(args, &ProcessEnv),
        TokenCommand::Inspect(args) => {
            println!("{}", inspect(args, &ProcessEnv)?);
            Ok(())
        }
    }
}

/// Every input `wif token get` lacks, each with the flag and the variable that give it, said
/// at once rather than one failure at a time.
fn missing_inputs(args: &GetArgs, env: &impl EnvSource) -> Vec<&'static str> {
    let set = |flag: bool, var: &str| flag || env.var(var).is_some_and(|v| !v.trim().is_empty());
    let mut missing = Vec::new();
    if args.identity.is_none() && !set(args.client_id.is_some(), contract::ENV_CLIENT_ID) {
        missing.push("the client id (--client-id or AZURE_CLIENT_ID, or --identity ALIAS)");
    }
    if args.identity.is_none() && !set(args.tenant_id.is_some(), contract::ENV_TENANT_ID) {
        missing.push("the tenant (--tenant-id or AZURE_TENANT_ID)");
    }
    if !set(args.token_file.is_some(), contract::ENV_FEDERATED_TOKEN_FILE) {
        missing.push("the projected token (--token-file or AZURE_FEDERATED_TOKEN_FILE)");
    }
    missing
}

fn resolve_identity(args: &GetArgs, env: &impl EnvSource) -> Result<Identity> {
    let missing = missing_inputs(args, env);
    if !missing.is_empty() {
        bail!("missing: {}", missing.join("; "));
    }
    let var = |name: &str| env.var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut chosen = match (&args.identity, &args.client_id) {
        (Some(alias), _) => identity::named_from_env(env, alias)?,
        (None, Some(client)) => {
            let tenant = args
                .tenant_id
                .clone()
                .or_else(|| var(contract::ENV_TENANT_ID))
                .context("the tenant: --tenant-id or AZURE_TENANT_ID")?;
            let authority = var(contract::ENV_AUTHORITY_HOST)
                .unwrap_or_else(|| wif_core::cloud::Cloud::Public.authority_host().into());
            Identity::new(&authority, &tenant, client)?
        }
        (None, None) => identity::from_env(env)?,
    };
    if let Some(tenant) = &args.tenant_id {
        chosen = Identity::new(&chosen.authority_host, tenant, &chosen.client_id)?;
    }
    if let Some(host) = &args.authority_host {
        chosen = Identity::new(host, &chosen.tenant_id, &chosen.client_id)?;
    }
    Ok(chosen)
}

fn get(args: &GetArgs, env: &impl EnvSource) -> Result<()> {
    let identity = resolve_identity(args, env)?;
    let token_file = match &args.token_file {
        Some(path) => path.clone(),
        None => identity::token_file_from_env(env)?,
    };
    let ca = match &args.ca_file {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?),
        None => None,
    };
    let client = TokenClient::new(env, ca.as_deref())?;
    let wi = WorkloadIdentity::new(
        std::sync::Arc::new(TokenFile::new(token_file)),
        client,
        std::sync::Arc::new(TokenCache::default()),
    );
    let credential = wi.credential(identity);
    let runtime = wif_server::runtime::build(wif_server::runtime::RuntimeKind::Command)?;
    let token = runtime.block_on(credential.get_token(&args.scope)).map_err(|error| {
        // The emulator's diagnosis first, Entra's own (long) words after it.
        if let wif_client::ClientError::Entra {
            description,
            diagnosis: Some(diagnosis),
            ..
        } = &error
        {
            return anyhow::anyhow!("{diagnosis}\n  Entra ID: {description}");
        }
        let chain = wif_core::error_text::error_chain(&error);
        let untrusted = chain.contains("UnknownIssuer") || chain.contains("invalid peer certificate");
        let error = anyhow::Error::from(error);
        if untrusted {
            error.context(
                "the token endpoint's certificate is not trusted: pass --ca-file CA (for wif sts, the file its --self-signed-ca-out wrote) or set SSL_CERT_FILE=CA",
            )
        } else {
            error
        }
    })?;
    match args.output {
        Output::Raw => println!("{}", token.token),
        Output::Json => println!(
            "{}",
            json!({ "access_token": &*token.token, "expires_on": token.expires_on, "token_type": "Bearer" })
        ),
    }
    Ok(())
}

fn describe_time(unix: Option<i64>, now: i64) -> String {
    match unix {
        None => "absent".into(),
        Some(t) => {
            let delta = t - now;
            let (sign, abs) = if delta < 0 {
                ("ago", -delta)
            } else {
                ("from now", delta)
            };
            format!(
                "{} ({}h{:02}m{:02}s {sign}; {t})",
                wif_core::clock::rfc3339(t),
                abs / 3600,
                abs % 3600 / 60,
                abs % 60
            )
        }
    }
}

/// What to say of an Entra ID access token (not a projected token, which names its pod and
/// ServiceAccount under `kubernetes.io`): that it is one, and its claims. `None` for any other.
fn access_token_report(token: &wif_jose::UnverifiedToken, now: i64) -> Option<String> {
    let issuer = token.claim_str("iss").unwrap_or_default();
    let entra =
        issuer.starts_with("https://sts.windows.net/") || issuer.starts_with("https://login.microsoftonline.com/");
    if token.claims.contains_key("kubernetes.io") || !(entra || token.claims.contains_key("tid")) {
        return None;
    }
    let mut out = String::from(
        "this is a Microsoft Entra ID access token (what an exchange returns), not a projected service-account token: no federated credential is needed for it\n",
    );
    for claim in ["aud", "iss", "tid", "appid", "azp", "oid", "sub", "scp", "roles"] {
        if let Some(value) = token.claims.get(claim) {
            let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            out.push_str(&format!("{:<12}{shown}\n", format!("{claim}:")));
        }
    }
    let number = |k: &str| token.claims.get(k).and_then(Value::as_i64);
    out.push_str(&format!("{:<12}{}\n", "issued:", describe_time(number("iat"), now)));
    out.push_str(&format!("{:<12}{}\n", "expires:", describe_time(number("exp"), now)));
    Some(out)
}

/// The inspection report (text).
pub fn inspect(args: &InspectArgs, env: &impl EnvSource) -> Result<String> {
    let path = match &args.file {
        Some(p) => p.clone(),
        None => identity::token_file_from_env(env)?.display().to_string(),
    };
    let (path, text) = crate::input::read_token_arg(&path)?;
    let token = wif_jose::decode_unverified(text.trim()).with_context(|| format!("{path} is not a JWT"))?;
    let now = wif_core::clock::unix_now();
    if let Some(report) = access_token_report(&token, now) {
        return Ok(report);
    }
    let issuer = token.claim_str("iss").unwrap_or_default().to_owned();
    let subject = token.claim_str("sub").unwrap_or_default().to_owned();
    let audiences = token.audiences();
    if issuer.is_empty() || subject.is_empty() {
        bail!("{path}: the token has no iss or sub claim");
    }
    let number = |k: &str| token.claims.get(k).and_then(Value::as_i64);
    let k8s = token.claims.get("kubernetes.io");
    let pod = k8s
        .and_then(|k| k.get("pod"))
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str);
    let namespace = k8s.and_then(|k| k.get("namespace")).and_then(Value::as_str);
    let service_account = k8s
        .and_then(|k| k.get("serviceaccount"))
        .and_then(|s| s.get("name"))
        .and_then(Value::as_str);
    let audience = audiences
        .iter()
        .find(|a| *a == wif_core::contract::DEFAULT_AUDIENCE)
        .or_else(|| audiences.first())
        .cloned()
        .unwrap_or_default();
    let credential_name = format!("{}-{}", namespace.unwrap_or("ns"), service_account.unwrap_or("sa"))
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect::<String>();
    let graph = json!({ "name": credential_name, "issuer": issuer, "subject": subject, "audiences": [audience] });
    let mut out = String::new();
    let mut line = |label: &str, value: String| out.push_str(&format!("{label:<12}{value}\n"));
    line("issuer:", issuer.clone());
    line("subject:", subject.clone());
    line("audiences:", format!("{audiences:?}"));
    line("issued:", describe_time(number("iat"), now));
    line("not before:", describe_time(number("nbf"), now));
    line("expires:", describe_time(number("exp"), now));
    if let Some(exp) = number("exp")
        && exp < now
    {
        out.push_str("            (expired: Entra ID refuses it with AADSTS700024)\n");
    }
    out.push_str(&format!(
        "bound to:   {}\nkey id:     {}\n",
        match (namespace, pod) {
            (Some(ns), Some(p)) => format!("pod {ns}/{p}"),
            (Some(ns), None) => format!("namespace {ns}, no pod"),
            _ => "nothing (not a Kubernetes token?)".into(),
        },
        token.kid().unwrap_or("(none)")
    ));
    if audience != wif_core::contract::DEFAULT_AUDIENCE {
        out.push_str(&format!(
            "note:       the audience is not {}; the credential must name {audience:?}\n",
            wif_core::contract::DEFAULT_AUDIENCE
        ));
    }
    out.push_str("\nthe federated identity credential that accepts it (Graph JSON):\n");
    out.push_str(&serde_json::to_string_pretty(&graph)?);
    out.push_str(&format!(
        "\n\nor with the Azure CLI:\n  az identity federated-credential create --name {credential_name} --identity-name <IDENTITY> --resource-group <GROUP> \\\n    --issuer '{issuer}' --subject '{subject}' --audiences '{audience}'"
    ));
    if let Some(credentials) = crate::cmd::doctor::read_credentials(&args.federated_credentials)? {
        // The doctor's own check, so both say the same words for the same mismatch.
        let facts = crate::cmd::doctor::token_facts(&path, &token);
        let mut settings = wif_core::WebhookSettings::new("");
        settings.audience = audience.clone();
        let findings = wif_core::doctor::diagnose(&wif_core::doctor::Input {
            documents: &[],
            default_namespace: "default",
            settings: &settings,
            credentials: Some(&credentials),
            issuer: Some(&issuer),
            token: Some(&facts),
            issuer_check: None,
            now,
            cluster: false,
        });
        out.push_str("\n\nagainst the credentials given:\n");
        if findings.is_empty() {
            out.push_str("a credential accepts it\n");
        } else {
            out.push_str(&crate::cmd::doctor::text_report(&findings));
        }
    }
    Ok(out)
}
