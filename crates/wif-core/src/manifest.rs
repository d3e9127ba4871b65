//! Manifest walking for offline rendering: finds the pod templates of workload objects
//! (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
//! CronJob, PodTemplate, and `List` items), applies the mutation planner to those labelled
//! `azure.workload.identity/use: "true"`, using the ServiceAccounts found in the input, and
//! warns about opt-ins that miss ([`crate::mutation::opt_in_advice`] for a pod template's own
//! labels, [`misplaced_labels`] for the label left on a ServiceAccount). Without a default
//! tenant, a template whose ServiceAccount names none is recorded, not mutated ([`tenant`]).
//! Documents are `serde_json::Value`s; reading and writing YAML is the caller's business.

mod accounts;
mod object;
mod opt_in;
pub mod tenant;

use std::collections::BTreeMap;

use serde_json::Value;

pub use accounts::ServiceAccountIndex;
use object::kind_of;
pub use object::{RenderError, namespace_and_name, pod_template_path};
pub use opt_in::{
    MisplacedLabel, PodTemplateUse, ServiceAccountUsers, and_list, is_opted_in, misplaced_labels, service_account_name,
    templates_at,
};

use crate::mutation::{Denial, MutationRequest, PodView, ServiceAccountInfo, plan_mutation};
use crate::settings::WebhookSettings;

/// Options of a render run.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Namespace of objects that name none (kubectl's current namespace).
    pub default_namespace: String,
    /// Mutate pods whose ServiceAccount is not in the input, as if it had no annotations.
    pub allow_missing_service_accounts: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            default_namespace: "default".into(),
            allow_missing_service_accounts: false,
        }
    }
}

/// Something worth telling about one object; the run goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Index of the document (0-based).
    pub document: usize,
    /// `Kind namespace/name`.
    pub object: String,
    /// What kind of finding.
    pub severity: Severity,
    /// The text.
    pub message: String,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The webhook would admit the pod with this warning.
    Warning,
    /// The webhook would deny the pod: the render fails.
    Denial,
    /// The pod's ServiceAccount is not in the input: the render fails unless allowed.
    MissingServiceAccount,
}

/// The result of rendering a stream.
#[derive(Debug, Clone, Default)]
pub struct RenderOutcome {
    /// Per input document: the mutated document, or `None` when it is unchanged.
    pub documents: Vec<Option<Value>>,
    /// Warnings, denials and missing ServiceAccounts, in document order.
    pub findings: Vec<Finding>,
    /// How many pod templates were mutated.
    pub mutated_templates: usize,
    /// How many pod templates the input holds.
    pub pod_templates: usize,
    /// Pod templates left unmutated for want of a tenant: the settings have no default and
    /// their ServiceAccount names none ([`tenant::tenant_required`] says it).
    pub tenant_needed: Vec<tenant::TenantNeeded>,
}

impl RenderOutcome {
    /// Whether any finding must fail the run, or a template waits for a tenant.
    pub fn has_errors(&self, options: &RenderOptions) -> bool {
        !self.tenant_needed.is_empty()
            || self.findings.iter().any(|f| match f.severity {
                Severity::Warning => false,
                Severity::Denial => true,
                Severity::MissingServiceAccount => !options.allow_missing_service_accounts,
            })
    }
}

/// Renders every document.
pub fn render_documents(
    documents: &[Value],
    accounts: &ServiceAccountIndex,
    settings: &WebhookSettings,
    options: &RenderOptions,
) -> Result<RenderOutcome, RenderError> {
    let mut outcome = RenderOutcome::default();
    let users = ServiceAccountUsers::from_documents(documents, &options.default_namespace);
    for (i, doc) in documents.iter().enumerate() {
        if doc.is_null() {
            outcome.documents.push(None);
            continue;
        }
        let mut copy = doc.clone();
        let changed = render_object(i, &mut copy, accounts, settings, options, &mut outcome)?;
        outcome.documents.push(changed.then_some(copy));
        outcome.findings.extend(
            misplaced_labels(doc, &options.default_namespace, &users)
                .into_iter()
                .map(|misplaced| Finding {
                    document: i,
                    object: format!("ServiceAccount {}", misplaced.service_account),
                    severity: Severity::Warning,
                    message: misplaced.advice.message,
                }),
        );
    }
    Ok(outcome)
}

