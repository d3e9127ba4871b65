//! The fix for each warning and denial the webhook's planner gives (and for the doctor's own
//! label and skip-containers rules), with the exact key or value to use and where it goes:
//! which object ([`Place`]) and which field of it (`spec.template.metadata.annotations`).
//! Which object a finding is about is [`super::workloads`]'s and [`super::refusals`]'s call.

use crate::contract;
use crate::manifest::{PodTemplateUse, templates_at};
use crate::rules::Rule;

/// The object whose annotations or labels a fix changes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Place<'a> {
    /// A ServiceAccount (`namespace/name`), with the pod templates that run as it.
    ServiceAccount {
        /// `namespace/name`.
        reference: &'a str,
        /// The pod templates that run as it.
        users: &'a [PodTemplateUse],
    },
    /// A workload's pod template, with the ServiceAccount it runs as (`namespace/name`).
    PodTemplate {
        /// The template.
        template: &'a PodTemplateUse,
        /// Its ServiceAccount, `namespace/name`.
        service_account: &'a str,
    },
}

impl Place<'_> {
    /// `ServiceAccount ns/sa (metadata.annotations)` or
    /// `the pod template of Deployment ns/web (spec.template.metadata.annotations)`.
    pub(super) fn at(&self, field: &str) -> String {
        match self {
            Place::ServiceAccount { reference, .. } => format!("ServiceAccount {reference} ({field})"),
            Place::PodTemplate { template, .. } => format!("the pod template of {}", template.at(field)),
        }
    }

    fn service_account(&self) -> &str {
        match self {
            Place::ServiceAccount { reference, .. } => reference,
            Place::PodTemplate { service_account, .. } => service_account,
        }
    }

    /// Where a key read from the other object belongs.
    fn other_at(&self, field: &str) -> String {
        match self {
            Place::ServiceAccount { users, .. } => templates_at(users, field)
                .unwrap_or_else(|| format!("the pod template of each workload that runs as it (its {field})")),
            Place::PodTemplate { service_account, .. } => format!("ServiceAccount {service_account} ({field})"),
        }
    }
}

/// The first `"quoted"` text of `message` after `before`, quotes kept; empty when absent.
fn quoted_after<'m>(message: &'m str, before: &str) -> &'m str {
    let Some(rest) = message.split_once(before).map(|(_, rest)| rest) else {
        return "";
    };
    if !rest.starts_with('"') {
        return "";
    }
    // The key is Rust-debug-quoted: it ends at the next quote not escaped.
    let end = rest[1..]
        .char_indices()
        .scan(false, |escaped, (i, c)| {
            let close = c == '"' && !*escaped;
            *escaped = c == '\\' && !*escaped;
            Some((i, close))
        })
        .find(|(_, close)| *close)
        .map_or(rest.len(), |(i, _)| i + 2);
    &rest[..end]
}

