//! The webhook's refusals of a workload's pods as findings about the object that carries the
//! refused value. A token expiration is read from the pod's annotations, else from the
//! ServiceAccount's (upstream: pod wins, an empty pod value falls through, 3600..=86400), so a
//! bad value on the ServiceAccount is a finding about the ServiceAccount that names the
//! workload it breaks; every other refusal (proxy port, hostNetwork, Windows, an unreadable
//! pod) comes from the pod template, so it is about the workload. Which rule the webhook
//! breaks is the planner's; this module only says where.

use std::collections::BTreeMap;

use super::fixes::{Place, fix_of_advice};
use super::input::{Finding, ObjectRef};
use crate::contract;
use crate::manifest::PodTemplateUse;
use crate::mutation::Denial;
use crate::rules::Rule;

/// What a refusal is judged against: the workload, its pod template's annotations, and the
/// ServiceAccount it runs as with the pod templates that run as that account.
#[derive(Debug)]
pub(super) struct Refused<'a> {
    /// The workload.
    pub workload: &'a ObjectRef,
    /// Its pod template.
    pub template: &'a PodTemplateUse,
    /// The pod template's annotations.
    pub annotations: &'a BTreeMap<&'a str, &'a str>,
    /// The ServiceAccount.
    pub account: &'a ObjectRef,
    /// Its annotations.
    pub account_annotations: &'a BTreeMap<String, String>,
    /// The pod templates that run as it.
    pub users: &'a [PodTemplateUse],
}

/// The finding for `denial` of the workload's pods.
pub(super) fn refusal(denial: Denial, refused: &Refused<'_>) -> Finding {
    let sa = format!("{}/{}", refused.account.namespace, refused.account.name);
    let on_template = Place::PodTemplate {
        template: refused.template,
        service_account: &sa,
    };
    let key = contract::ANNOTATION_TOKEN_EXPIRATION;
    let from_pod = refused.annotations.get(key).copied().filter(|v| !v.is_empty());
    if denial.rule != Rule::TokenExpiration {
        return Finding {
            rule: denial.rule,
            object: refused.workload.clone(),
            fix: fix_of_advice(denial.rule, &denial.message, &on_template),
            message: format!("the webhook refuses the pod: {}", denial.message),
        };
    }
    if let Some(value) = from_pod {
        return Finding {
            rule: denial.rule,
            object: refused.workload.clone(),
            fix: fix_of_advice(denial.rule, &denial.message, &on_template),
            message: format!(
                "the webhook refuses the pod: {}; the value comes from annotation {key}: {value:?} of {}",
                denial.message,
                on_template.at("metadata.annotations")
            ),
        };
    }
    let on_account = Place::ServiceAccount {
        reference: &sa,
        users: refused.users,
    };
    let value = refused
        .account_annotations
        .get(key)
        .map(String::as_str)
        .unwrap_or_default();
    Finding {
        rule: denial.rule,
        object: refused.account.clone(),
        fix: fix_of_advice(denial.rule, &denial.message, &on_account),
        message: format!(
            "the webhook refuses the pods of {}: {}; the value comes from annotation {key}: {value:?} of this ServiceAccount, as the pod template sets none",
            refused.workload, denial.message
        ),
    }
}
