//! `wif migrate pod-identity`: aad-pod-identity's objects and the workloads bound to them,
//! read from manifests, become workload identity's ServiceAccounts, labels and federated
//! credentials ([`wif_core::migrate`]): the rewritten manifests on standard output (or `-o`),
//! the azure-cli commands that create the credentials (or `--commands FILE`), and on standard
//! error what needs a person.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use wif_core::migrate::{MigrateOptions, Migration, migrate_pod_identity};

use crate::input;

mod apply;
mod cluster;

/// `wif migrate` commands.
#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// From aad-pod-identity (AzureIdentity, AzureIdentityBinding, aadpodidbinding labels) to
    /// workload identity: ServiceAccounts, pod labels, federated credentials, and a report.
    PodIdentity(Box<PodIdentityArgs>),
}

/// `wif migrate pod-identity` flags.
#[derive(Debug, Clone, Args)]
#[command(help_template = crate::cmd::help_with_examples!(
    "wif migrate pod-identity -f pod-identity.yaml -f app.yaml --issuer-url \"$AKS_OIDC_ISSUER\" > migrated.yaml",
    "kubectl get azureidentities,azureidentitybindings,deploy,sts,cronjob,sa -A -o yaml | wif migrate pod-identity -f - --commands fic.sh",
    "wif migrate pod-identity -f app.yaml --namespaced --proxy-sidecar   # the AKS add-on; SDKs that cannot read a token file",
    "wif migrate pod-identity --cluster --commands fic.sh > migrated.yaml   # read from the cluster; nothing written to it",
    "wif migrate pod-identity -f app.yaml --apply --state-dir ~/.local/share/wif/up   # the credentials in a running wif up",
))]
pub struct PodIdentityArgs {
    /// Manifest streams (multi-document YAML) holding the pod-identity objects and the
    /// workloads; `-` reads standard input. Given several times, they are read as one stream.
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE|-",
        required_unless_present = "cluster",
        conflicts_with = "cluster"
    )]
    pub filenames: Vec<String>,
    /// Read them from the cluster instead (aad-pod-identity's objects, the workloads no
    /// controller owns, the ServiceAccounts; in every namespace unless -n): only the objects
    /// the migration changes or makes are written out, and nothing is written to the cluster.
    #[arg(long)]
    pub cluster: bool,
    /// The kubeconfig for --cluster (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The cluster's OIDC issuer URL, for the federated credentials (`az aks show --query
    /// oidcIssuerProfile.issuerUrl`); with --cluster, its API server's issuer by default;
    /// otherwise the commands read it from $AKS_OIDC_ISSUER.
    #[arg(long, value_name = "URL")]
    pub issuer_url: Option<String>,
    /// Annotate the ServiceAccounts with this tenant (else the webhook's default tenant applies).
    #[arg(long, value_name = "GUID")]
    pub tenant_id: Option<String>,
    /// Bindings select pods of their own namespace only, as with aad-pod-identity's
    /// --forceNamespaced and the AKS pod-identity add-on.
    #[arg(long)]
    pub namespaced: bool,
    /// The workloads' Azure SDKs are too old to read a token file: add the proxy sidecar
    /// annotation (azure.workload.identity/inject-proxy-sidecar).
    #[arg(long)]
    pub proxy_sidecar: bool,
    /// Namespace of objects that name none (default: default); with --cluster, the one
    /// namespace read (default: all).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Write the manifests here instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<String>,
    /// Write the azure-cli commands here (a script) instead of standard error.
    #[arg(long, value_name = "FILE")]
    pub commands: Option<String>,
    /// Create the federated credentials in the `wif up` running on --state-dir, through its
    /// Graph as its operator, trusting its local issuer unless --issuer-url names another: the
    /// identities must be in its directory (same client ids).
    #[arg(long)]
    pub apply: bool,
    /// The running `wif up`'s state directory, for --apply (default: wif up's own).
    #[arg(long, value_name = "DIR", requires = "apply")]
    pub state_dir: Option<std::path::PathBuf>,
}

/// Runs `wif migrate`.
pub fn run(command: &MigrateCommand) -> Result<()> {
    match command {
        MigrateCommand::PodIdentity(args) => pod_identity(args),
    }
}

/// What a migration read and made.
pub struct Migrated {
    /// The migration.
    pub migration: Migration,
    /// The documents to write: the whole stream for files, what changed for a cluster.
    pub documents: Vec<serde_json::Value>,
    /// The issuer the credentials trust, when known.
    pub issuer: Option<String>,
}