fn render_object(
    document: usize,
    object: &mut Value,
    accounts: &ServiceAccountIndex,
    settings: &WebhookSettings,
    options: &RenderOptions,
    outcome: &mut RenderOutcome,
) -> Result<bool, RenderError> {
    let kind = kind_of(document, object)?.to_owned();
    if kind == "List" {
        let mut changed = false;
        if let Some(items) = object.get_mut("items").and_then(Value::as_array_mut) {
            for item in items {
                changed |= render_object(document, item, accounts, settings, options, outcome)?;
            }
        }
        return Ok(changed);
    }
    let Some(path) = pod_template_path(&kind) else {
        return Ok(false);
    };
    let (namespace, name) = namespace_and_name(object, &options.default_namespace);
    let object_ref = format!("{kind} {namespace}/{name}");
    let error = |message: String| RenderError {
        document,
        object: object_ref.clone(),
        message,
    };

    // A label on the workload's own metadata (not its template) is read before the template is
    // borrowed for mutation.
    let workload_labels = if kind == "Pod" {
        None
    } else {
        object
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .cloned()
    };
    let mut template = &mut *object;
    for (depth, token) in path.iter().enumerate() {
        template = template
            .get_mut(*token)
            .filter(|v| !v.is_null())
            .ok_or_else(|| error(format!("{} is missing", path[..=depth].join("."))))?;
    }
    if !template.is_object() {
        return Err(error(format!(
            "the pod template ({}) must be a map",
            if path.is_empty() { "the object" } else { "spec.template" }
        )));
    }
    outcome.pod_templates += 1;
    let metadata = template.get("metadata");
    let advice = crate::mutation::opt_in_advice(
        workload_labels.as_ref(),
        metadata.and_then(|m| m.get("labels")).and_then(Value::as_object),
        metadata.and_then(|m| m.get("annotations")).and_then(Value::as_object),
    );
    if !is_opted_in(template) {
        outcome.findings.extend(advice.into_iter().map(|a| Finding {
            document,
            object: object_ref.clone(),
            severity: Severity::Warning,
            message: a.message,
        }));
        return Ok(false);
    }

    let pod = match PodView::from_value(template) {
        Ok(pod) => pod,
        Err(denial) => return Ok(denied(outcome, document, object_ref, denial)),
    };
    let sa_name = pod.service_account_name().to_owned();
    let missing;
    let (account, in_input) = match accounts.get(&namespace, &sa_name) {
        Some(account) => (account, true),
        None => {
            outcome.findings.push(Finding {
                document,
                object: object_ref.clone(),
                severity: Severity::MissingServiceAccount,
                message: format!(
                    "ServiceAccount {namespace}/{sa_name} is not in the input{} (add it to the stream or pass --service-accounts{})",
                    accounts
                        .closest(&namespace, &sa_name)
                        .map(|close| format!("; did you mean {close}?"))
                        .unwrap_or_default(),
                    if options.allow_missing_service_accounts { "; mutated as if it had no annotations" } else { ", or allow it with --allow-missing-service-accounts" }
                ),
            });
            if !options.allow_missing_service_accounts {
                return Ok(false);
            }
            missing = ServiceAccountInfo {
                namespace: namespace.clone(),
                name: sa_name,
                annotations: BTreeMap::new(),
            };
            (&missing, false)
        }
    };
    let hint = format!("{name}- (prefix)");
    let request = MutationRequest {
        pod: &pod,
        namespace: &namespace,
        service_account: account,
        pod_name_hint: (kind != "Pod").then_some(hint.as_str()),
    };
    let plan = match plan_mutation(&request, settings) {
        Ok(plan) => plan,
        Err(denial) => return Ok(denied(outcome, document, object_ref, denial)),
    };
    outcome.findings.extend(plan.warnings.iter().map(|w| Finding {
        document,
        object: object_ref.clone(),
        severity: Severity::Warning,
        message: w.message.clone(),
    }));
    if plan.operations.is_empty() {
        return Ok(false);
    }
    if settings.default_tenant_id.is_empty() && !tenant::names_tenant(&account.annotations) {
        // AZURE_TENANT_ID would be empty: the caller asks for a default tenant, naming these.
        outcome.tenant_needed.push(tenant::TenantNeeded {
            service_account: account.reference(),
            in_input,
            object: object_ref,
            document,
        });
        return Ok(false);
    }
    json_patch::patch(template, &plan.operations)
        .map_err(|e| error(format!("internal error: the mutation did not apply: {e}")))?;
    outcome.mutated_templates += 1;
    Ok(true)
}

/// Records a pod the webhook would refuse; it is left unmutated (returns `false`).
fn denied(outcome: &mut RenderOutcome, document: usize, object: String, denial: Denial) -> bool {
    outcome.findings.push(Finding {
        document,
        object,
        severity: Severity::Denial,
        message: denial.message,
    });
    false
}

#[cfg(test)]
mod tests;
