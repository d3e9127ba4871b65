//! `wif demo`: the whole federation flow on loopback, one step at a time, each printed and
//! checked. Exit 0 only if every step did what it should. Steps: the webhook's mutation of a
//! sample Deployment (rendered offline), the webhook over TLS, a cluster OIDC issuer on
//! loopback and a projected token it signs, that token exchanged at the emulator for two
//! identities (and a typo diagnosed), an IMDS request to the proxy ([`proxy`]),
//! a Key Vault secret read under Azure RBAC on the local Azure plane ([`vault`]), and seed 000's
//! blobs: read in tenant A, written in tenant B, each refused where RBAC or the tenant says no
//! ([`storage`]).
//! Each step reads what earlier ones left in the [`DemoContext`].

use anyhow::{Result, bail, ensure};
use clap::Args;
use serde_json::{Value, json};
use wif_core::WebhookSettings;
use wif_core::contract;
use wif_core::manifest::{RenderOptions, ServiceAccountIndex, render_documents};

use crate::input;

mod context;
mod directory;
mod exchange;
mod proxy;
mod servers;
mod storage;
mod vault;

use context::{DemoContext, Printer, READER_CLIENT, Step, TENANT_A, TENANT_B, WRITER_CLIENT};

/// `wif demo` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif demo            # every step, printed and checked",
        "wif demo --quiet    # the step titles and their outcome",
    )
)]
pub struct DemoArgs {
    /// Print only the step titles and their outcome.
    #[arg(long)]
    pub quiet: bool,
}

fn steps() -> Vec<(&'static str, Step)> {
    vec![
        (
            "the webhook's mutation of a Deployment, rendered offline (wif render)",
            render_step,
        ),
        (
            "the webhook over TLS, answering the AdmissionReview kube-apiserver sends for a pod (wif webhook)",
            webhook_step,
        ),
        (
            "a cluster OIDC issuer on loopback, and the projected token it signs (wif issuer)",
            issuer_step,
        ),
        (
            "the projected token exchanged at a local Entra ID for two identities in two tenants (wif sts, wif-client)",
            exchange::exchange_step,
        ),
        (
            "an app that only speaks managed identity gets its tokens from the IMDS proxy (wif proxy)",
            proxy::proxy_step,
        ),
        (
            "the app reads a Key Vault secret, Azure RBAC deciding, on the local Azure plane (wif sts)",
            vault::vault_step,
        ),
        (
            "seed 000: the reader reads a blob in tenant A and may not write, the writer writes in tenant B (Blob Storage, Azure RBAC)",
            storage::storage_step,
        ),
    ]
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> Result<()> {
    let printer = Printer { quiet: args.quiet };
    println!("wif demo: workload identity federation, end to end, on this machine");
    let mut context = DemoContext::new()?;
    let all = steps();
    let mut failed = Vec::new();
    for (n, (title, step)) in all.iter().enumerate() {
        printer.title(n + 1, title);
        match step(&printer, &mut context) {
            Ok(()) => println!("   ok"),
            Err(e) => {
                println!("   FAILED: {e:#}");
                failed.push(n + 1);
            }
        }
    }
    println!(
        "\n{} of {} steps did what they should",
        all.len() - failed.len(),
        all.len()
    );
    if !failed.is_empty() {
        bail!("demo steps failed: {failed:?}");
    }
    Ok(())
}

/// The sample workload: a ServiceAccount with a default identity and a second, named one in
/// another tenant, and a Deployment with an init container, opted in by its pod label.
pub fn sample_manifests() -> Vec<Value> {
    vec![
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "app",
                "namespace": "demo",
                "annotations": {
                    contract::ANNOTATION_CLIENT_ID: READER_CLIENT,
                    contract::ANNOTATION_TENANT_ID: TENANT_A,
                    format!("{}writer", contract::WIF_ANNOTATION_CLIENT_ID_PREFIX): WRITER_CLIENT,
                    format!("{}writer", contract::WIF_ANNOTATION_TENANT_ID_PREFIX): TENANT_B
                }
            }
        }),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": "web", "namespace": "demo" },
            "spec": {
                "replicas": 2,
                "selector": { "matchLabels": { "app": "web" } },
                "template": {
                    "metadata": { "labels": { "app": "web", contract::LABEL_USE: "true" } },
                    "spec": {
                        "serviceAccountName": "app",
                        "initContainers": [{ "name": "migrate", "image": "example.com/web:1.0", "args": ["migrate"] }],
                        "containers": [{
                            "name": "web",
                            "image": "example.com/web:1.0",
                            "env": [{ "name": "LOG_LEVEL", "value": "info" }],
                            "ports": [{ "containerPort": 8080 }]
                        }]
                    }
                }
            }
        }),
    ]
}

