//! `wif doctor`: gathers what the doctor's rules look at (manifests from files, directories or
//! standard input, federated identity credentials, a projected token, what the cluster's
//! issuer serves) and prints the findings as text or JSON. The rules are `wif_core::doctor`'s.
//! Exit 0 without error findings, 1 with some, 2 when the input cannot be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};
use wif_core::doctor::{
    ClientCredentials, Document, Finding, Input, IssuerFacts, LivePods, ObjectRef, TokenFacts, Unchecked, diagnose,
    parse_credentials, settle, stranded_pods, unchecked,
};
use wif_core::rules::Severity;
use wif_issuer::IssuerCheck;
use wif_issuer::fetch::{ClientPolicy, Trust, fetch, https_client};

use crate::input;

mod cluster;
pub(crate) use cluster::issuer as cluster_issuer;

/// `wif doctor` flags.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit status: 0 no error found, 1 errors found, 2 the input cannot be read.",
    help_template = crate::cmd::help_with_examples!(
        "kustomize build overlays/prod | wif doctor -f - --federated-credentials directory.yaml",
        "helm template ./chart | wif doctor -f - --federated-credentials CLIENT_ID=fics.json --issuer-url https://oidc.example/",
        "wif doctor --token /var/run/secrets/azure/tokens/azure-identity-token --check-issuer",
        "wif doctor --issuer-url https://127.0.0.1:8443/ --check-issuer --ca-file issuer-ca.pem     # a local issuer",
        "wif doctor --cluster --federated-credentials CLIENT_ID=fics.json     # the cluster kubectl points at",
    )
)]
pub struct DoctorArgs {
    /// Manifests: a file, a directory (its .yaml, .yml and .json files, recursively), or `-`
    /// for standard input. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH|-")]
    pub filenames: Vec<String>,
    /// Federated identity credentials: the emulator's directory file, or Azure's list
    /// (`az identity federated-credential list -o json`, Graph's {"value": [...]}) as
    /// CLIENT_ID=FILE. Repeatable.
    #[arg(long, value_name = "[CLIENT_ID=]FILE")]
    pub federated_credentials: Vec<String>,
    /// A projected service-account token: its iss, sub, aud and expiry are checked.
    #[arg(long, value_name = "FILE")]
    pub token: Option<PathBuf>,
    /// Fetch the issuer's discovery document and JWKS over HTTPS and look for the token's kid.
    #[arg(long)]
    pub check_issuer: bool,
    /// The cluster's OIDC issuer, when no token is given (or to check the token against).
    #[arg(long, value_name = "URL")]
    pub issuer_url: Option<String>,
    /// A CA to trust (PEM) besides the system's, for --check-issuer (a local issuer).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The audience the webhook requests (its --audience).
    #[arg(long, default_value = wif_core::contract::DEFAULT_AUDIENCE)]
    pub audience: String,
    /// The webhook's default tenant (for ServiceAccounts without a tenant-id annotation).
    #[arg(long, env = "AZURE_TENANT_ID")]
    pub tenant_id: Option<String>,
    /// Namespace of objects that name none.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Output format.
    #[arg(short = 'o', long, default_value = "text", value_parser = ["text", "json"])]
    pub output: String,
    /// Read the cluster too: its ServiceAccounts, workloads, Namespaces and
    /// MutatingWebhookConfigurations, and its issuer (from the API server's discovery
    /// document) unless --issuer-url names one; and report its stranded pods (labelled, running
    /// without what the webhook injects), by owner.
    #[arg(long)]
    pub cluster: bool,
    /// The cluster for --cluster (default: KUBECONFIG, then in-cluster).
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub kubeconfig: Option<PathBuf>,
}