/// The fix for an admission warning or denial (or the doctor's own label and skip-containers
/// rules), from its rule and words, said for `place`.
pub(super) fn fix_of_advice(rule: Rule, message: &str, place: &Place<'_>) -> String {
    let annotations = place.at("metadata.annotations");
    let labels = place.at("metadata.labels");
    let label = format!("{}: \"{}\"", contract::LABEL_USE, contract::LABEL_USE_VALUE);
    let key = quoted_after(message, "annotation ");
    let sa = place.service_account();
    match rule {
        Rule::AnnotationTypo => match message.split("did you mean ").nth(1) {
            Some(known) => format!(
                "rename annotation {key} of {annotations} to {}",
                known.trim_end_matches('?')
            ),
            None => format!("rename annotation {key} of {annotations}"),
        },
        Rule::AnnotationWrongObject => format!(
            "move annotation {key} from {annotations} to {}",
            place.other_at("metadata.annotations")
        ),
        Rule::AnnotationUnknown => format!(
            "remove annotation {key} from {annotations}, or use one the webhook reads (docs/compatibility.md lists them)"
        ),
        Rule::LabelAsAnnotation => format!(
            "make {} a label, not an annotation: remove it from {annotations} and add {label} to {}",
            contract::LABEL_USE,
            place.at("metadata.labels")
        ),
        Rule::ClientIdMissing => format!(
            "annotate ServiceAccount {sa} (metadata.annotations) with {}: <the client id of the application or managed identity>",
            contract::ANNOTATION_CLIENT_ID
        ),
        Rule::ClientIdNotGuid => format!(
            "set {} of ServiceAccount {sa} (metadata.annotations) to the application's or managed identity's client id, a GUID (az identity show --query clientId)",
            contract::ANNOTATION_CLIENT_ID
        ),
        Rule::TenantIdInvalid => format!(
            "set {} of ServiceAccount {sa} (metadata.annotations) to the tenant's id, a GUID (az account show --query tenantId), or its domain",
            contract::ANNOTATION_TENANT_ID
        ),
        Rule::NamedIdentityInvalid => format!(
            "correct the identity's wif.dev/ annotations of ServiceAccount {sa} (metadata.annotations) as the message says"
        ),
        Rule::ProxyAnnotationFalse => format!(
            "remove the annotation {} from {annotations} to go without the proxy",
            contract::ANNOTATION_INJECT_PROXY_SIDECAR
        ),
        Rule::MountConflict => format!(
            "mount nothing else at the token's path in that container, or list the container in the annotation {} of {annotations}",
            contract::ANNOTATION_SKIP_CONTAINERS
        ),
        Rule::SkipContainersUnknown => format!(
            "in the annotation {} of {annotations}, name only containers the pod has, exactly as in the pod spec, separated by ';'",
            contract::ANNOTATION_SKIP_CONTAINERS
        ),
        Rule::TokenExpiration => {
            let fallback = match place {
                Place::ServiceAccount { .. } => format!("the default, {}", contract::DEFAULT_TOKEN_EXPIRATION),
                Place::PodTemplate { .. } => format!(
                    "ServiceAccount {sa}'s value, else {}",
                    contract::DEFAULT_TOKEN_EXPIRATION
                ),
            };
            format!(
                "set the annotation {} of {annotations} to a number of seconds from {} to {}, or remove it ({fallback}, applies)",
                contract::ANNOTATION_TOKEN_EXPIRATION,
                contract::MIN_TOKEN_EXPIRATION,
                contract::MAX_TOKEN_EXPIRATION
            )
        }
        Rule::ProxyPort => format!(
            "set the annotation {} of {annotations} to a port from 1 to 65535",
            contract::ANNOTATION_PROXY_SIDECAR_PORT
        ),
        Rule::ProxyHostNetwork => format!(
            "remove hostNetwork: true from {}, or the annotation {} from {annotations} to go without the proxy (point the SDK at the token file instead)",
            place.at("spec.hostNetwork"),
            contract::ANNOTATION_INJECT_PROXY_SIDECAR
        ),
        Rule::ProxyWindows => format!(
            "remove the annotation {} from {annotations} (the proxy is Linux-only); use an SDK that reads the token file",
            contract::ANNOTATION_INJECT_PROXY_SIDECAR
        ),
        Rule::InvalidPod => format!("correct {} as the message says", place.at("spec")),
        Rule::LabelMissing => format!("add {label} to {labels}"),
        Rule::LabelValue | Rule::LabelNotString => {
            format!("set the label {label} (the string, lower case) in {labels}")
        }
        Rule::LabelTypo => format!(
            "rename the label {} of {labels} to {}",
            quoted_after(message, "label "),
            contract::LABEL_USE
        ),
        Rule::LabelOnWorkload => match place {
            Place::PodTemplate { template, .. } => format!(
                "move the label {label} from {}'s own metadata.labels to {labels}",
                template.object
            ),
            Place::ServiceAccount { .. } => format!("move the label {label} to {labels}"),
        },
        _ => "see the message".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cronjob() -> PodTemplateUse {
        PodTemplateUse {
            object: "CronJob ns/report".into(),
            template_path: "spec.jobTemplate.spec.template".into(),
            labelled: false,
        }
    }

    #[test]
    fn label_rules_name_the_exact_label_and_field() {
        let template = cronjob();
        let place = Place::PodTemplate {
            template: &template,
            service_account: "ns/sa",
        };
        assert_eq!(
            fix_of_advice(Rule::LabelValue, "", &place),
            "set the label azure.workload.identity/use: \"true\" (the string, lower case) in the pod template of CronJob ns/report (spec.jobTemplate.spec.template.metadata.labels)"
        );
        assert_eq!(
            fix_of_advice(Rule::LabelOnWorkload, "", &place),
            "move the label azure.workload.identity/use: \"true\" from CronJob ns/report's own metadata.labels to the pod template of CronJob ns/report (spec.jobTemplate.spec.template.metadata.labels)"
        );
        assert_eq!(
            fix_of_advice(
                Rule::LabelTypo,
                "label \"azure.workload.identity/used\" is not \"azure.workload.identity/use\", which the webhook matches",
                &place
            ),
            "rename the label \"azure.workload.identity/used\" of the pod template of CronJob ns/report (spec.jobTemplate.spec.template.metadata.labels) to azure.workload.identity/use"
        );
    }

    #[test]
    fn annotation_rules_say_which_object_and_field() {
        let template = cronjob();
        let users = [template.clone()];
        let on_sa = Place::ServiceAccount {
            reference: "ns/sa",
            users: &users,
        };
        assert_eq!(
            fix_of_advice(
                Rule::AnnotationWrongObject,
                "ServiceAccount ns/sa: annotation \"azure.workload.identity/skip-containers\" is read from the pod, not the ServiceAccount; it has no effect here",
                &on_sa
            ),
            "move annotation \"azure.workload.identity/skip-containers\" from ServiceAccount ns/sa (metadata.annotations) to the pod template of CronJob ns/report (spec.jobTemplate.spec.template.metadata.annotations)"
        );
        let on_pod = Place::PodTemplate {
            template: &template,
            service_account: "ns/sa",
        };
        assert_eq!(
            fix_of_advice(
                Rule::AnnotationWrongObject,
                "pod ns/report- (prefix): annotation \"azure.workload.identity/client-id\" is read from the ServiceAccount, not the pod; it has no effect here",
                &on_pod
            ),
            "move annotation \"azure.workload.identity/client-id\" from the pod template of CronJob ns/report (spec.jobTemplate.spec.template.metadata.annotations) to ServiceAccount ns/sa (metadata.annotations)"
        );
        let unused = Place::ServiceAccount {
            reference: "ns/sa",
            users: &[],
        };
        assert_eq!(
            fix_of_advice(
                Rule::AnnotationTypo,
                "ServiceAccount ns/sa: annotation \"azure.workload.identity/client_id\" is not read by the webhook; did you mean \"azure.workload.identity/client-id\"?",
                &unused
            ),
            "rename annotation \"azure.workload.identity/client_id\" of ServiceAccount ns/sa (metadata.annotations) to \"azure.workload.identity/client-id\""
        );
        assert_eq!(
            fix_of_advice(Rule::AnnotationWrongObject, "annotation \"k\" is read", &unused),
            "move annotation \"k\" from ServiceAccount ns/sa (metadata.annotations) to the pod template of each workload that runs as it (its metadata.annotations)"
        );
        assert_eq!(
            fix_of_advice(Rule::ProxyPort, "", &on_pod),
            "set the annotation azure.workload.identity/proxy-sidecar-port of the pod template of CronJob ns/report (spec.jobTemplate.spec.template.metadata.annotations) to a port from 1 to 65535"
        );
    }

    #[test]
    fn quoted_keys() {
        assert_eq!(quoted_after(r#"x: annotation "a\"b" is"#, "annotation "), r#""a\"b""#);
        assert_eq!(quoted_after("annotation \"open", "annotation "), "\"open");
        assert_eq!(quoted_after("no key here", "annotation "), "");
        assert_eq!(quoted_after("annotation unquoted", "annotation "), "");
    }
}