fn render_step(out: &Printer, context: &mut DemoContext) -> Result<()> {
    let documents = sample_manifests();
    let settings = WebhookSettings::new(TENANT_A);
    let options = RenderOptions::default();
    let accounts = ServiceAccountIndex::from_documents(&documents, &options.default_namespace)?;
    let outcome = render_documents(&documents, &accounts, &settings, &options)?;
    ensure!(
        outcome.findings.is_empty(),
        "unexpected findings: {:?}",
        outcome.findings
    );
    let Some(Some(rendered)) = outcome.documents.get(1) else {
        bail!("the Deployment was not mutated")
    };

    out.say("  input: a ServiceAccount naming two identities, and a Deployment whose pods carry");
    out.say(&format!("  the label {}: \"true\"", contract::LABEL_USE));
    out.block(&input::write_stream(&documents[..1])?);
    out.say("  the pod template, before (-) and after (+) the webhook's mutation:");
    let before = input::write_stream(&[documents[1]["spec"]["template"].clone()])?;
    let after = input::write_stream(&[rendered["spec"]["template"].clone()])?;
    out.block(&wif_core::line_diff::line_diff(&before, &after));

    let spec = &rendered["spec"]["template"]["spec"];
    let token_file = settings.token_layout.token_file();
    for container in [&spec["initContainers"][0], &spec["containers"][0]] {
        let env = |name: &str| {
            container["env"]
                .as_array()
                .and_then(|l| l.iter().find(|e| e["name"] == name))
                .and_then(|e| e["value"].as_str())
        };
        let name = container["name"].as_str().unwrap_or("?");
        ensure!(
            env(contract::ENV_CLIENT_ID) == Some(READER_CLIENT),
            "{name}: AZURE_CLIENT_ID missing"
        );
        ensure!(
            env(contract::ENV_TENANT_ID) == Some(TENANT_A),
            "{name}: AZURE_TENANT_ID missing"
        );
        ensure!(
            env(contract::ENV_FEDERATED_TOKEN_FILE) == Some(token_file),
            "{name}: token file missing"
        );
        ensure!(
            env(&format!("{}_WRITER", contract::ENV_CLIENT_ID)) == Some(WRITER_CLIENT),
            "{name}: the writer identity is missing"
        );
        ensure!(
            env(&format!("{}_WRITER", contract::ENV_TENANT_ID)) == Some(TENANT_B),
            "{name}: the writer's tenant is missing"
        );
        ensure!(
            container["volumeMounts"][0]["mountPath"] == contract::V1_6_MOUNT_PATH,
            "{name}: token not mounted"
        );
    }
    ensure!(
        spec["containers"][0]["env"][0]["name"] == "LOG_LEVEL",
        "the user's env var moved"
    );
    context.pod_env = spec["containers"][0]["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e["value"].as_str()?.to_owned())))
        .collect();
    let token = &spec["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
    ensure!(
        token["audience"] == contract::DEFAULT_AUDIENCE,
        "wrong audience: {}",
        token["audience"]
    );
    ensure!(token["expirationSeconds"] == 3600, "wrong expiration");
    out.say(&format!(
        "  every container now finds the projected token at {token_file}, the default identity in\n  AZURE_CLIENT_ID/AZURE_TENANT_ID and the writer in AZURE_CLIENT_ID_WRITER/AZURE_TENANT_ID_WRITER."
    ));
    Ok(())
}

fn issuer_step(out: &Printer, context: &mut DemoContext) -> Result<()> {
    let issuer = context.runtime.block_on(wif_issuer::LocalIssuer::start())?;
    out.say(&format!(
        "  issuer {} serves its discovery document and JWKS over TLS (a CA made just now)",
        issuer.url
    ));
    let client = wif_issuer::fetch::https_client(
        wif_issuer::fetch::Trust::OnlyPem(issuer.ca_pem()),
        wif_issuer::fetch::ClientPolicy::EMULATOR,
    )?;
    let fetched = context.runtime.block_on(wif_issuer::fetch::fetch(
        &client,
        &issuer.url,
        wif_issuer::IssuerCheck::Exact,
    ))?;
    ensure!(
        fetched.jwks_uri.starts_with(&issuer.url),
        "jwks_uri {} is not on the issuer",
        fetched.jwks_uri
    );
    let (discovery, jwks) = (fetched.discovery, fetched.keys);
    out.say(&format!(
        "  (its CA, made just now, is what Entra ID would need to trust: {} bytes of PEM)",
        issuer.ca_pem().len()
    ));
    out.say("  GET /.well-known/openid-configuration, as Entra ID fetches it:");
    out.block(&serde_json::to_string_pretty(&discovery)?);
    ensure!(
        discovery["issuer"] == issuer.url.as_str(),
        "discovery names another issuer"
    );
    ensure!(
        jwks.keys.len() == 1 && jwks.keys[0].kid.as_deref() == Some(issuer.key.kid().as_str()),
        "JWKS lacks the signing key"
    );
    out.say(&format!(
        "  GET {}: one {} key, kid {}",
        discovery["jwks_uri"].as_str().unwrap_or("?"),
        issuer.key.algorithm(),
        issuer.key.kid()
    ));

    let token = issuer.mint("demo", "app", Some("web-7d9f8c5b4-x2x7q"))?;
    let decoded = wif_jose::decode_unverified(&token)?;
    out.say("  the projected token kubelet would write to /var/run/secrets/azure/wi/token/azure-identity-token:");
    out.block(&format!(
        "{}...{}",
        &token[..40.min(token.len())],
        &token[token.len().saturating_sub(20)..]
    ));
    out.say("  decoded header and claims:");
    out.block(&serde_json::to_string_pretty(
        &serde_json::json!({ "header": decoded.header, "claims": decoded.claims }),
    )?);

    let validation = wif_jose::Validation {
        issuer: Some(issuer.url.clone()),
        audience: Some(contract::DEFAULT_AUDIENCE.into()),
        subject: Some(contract::service_account_subject("demo", "app")),
        ..wif_jose::Validation::default()
    };
    let verified = wif_jose::verify(&token, &jwks, &validation, wif_core::clock::unix_now())?;
    out.say(&format!(
        "  verified with the fetched JWKS ({}): iss, sub and aud are what a federated identity credential must name",
        verified.algorithm
    ));
    context.projected_token = Some(token);
    context.issuer = Some(issuer);
    Ok(())
}

fn webhook_step(out: &Printer, context: &mut DemoContext) -> Result<()> {
    let manifests = sample_manifests();
    let accounts = wif_webhook::StaticServiceAccounts::from_documents(&manifests[..1], "default")?;
    // The pod the ReplicaSet controller creates from the Deployment's template.
    let mut pod = manifests[1]["spec"]["template"].clone();
    pod["apiVersion"] = serde_json::json!("v1");
    pod["kind"] = serde_json::json!("Pod");
    pod["metadata"]["generateName"] = serde_json::json!("web-7d9f8c5b4-");
    pod["metadata"]["namespace"] = serde_json::json!("demo");
    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": { "uid": "b2b1a2f4-6d1e-4f0c-9a51-3b0f7f0c1d2e", "namespace": "demo", "operation": "CREATE",
                     "kind": { "group": "", "version": "v1", "kind": "Pod" }, "object": pod }
    });
    let answer = context
        .runtime
        .block_on(servers::ask_webhook(TENANT_A, accounts, &review))?;
    let response = &answer["response"];
    ensure!(
        response["allowed"] == true && response["uid"] == review["request"]["uid"],
        "unexpected answer: {response}"
    );
    ensure!(response["patchType"] == "JSONPatch", "no patch: {response}");
    let patch_bytes = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        response["patch"].as_str().unwrap_or_default(),
    )?;
    let operations: Vec<serde_json::Value> = serde_json::from_slice(&patch_bytes)?;
    let mut mutated = pod.clone();
    json_patch::patch(
        &mut mutated,
        &serde_json::from_slice::<json_patch::Patch>(&patch_bytes)?,
    )?;
    out.say(&format!(
        "  POST /mutate-v1-pod over TLS 1.3: allowed, {} JSON-Patch operations (base64 in response.patch):",
        operations.len()
    ));
    out.block(
        &operations
            .iter()
            .map(|op| {
                format!(
                    "{} {}",
                    op["op"].as_str().unwrap_or("?"),
                    op["path"].as_str().unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let env = |c: &serde_json::Value| -> Vec<String> {
        c["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str().map(str::to_owned))
            .collect()
    };
    let served = env(&mutated["spec"]["containers"][0]);
    let rendered: Vec<String> = {
        let mut names: Vec<String> = context.pod_env.keys().cloned().collect();
        names.sort();
        names
    };
    let mut served_sorted = served.clone();
    served_sorted.sort();
    ensure!(
        served_sorted == rendered,
        "the webhook and wif render disagree: {served:?} vs {rendered:?}"
    );
    out.say(&format!(
        "  the pod gets the same variables as with wif render, and volume {} (hashed from the pod's generateName, as upstream)",
        mutated["spec"]["volumes"][0]["name"].as_str().unwrap_or("?")
    ));
    Ok(())
}
