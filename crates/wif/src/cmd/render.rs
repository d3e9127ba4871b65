//! `wif render`: the webhook's mutation applied to manifests offline, for GitOps and as a
//! Helm post-renderer (stdin to stdout). Documents keep their order; warnings, denials and
//! missing ServiceAccounts go to stderr with the object they concern.

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;
use wif_core::WebhookSettings;
use wif_core::manifest::tenant::tenant_required;
use wif_core::manifest::{RenderOptions, RenderOutcome, ServiceAccountIndex, Severity, render_documents};

use crate::cmd::settings_args::SettingsArgs;
use crate::input;

/// `wif render` flags.
#[derive(Debug, Clone, Args)]
#[command(help_template = crate::cmd::help_with_examples!(
    "wif render -f deploy.yaml --tenant-id $TENANT > mutated.yaml",
    "wif render -f deploy.yaml > mutated.yaml     # every ServiceAccount has its azure.workload.identity/tenant-id",
    "kustomize build . | wif render -f - --tenant-id $TENANT --strict",
    "helm plugin install deploy/helm-post-renderer   # Helm 4, once: the plugin runs wif render -f - (wif on PATH)",
    "helm install app ./chart --post-renderer wif-render --post-renderer-args=--tenant-id=$TENANT",
    "helm install app ./chart --post-renderer wif --post-renderer-args=render --post-renderer-args=-f --post-renderer-args=- --post-renderer-args=--tenant-id=$TENANT   # Helm 3",
))]
pub struct RenderArgs {
    /// Manifest stream to render (multi-document YAML); `-` reads standard input.
    #[arg(short = 'f', long = "filename", value_name = "FILE|-")]
    pub filename: String,
    /// More ServiceAccounts (multi-document YAML), for pods whose account is not in the stream.
    #[arg(long, value_name = "FILE")]
    pub service_accounts: Vec<String>,
    /// Namespace of objects that name none.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Mutate pods whose ServiceAccount is in neither input as if it had no annotations
    /// (a warning) instead of failing.
    #[arg(long)]
    pub allow_missing_service_accounts: bool,
    /// Fail (and write nothing) on any warning too, not only on denials: for CI.
    #[arg(long)]
    pub strict: bool,
    /// Write the stream here instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<String>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

fn error_in(source: &str) -> impl Fn(wif_core::manifest::RenderError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{source}: {e}")
}

/// The webhook settings of the flags; without a tenant (no --tenant-id, no AZURE_TENANT_ID)
/// the default tenant is empty, and only a mutated pod template whose ServiceAccount names
/// none asks for one ([`wif_core::manifest::tenant`]).
fn settings(args: &RenderArgs) -> Result<WebhookSettings> {
    let mut flags = args.settings.clone();
    // clap fills tenant_id from AZURE_TENANT_ID: unset here means neither was given.
    let no_default = flags.tenant_id.as_deref().is_none_or(str::is_empty);
    if no_default {
        // The flags' parsing requires a tenant (the webhook's does); it is cleared below.
        flags.tenant_id = Some("render-without-default-tenant".into());
    }
    let mut settings = flags.settings()?;
    if no_default {
        settings.default_tenant_id.clear();
    }
    Ok(settings)
}

/// Renders the input and returns the rendered stream with the outcome.
pub fn render_text(args: &RenderArgs, text: &str) -> Result<(String, RenderOutcome)> {
    let settings = settings(args)?;
    let source = input::display_name(&args.filename);
    let documents = input::parse_stream(text, source)?;
    let mut accounts = ServiceAccountIndex::from_documents(&documents, &args.namespace).map_err(error_in(source))?;
    for path in &args.service_accounts {
        let extra = input::parse_stream(&input::read_source(path)?, path)?;
        // Accounts in the stream win over those passed on the side.
        let mut side = ServiceAccountIndex::from_documents(&extra, &args.namespace).map_err(error_in(path))?;
        side.extend(accounts);
        accounts = side;
    }
    let options = RenderOptions {
        default_namespace: args.namespace.clone(),
        allow_missing_service_accounts: args.allow_missing_service_accounts,
    };
    let outcome = render_documents(&documents, &accounts, &settings, &options).map_err(error_in(source))?;
    if let Some(required) = tenant_required(&outcome.tenant_needed) {
        bail!("{required}");
    }
    let rendered: Vec<Value> = outcome
        .documents
        .iter()
        .zip(documents)
        .map(|(mutated, original)| mutated.clone().unwrap_or(original))
        .collect();
    Ok((input::write_stream(&rendered)?, outcome))
}

/// Runs `wif render`.
pub fn run(args: &RenderArgs) -> Result<()> {
    let text = input::read_source(&args.filename)?;
    let (rendered, outcome) = render_text(args, &text)?;
    let mut stderr = std::io::stderr().lock();
    for finding in &outcome.findings {
        let label = match finding.severity {
            Severity::Warning => "warning",
            Severity::Denial => "denied",
            Severity::MissingServiceAccount if args.allow_missing_service_accounts => "warning",
            Severity::MissingServiceAccount => "error",
        };
        writeln!(
            stderr,
            "{label}: document {}, {}: {}",
            finding.document + 1,
            finding.object,
            finding.message
        )?;
    }
    let options = RenderOptions {
        default_namespace: args.namespace.clone(),
        allow_missing_service_accounts: args.allow_missing_service_accounts,
    };
    writeln!(
        stderr,
        "wif render: {} of {} pod template{} mutated",
        outcome.mutated_templates,
        outcome.pod_templates,
        if outcome.pod_templates == 1 { "" } else { "s" }
    )?;
    if outcome.has_errors(&options) {
        bail!("nothing was written: the webhook would refuse or could not mutate the pods named above");
    }
    if args.strict && !outcome.findings.is_empty() {
        bail!("nothing was written: --strict fails on the warnings above");
    }
    match &args.output {
        Some(path) => std::fs::write(path, &rendered).with_context(|| format!("cannot write {path}"))?,
        None => std::io::stdout()
            .lock()
            .write_all(rendered.as_bytes())
            .context("cannot write standard output")?,
    }
    tracing::info!(
        documents = outcome.documents.len(),
        mutated = outcome.mutated_templates,
        "rendered"
    );
    Ok(())
}
