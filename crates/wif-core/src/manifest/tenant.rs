//! The default tenant a render needs, and only when it needs one: a pod template that is
//! mutated injects `AZURE_TENANT_ID`, its ServiceAccount's `azure.workload.identity/tenant-id`
//! else the webhook's default. A render without a default records each mutated template whose
//! account names no tenant ([`TenantNeeded`]) instead of mutating it, and
//! [`tenant_required`] says which accounts, which templates, and the flags. Pure.

use std::collections::BTreeMap;

use super::opt_in::and_list;
use crate::contract;

/// A pod template that would be mutated, run as a ServiceAccount that names no tenant, in a
/// render without a default tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantNeeded {
    /// The ServiceAccount, `namespace/name`.
    pub service_account: String,
    /// Whether the account is in the input (`false`: mutated as if it had no annotations,
    /// `--allow-missing-service-accounts`).
    pub in_input: bool,
    /// The object that holds the template: `Deployment payments/api`.
    pub object: String,
    /// Its document (0-based).
    pub document: usize,
}

/// Whether a ServiceAccount's annotations name its tenant; an empty value names none, as the
/// webhook reads it (the mutation's tenant rule).
pub fn names_tenant(annotations: &BTreeMap<String, String>) -> bool {
    annotations
        .get(contract::ANNOTATION_TENANT_ID)
        .is_some_and(|tenant| !tenant.is_empty())
}

/// Why the render needs a default tenant, naming each ServiceAccount without a tenant and the
/// pod templates that run as it, and how to give one; `None` when none is needed.
pub fn tenant_required(needed: &[TenantNeeded]) -> Option<String> {
    let mut accounts: BTreeMap<&str, (bool, Vec<String>)> = BTreeMap::new();
    for need in needed {
        let (in_input, templates) = accounts
            .entry(&need.service_account)
            .or_insert((need.in_input, Vec::new()));
        *in_input &= need.in_input;
        templates.push(format!("{} (document {})", need.object, need.document + 1));
    }
    let each: Vec<String> = accounts
        .iter()
        .map(|(account, (in_input, templates))| {
            let absent = if *in_input { "" } else { " (not in the input)" };
            let (template, runs) = if templates.len() == 1 {
                ("the pod template", "runs")
            } else {
                ("the pod templates", "run")
            };
            format!(
                "ServiceAccount {account}{absent} has no {} annotation, and {template} of {} {runs} as it",
                contract::ANNOTATION_TENANT_ID,
                and_list(templates)
            )
        })
        .collect();
    let annotate = match each.len() {
        0 => return None,
        1 => "the ServiceAccount",
        _ => "each ServiceAccount",
    };
    Some(format!(
        "a default tenant is required: {}: pass --tenant-id or set AZURE_TENANT_ID (the tenant for ServiceAccounts without the annotation), or annotate {annotate}",
        each.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(account: &str, object: &str, document: usize) -> TenantNeeded {
        TenantNeeded {
            service_account: account.into(),
            in_input: true,
            object: object.into(),
            document,
        }
    }

    #[test]
    fn each_account_is_named_once_with_its_templates() {
        assert_eq!(tenant_required(&[]), None);
        assert_eq!(
            tenant_required(&[need("a/x", "Deployment a/web", 1)]).unwrap(),
            "a default tenant is required: ServiceAccount a/x has no azure.workload.identity/tenant-id annotation, and the pod template of Deployment a/web (document 2) runs as it: pass --tenant-id or set AZURE_TENANT_ID (the tenant for ServiceAccounts without the annotation), or annotate the ServiceAccount"
        );
        let mut missing = need("b/y", "Pod b/p", 3);
        missing.in_input = false;
        assert_eq!(
            tenant_required(&[need("a/x", "Deployment a/web", 1), missing, need("a/x", "Job a/j", 2)]).unwrap(),
            "a default tenant is required: ServiceAccount a/x has no azure.workload.identity/tenant-id annotation, and the pod templates of Deployment a/web (document 2) and Job a/j (document 3) run as it; ServiceAccount b/y (not in the input) has no azure.workload.identity/tenant-id annotation, and the pod template of Pod b/p (document 4) runs as it: pass --tenant-id or set AZURE_TENANT_ID (the tenant for ServiceAccounts without the annotation), or annotate each ServiceAccount"
        );
    }

    #[test]
    fn an_empty_tenant_names_none() {
        let annotations = |value: &str| BTreeMap::from([(contract::ANNOTATION_TENANT_ID.to_owned(), value.to_owned())]);
        assert!(names_tenant(&annotations("aaaaaaaa-0000-4000-8000-00000000000a")));
        assert!(!names_tenant(&annotations("")));
        assert!(!names_tenant(&BTreeMap::new()));
    }
}
