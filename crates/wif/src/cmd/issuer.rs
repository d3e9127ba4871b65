//! `wif issuer`: what a self-managed cluster needs to be an OIDC issuer Entra ID trusts:
//! a signing key, the discovery document, tokens shaped like kube-apiserver's projected
//! ones (for tests and local work), a verifier, and an HTTPS server publishing both documents.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use prometheus_client::registry::Registry;
use wif_issuer::IssuerDocuments;
use wif_issuer::files::write_private;
use wif_issuer::key_files::{public_keys_from_files, signing_key_from_file};
use wif_jose::discovery::{DiscoveryDocument, check_issuer, default_jwks_uri};
use wif_jose::kubernetes::{BoundPod, ProjectedToken, random_uuid};
use wif_jose::{Algorithm, JwkSet, SigningKey, Validation};
use wif_server::{ServiceOptions, shutdown_signal};

/// `wif issuer` subcommands.
#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Make a service-account signing key (PKCS#8 PEM, mode 0600).
    Keygen(KeygenArgs),
    /// Print the OIDC discovery document of an issuer.
    Discovery(DiscoveryArgs),
    /// Mint a token shaped exactly as kube-apiserver issues a projected one.
    Mint(MintArgs),
    /// Verify a token against a JWKS, as Entra ID would before matching credentials.
    Verify(VerifyArgs),
    /// Serve the discovery document and the JWKS over HTTPS.
    Serve(ServeArgs),
}

/// `wif issuer keygen` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif issuer keygen --out sa.key --public-out sa.pub",
        "wif issuer keygen --out sa.key --alg ES256",
    )
)]
pub struct KeygenArgs {
    /// Where to write the private key.
    #[arg(long, value_name = "FILE")]
    pub out: String,
    /// Key type: RS256 (RSA 2048, what Entra documents), ES256, ES384 or ES512.
    #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256", "ES384", "ES512"])]
    pub alg: String,
    /// Also write the public key here (for --service-account-key-file).
    #[arg(long, value_name = "FILE")]
    pub public_out: Option<String>,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
}

/// `wif issuer discovery` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif issuer discovery --issuer https://oidc.example/cluster-1/ --public-keys sa.pub",
    )
)]
pub struct DiscoveryArgs {
    /// The issuer URL, exactly as in the tokens' iss (kube-apiserver --service-account-issuer).
    #[arg(long)]
    pub issuer: String,
    /// Where the JWKS is published (default {issuer}/openid/v1/jwks).
    #[arg(long)]
    pub jwks_uri: Option<String>,
    /// Key files, to list their algorithms (default RS256).
    #[arg(long, value_delimiter = ',', value_name = "FILE")]
    pub public_keys: Vec<String>,
}

/// `wif issuer mint` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif issuer mint --key sa.key --issuer https://127.0.0.1:8443/ --namespace demo --service-account app --out token",
    )
)]
pub struct MintArgs {
    /// Signing key (PEM).
    #[arg(long, value_name = "FILE")]
    pub key: String,
    /// The issuer URL, as kube-apiserver's --service-account-issuer: the token's iss, which a
    /// federated credential must name exactly.
    #[arg(long)]
    pub issuer: String,
    /// Namespace of the service account.
    #[arg(long)]
    pub namespace: String,
    /// Service account name.
    #[arg(long)]
    pub service_account: String,
    /// aud (repeatable).
    #[arg(long, default_value = wif_core::contract::DEFAULT_AUDIENCE)]
    pub audience: Vec<String>,
    /// Lifetime in seconds (kube-apiserver requires at least 600).
    #[arg(long, default_value_t = 3600)]
    pub expiration: i64,
    /// Bind the token to this pod (a pod-bound token, as kubelet projects).
    #[arg(long)]
    pub pod: Option<String>,
    /// Issue time (Unix seconds) instead of now, for tokens that are already expired or not
    /// yet valid.
    #[arg(long, allow_hyphen_values = true)]
    pub issued_at: Option<i64>,
    /// Write the token here (mode 0600) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
}