/// Runs `wif doctor`; the exit code says what it found.
pub fn run(args: &DoctorArgs) -> ExitCode {
    match diagnose_args(args) {
        Ok((findings, unchecked)) => {
            let out = if args.output == "json" {
                json_report(&findings)
            } else {
                report(&findings, &unchecked)
            };
            print!("{out}");
            if findings.iter().any(|f| f.severity() == Severity::Error) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("wif doctor: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Manifest files of `path`: the file itself, or a directory's YAML and JSON files, sorted.
fn manifest_files(path: &str) -> Result<Vec<String>> {
    if path == "-" || !Path::new(path).is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::from(path)];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read directory {}", dir.display()))? {
            let entry = entry.with_context(|| format!("cannot read directory {}", dir.display()))?;
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
            {
                files.push(path.display().to_string());
            }
        }
    }
    files.sort();
    Ok(files)
}

fn read_documents(args: &DoctorArgs) -> Result<Vec<Document>> {
    let mut documents = Vec::new();
    for path in &args.filenames {
        for file in manifest_files(path)? {
            let source = input::display_name(&file).to_owned();
            let values = input::parse_stream(&input::read_source(&file)?, &source)?;
            documents.extend(values.into_iter().enumerate().map(|(index, value)| Document {
                source: source.clone(),
                index,
                value,
            }));
        }
    }
    Ok(documents)
}

/// The credentials of `--federated-credentials [CLIENT_ID=]FILE` flags; `None` when none.
pub fn read_credentials(specs: &[String]) -> Result<Option<Vec<ClientCredentials>>> {
    if specs.is_empty() {
        return Ok(None);
    }
    let mut all = Vec::new();
    for spec in specs {
        // CLIENT_ID=FILE, unless the whole thing is a file (paths may hold '=').
        let (client_id, file) = match spec.split_once('=') {
            Some((id, file)) if !Path::new(spec).exists() && wif_core::mutation::is_guid(id) => (Some(id), file),
            Some((id, _)) if !Path::new(spec).exists() => {
                bail!("--federated-credentials {spec}: {id:?} is not a client id (a GUID); write CLIENT_ID=FILE")
            }
            _ => (None, spec.as_str()),
        };
        let text = input::read_source(file)?;
        all.extend(parse_credentials(&text, file, client_id)?);
    }
    Ok(Some(all))
}

fn read_token(path: &Path) -> Result<TokenFacts> {
    let (source, text) = input::read_token_arg(&path.to_string_lossy())?;
    let token = wif_jose::decode_unverified(text.trim()).with_context(|| format!("{source} is not a JWT"))?;
    Ok(token_facts(&source, &token))
}

/// What the doctor checks of a decoded token.
pub fn token_facts(source: &str, token: &wif_jose::UnverifiedToken) -> TokenFacts {
    let source = source.to_owned();
    let claim = |name: &str| token.claim_str(name).unwrap_or_default().to_owned();
    TokenFacts {
        source,
        issuer: claim("iss"),
        subject: claim("sub"),
        audiences: token.audiences(),
        expires_at: token.claims.get("exp").and_then(Value::as_i64),
        kid: token.kid().map(str::to_owned),
    }
}

/// Fetches the discovery document and the JWKS with the emulator's fetcher (HTTPS, bounded in
/// time and size), trusting the system's roots and `ca_file`, following up to 3 redirects.
fn fetch_issuer(issuer: &str, ca_file: Option<&Path>) -> Result<IssuerFacts> {
    let trust = match ca_file {
        Some(ca) => Trust::Also(ca),
        None => Trust::SystemRoots,
    };
    let policy = ClientPolicy {
        redirects: 3,
        timeout: Duration::from_secs(10),
    };
    let http = https_client(trust, policy)?;
    let runtime = wif_server::runtime::build(wif_server::runtime::RuntimeKind::Command)?;
    // The doctor reports a discovery document that names another issuer itself.
    Ok(match runtime.block_on(fetch(&http, issuer, IssuerCheck::KeysOnly)) {
        Ok(fetched) => IssuerFacts::Fetched {
            discovery_issuer: fetched.discovery_issuer,
            jwks_uri: fetched.jwks_uri,
            kids: fetched.keys.keys.iter().filter_map(|k| k.kid.clone()).collect(),
        },
        Err(error) => {
            let url = error
                .location()
                .unwrap_or_else(|| wif_jose::discovery::discovery_url(issuer));
            let reason = wif_core::error_text::error_chain(&error);
            // rustls's CertificateError::UnknownIssuer, as reqwest shows it: a private CA.
            if reason.contains("UnknownIssuer") {
                IssuerFacts::Untrusted {
                    url,
                    ca_file: ca_file.map(|ca| ca.display().to_string()),
                }
            } else {
                IssuerFacts::Unreachable { url, reason }
            }
        }
    })
}

/// The findings, and what was not checked for want of an input.
fn diagnose_args(args: &DoctorArgs) -> Result<(Vec<Finding>, Vec<Unchecked>)> {
    let issuer_only = args.check_issuer && args.issuer_url.is_some();
    if args.filenames.is_empty()
        && args.federated_credentials.is_empty()
        && args.token.is_none()
        && !args.cluster
        && !issuer_only
    {
        bail!(
            "nothing to check: pass manifests (-f PATH or -f -), --cluster, --federated-credentials FILE, --token FILE or --issuer-url URL --check-issuer"
        );
    }
    let mut documents = read_documents(args)?;
    let mut cluster_issuer = None;
    let mut live = None;
    if args.cluster {
        let cluster = cluster::read(args.kubeconfig.as_deref())?;
        documents.extend(cluster.documents);
        cluster_issuer = cluster.issuer;
        live = Some((cluster.labelled_pods, cluster.service_accounts, cluster.replica_sets));
    }
    let credentials = read_credentials(&args.federated_credentials)?;
    let token = args.token.as_deref().map(read_token).transpose()?;
    let issuer = args
        .issuer_url
        .clone()
        .or_else(|| token.as_ref().map(|t| t.issuer.clone()).filter(|i| !i.is_empty()))
        .or(cluster_issuer);
    let issuer_check = match (&issuer, args.check_issuer) {
        (Some(issuer), true) => Some(fetch_issuer(issuer, args.ca_file.as_deref())?),
        (None, true) => bail!("--check-issuer needs the issuer: pass --token FILE or --issuer-url URL"),
        (_, false) => None,
    };
    let mut settings = wif_core::WebhookSettings::new(args.tenant_id.clone().unwrap_or_default());
    settings.audience = args.audience.clone();
    let input = Input {
        documents: &documents,
        default_namespace: &args.namespace,
        settings: &settings,
        credentials: credentials.as_deref(),
        issuer: issuer.as_deref(),
        token: token.as_ref(),
        issuer_check: issuer_check.as_ref(),
        now: wif_core::clock::unix_now(),
        cluster: args.cluster,
    };
    let mut findings = diagnose(&input);
    if let Some((pods, service_accounts, replica_sets)) = &live {
        let live = LivePods {
            pods,
            service_accounts,
            replica_sets,
        };
        findings.extend(stranded_pods(&live, &settings).into_iter().map(|mut finding| {
            finding.object = ObjectRef {
                source: Some(cluster::CLUSTER_SOURCE.into()),
                ..finding.object
            };
            finding
        }));
        settle(&mut findings);
    }
    Ok((findings, unchecked(&input)))
}

fn location(finding: &Finding) -> String {
    let document = finding.object.document.filter(|_| !from_cluster(finding));
    match (&finding.object.source, document) {
        (Some(source), Some(document)) => format!(" [{source}, document {}]", document + 1),
        (Some(source), None) => format!(" [{source}]"),
        _ => String::new(),
    }
}

fn counts(findings: &[Finding]) -> (usize, usize) {
    let errors = findings.iter().filter(|f| f.severity() == Severity::Error).count();
    (errors, findings.len() - errors)
}

fn from_cluster(finding: &Finding) -> bool {
    finding.object.source.as_deref() == Some(cluster::CLUSTER_SOURCE)
}

/// The findings for a person, everything checked (`wif token inspect`'s).
pub fn text_report(findings: &[Finding]) -> String {
    report(findings, &[])
}

/// The findings for a person, then what was not checked and the flags that check it: "no
/// findings" alone would read as "nothing wrong" when no credential was looked at.
fn report(findings: &[Finding], unchecked: &[Unchecked]) -> String {
    let mut out = String::new();
    for finding in findings {
        out.push_str(&format!(
            "{} {}: {}{}\n  what: {}\n  why:  {}\n  fix:  {}\n\n",
            finding.severity().as_str(),
            finding.rule.id(),
            finding.object,
            location(finding),
            finding.message,
            finding.rule.why(),
            finding.fix
        ));
    }
    let (errors, warnings) = counts(findings);
    let summary = if findings.is_empty() {
        "no findings".to_owned()
    } else {
        format!("{errors} error(s), {warnings} warning(s)")
    };
    if unchecked.is_empty() {
        if findings.is_empty() {
            out.push_str("no findings: nothing here stops workload identity federation\n");
        } else {
            out.push_str(&format!("{summary}\n"));
        }
        return out;
    }
    out.push_str(&format!("{summary} in what was checked; not checked:\n"));
    for part in unchecked {
        out.push_str(&format!("  {}: {}\n", part.what(), part.how()));
    }
    out
}

/// The findings as JSON (schema in docs/doctor.md, `schemaVersion` 1).
pub fn json_report(findings: &[Finding]) -> String {
    let (errors, warnings) = counts(findings);
    let items: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule.id(),
                "severity": f.severity().as_str(),
                "object": {
                    "kind": f.object.kind,
                    "namespace": f.object.namespace,
                    "name": f.object.name,
                    "source": f.object.source,
                    "document": f.object.document.filter(|_| !from_cluster(f)).map(|d| d + 1),
                },
                "message": f.message,
                "why": f.rule.why(),
                "fix": f.fix,
            })
        })
        .collect();
    let report = json!({
        "schemaVersion": 1,
        "findings": items,
        "summary": {"errors": errors, "warnings": warnings},
    });
    format!("{}\n", serde_json::to_string_pretty(&report).unwrap_or_default())
}