/// The migration of the flags' input.
pub fn migrate(args: &PodIdentityArgs) -> Result<Migrated> {
    let (documents, source, issuer) = if args.cluster {
        let read = cluster::read(args.kubeconfig.as_deref(), args.namespace.as_deref())?;
        (
            read.documents,
            "the cluster".to_owned(),
            args.issuer_url.clone().or(read.issuer),
        )
    } else {
        let mut documents = Vec::new();
        for path in &args.filenames {
            let text = input::read_source(path)?;
            documents.extend(input::parse_stream(&text, input::display_name(path))?);
        }
        (documents, args.filenames.join(", "), args.issuer_url.clone())
    };
    let options = MigrateOptions {
        default_namespace: args.namespace.clone().unwrap_or_else(|| "default".into()),
        tenant_id: args.tenant_id.clone(),
        namespaced: args.namespaced,
        proxy_sidecar: args.proxy_sidecar,
    };
    let migration =
        migrate_pod_identity(&documents, &options).with_context(|| format!("{source}: nothing was written"))?;
    let written = if args.cluster {
        // From a cluster, the objects the migration changes or makes, ready for review and apply.
        migration
            .documents
            .iter()
            .filter(|d| !documents.contains(d))
            .cloned()
            .collect()
    } else {
        migration.documents.clone()
    };
    Ok(Migrated {
        migration,
        documents: written,
        issuer,
    })
}

/// The script of azure-cli commands that create the credentials; without an issuer URL they
/// read it from `$AKS_OIDC_ISSUER`, and the script stops when it is unset.
pub fn commands_script(migration: &Migration, issuer_url: Option<&str>) -> String {
    const PLACEHOLDER: &str = "__WIF_ISSUER__";
    let mut script = String::from(
        "#!/bin/sh\n# The federated credentials the migrated workloads need (wif migrate pod-identity).\nset -e\n",
    );
    if issuer_url.is_none() {
        script.push_str(
            ": \"${AKS_OIDC_ISSUER:?set it to the cluster's issuer: az aks show -g RG -n CLUSTER --query oidcIssuerProfile.issuerUrl -o tsv}\"\n",
        );
    }
    for credential in &migration.credentials {
        let line = match issuer_url {
            Some(url) => credential.az_command(url),
            None => credential
                .az_command(PLACEHOLDER)
                .replace(PLACEHOLDER, "\"$AKS_OIDC_ISSUER\""),
        };
        let _ = writeln!(script, "{line}");
    }
    script
}

fn pod_identity(args: &PodIdentityArgs) -> Result<()> {
    let Migrated {
        migration,
        documents,
        issuer,
    } = migrate(args)?;
    let manifests = input::write_stream(&documents)?;
    let script = commands_script(&migration, issuer.as_deref());
    match &args.output {
        Some(path) => std::fs::write(path, &manifests).with_context(|| format!("cannot write {path}"))?,
        None => std::io::stdout()
            .lock()
            .write_all(manifests.as_bytes())
            .context("cannot write standard output")?,
    }
    let mut stderr = std::io::stderr().lock();
    for workload in &migration.migrated {
        writeln!(stderr, "migrated: {workload}")?;
    }
    for attention in &migration.attention {
        writeln!(stderr, "needs a person: {attention}")?;
    }
    match &args.commands {
        Some(path) => {
            wif_issuer::files::write_private(std::path::Path::new(path), script.as_bytes(), true)
                .with_context(|| format!("cannot write {path}"))?;
            writeln!(
                stderr,
                "the {} federated credential command(s) are in {path}",
                migration.credentials.len()
            )?;
        }
        None if !migration.credentials.is_empty() => {
            writeln!(stderr, "the federated credentials to create (azure-cli):")?;
            stderr.write_all(script.as_bytes())?;
        }
        None => {}
    }
    writeln!(
        stderr,
        "wif migrate pod-identity: {} workload(s) migrated, {} credential(s) to create, {} item(s) for a person",
        migration.migrated.len(),
        migration.credentials.len(),
        migration.attention.len()
    )?;
    drop(stderr);
    if args.apply {
        apply_to_up(args, issuer.as_deref(), &migration)?;
    }
    Ok(())
}

/// `--apply`, once the manifests and the report are written: each credential created in the
/// running `wif up`; one refused does not stop the others, and makes the run fail.
fn apply_to_up(args: &PodIdentityArgs, discovered: Option<&str>, migration: &Migration) -> Result<()> {
    let dir = match &args.state_dir {
        Some(dir) => dir.clone(),
        None => crate::cmd::up::management::default_dir()?,
    };
    let management = crate::cmd::up::management::read(&dir)?;
    // --issuer-url, else (with --cluster) the cluster's, else wif up's own issuer.
    let issuer = discovered.map_or_else(|| management.issuer.clone(), str::to_owned);
    let runtime = wif_server::runtime::build(wif_server::runtime::RuntimeKind::Command)?;
    let applied = runtime.block_on(apply::apply(&management, &issuer, migration))?;
    let mut stderr = std::io::stderr().lock();
    let mut failed = 0;
    for outcome in &applied {
        match outcome {
            apply::Applied::Created(what) => writeln!(stderr, "applied: {what}")?,
            apply::Applied::AlreadyThere(what) => writeln!(stderr, "applied (already there): {what}")?,
            apply::Applied::Failed(why) => {
                failed += 1;
                writeln!(stderr, "not applied: {why}")?;
            }
        }
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} credential(s) not applied in wif up (above)",
        applied.len()
    );
    Ok(())
}