/// `wif issuer verify` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif issuer verify --jwks jwks.json --token token --issuer https://127.0.0.1:8443/ --audience api://AzureADTokenExchange",
    )
)]
pub struct VerifyArgs {
    /// The JWKS (a file as `wif jwks` writes it).
    #[arg(long, value_name = "FILE")]
    pub jwks: String,
    /// The token file (`-` for standard input).
    #[arg(long, value_name = "FILE|-")]
    pub token: String,
    /// Required iss.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Required aud element.
    #[arg(long)]
    pub audience: Option<String>,
    /// Required sub.
    #[arg(long)]
    pub subject: Option<String>,
    /// Clock skew tolerated on exp and nbf, in seconds.
    #[arg(long, default_value_t = wif_jose::jws::DEFAULT_LEEWAY_SECONDS)]
    pub leeway: u64,
}

/// `wif issuer serve` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif issuer serve --key sa.key --issuer https://127.0.0.1:8443/ --addr 127.0.0.1:8443 --self-signed-ca-out issuer-ca.pem",
    )
)]
pub struct ServeArgs {
    /// Key files (private or public PEM); all are published, so old and new keys can be
    /// served together during a rotation. Repeat the flag or separate with commas.
    #[arg(long, value_delimiter = ',', required = true, value_name = "FILE")]
    pub key: Vec<String>,
    /// The issuer URL, exactly as in the tokens' iss.
    #[arg(long)]
    pub issuer: String,
    /// Where the JWKS is advertised (default {issuer}/openid/v1/jwks).
    #[arg(long)]
    pub jwks_uri: Option<String>,
    /// Listen address (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub tls: crate::cmd::service_args::TlsArgs,
    #[command(flatten)]
    pub limits: crate::cmd::service_args::LimitsArgs,
    /// Minimum TLS version (1.2 or 1.3).
    #[arg(long, default_value = "1.3")]
    pub tls_min_version: String,
    /// Address of /healthz, /readyz and /metrics (plain HTTP).
    #[arg(long, default_value = "127.0.0.1:9442")]
    pub health_addr: SocketAddr,
}

/// Runs `wif issuer serve` until SIGTERM.
fn serve(args: &ServeArgs) -> Result<()> {
    let keys = public_keys_from_files(&args.key)?;
    let documents = IssuerDocuments::new(&args.issuer, args.jwks_uri.as_deref(), &keys)?;
    let host = wif_issuer::documents::host_of(&args.issuer);
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let tls = args.tls.source(&[host])?;
    let runtime = wif_server::runtime::build(wif_server::runtime::SERVER)?;
    runtime.block_on(async move {
        let mut registry = Registry::default();
        documents.register(&mut registry);
        let mut options = ServiceOptions::new(args.addr, args.health_addr, tls, &args.tls_min_version);
        options.limits = args.limits.limits();
        let bound = wif_server::bind(options, documents.router(), registry).await?;
        // Before the line that says it listens: a SIGTERM sent by its reader stops it cleanly.
        let stop = shutdown_signal();
        println!(
            "issuer {} listening on https://{} (health on http://{})",
            args.issuer, bound.address, bound.health_address
        );
        tracing::info!(issuer = %args.issuer, address = %bound.address, keys = keys.len(), "issuer serving");
        bound.serve(stop).await;
        Ok(())
    })
}

/// Runs a `wif issuer` subcommand.
pub fn run(command: &IssuerCommand) -> Result<()> {
    match command {
        IssuerCommand::Keygen(args) => keygen(args),
        IssuerCommand::Discovery(args) => {
            println!("{}", discovery_json(args)?);
            Ok(())
        }
        IssuerCommand::Mint(args) => mint(args),
        IssuerCommand::Verify(args) => verify(args),
        IssuerCommand::Serve(args) => serve(args),
    }
}

fn keygen(args: &KeygenArgs) -> Result<()> {
    let alg = Algorithm::from_name(&args.alg).context("unknown algorithm")?;
    let key = SigningKey::generate(alg)?;
    write_private(Path::new(&args.out), key.to_pkcs8_pem()?.as_bytes(), args.force)?;
    if let Some(public) = &args.public_out {
        if !args.force && Path::new(public).exists() {
            bail!("{public} exists; remove it or pass --force");
        }
        std::fs::write(public, key.public_key_pem()).with_context(|| format!("cannot write {public}"))?;
    }
    eprintln!("wrote {} ({}, kid {})", args.out, key.algorithm(), key.kid());
    Ok(())
}

/// The discovery document as pretty JSON.
pub fn discovery_json(args: &DiscoveryArgs) -> Result<String> {
    check_issuer(&args.issuer)?;
    let jwks_uri = args.jwks_uri.clone().unwrap_or_else(|| default_jwks_uri(&args.issuer));
    if !jwks_uri.starts_with("https://") {
        bail!("--jwks-uri must be an https URL (Entra ID fetches it over https)");
    }
    let keys = public_keys_from_files(&args.public_keys)?;
    Ok(serde_json::to_string_pretty(&DiscoveryDocument::new(
        &args.issuer,
        &jwks_uri,
        &keys,
    ))?)
}

fn mint(args: &MintArgs) -> Result<()> {
    check_issuer(&args.issuer)?;
    if !(600..=i64::from(u32::MAX)).contains(&args.expiration) {
        bail!(
            "--expiration {} is outside what kube-apiserver accepts (600 seconds to 2^32)",
            args.expiration
        );
    }
    let key = signing_key_from_file(Path::new(&args.key))?;
    let spec = ProjectedToken {
        issuer: args.issuer.clone(),
        namespace: args.namespace.clone(),
        service_account: args.service_account.clone(),
        service_account_uid: random_uuid()?,
        audiences: args.audience.clone(),
        issued_at: args.issued_at.unwrap_or_else(wif_core::clock::unix_now),
        expiration_seconds: args.expiration,
        pod: match &args.pod {
            Some(name) => Some(BoundPod {
                name: name.clone(),
                uid: random_uuid()?,
            }),
            None => None,
        },
        jti: random_uuid()?,
    };
    let token = spec.sign(&key)?;
    match &args.out {
        Some(path) => Ok(write_private(Path::new(path), token.as_bytes(), true)?),
        None => {
            println!("{token}");
            Ok(())
        }
    }
}

fn verify(args: &VerifyArgs) -> Result<()> {
    let jwks_bytes = std::fs::read(&args.jwks).with_context(|| format!("cannot read {}", args.jwks))?;
    let jwks = JwkSet::from_json(&jwks_bytes).with_context(|| format!("{} is not a JWKS", args.jwks))?;
    let (_, token) = crate::input::read_token_arg(&args.token)?;
    let validation = Validation {
        issuer: args.issuer.clone(),
        audience: args.audience.clone(),
        subject: args.subject.clone(),
        leeway_seconds: args.leeway,
        require_exp: true,
    };
    let verified =
        wif_jose::verify(token.trim(), &jwks, &validation, wif_core::clock::unix_now()).context("token refused")?;
    // The verdict for a person on stderr; the decoded token stays alone on stdout for tools.
    eprintln!(
        "verified: signed by key {} of {} ({:?}), time claims valid{}",
        verified
            .header
            .get("kid")
            .and_then(|k| k.as_str())
            .unwrap_or("(no kid)"),
        args.jwks,
        verified.algorithm,
        [
            ("issuer", &args.issuer),
            ("audience", &args.audience),
            ("subject", &args.subject)
        ]
        .iter()
        .filter_map(|(what, value)| value.as_ref().map(|v| format!(", {what} {v}")))
        .collect::<String>()
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "header": verified.header, "claims": verified.claims }))?
    );
    Ok(())
}
