//! The fix for each warning and denial the webhook's planner gives, with the exact key or
//! value to use, for the doctor's findings.

use crate::contract;
use crate::rules::Rule;

/// The fix for an admission warning, from its rule and words.
pub(super) fn fix_of_advice(rule: Rule, message: &str) -> String {
    match rule {
        Rule::AnnotationTypo => match message.split("did you mean ").nth(1) {
            Some(known) => format!("rename the annotation to {}", known.trim_end_matches('?')),
            None => "rename the annotation".into(),
        },
        Rule::AnnotationWrongObject => "move the annotation to the object named in the message".into(),
        Rule::AnnotationUnknown => {
            "remove the annotation, or use one the webhook reads (docs/compatibility.md lists them)".into()
        }
        Rule::LabelAsAnnotation => format!(
            "make {} a label of the pod template, not an annotation",
            contract::LABEL_USE
        ),
        Rule::ClientIdMissing => format!(
            "annotate the ServiceAccount with {}: <the client id of the application or managed identity>",
            contract::ANNOTATION_CLIENT_ID
        ),
        Rule::ClientIdNotGuid => {
            "use the application's or managed identity's client id, a GUID (az identity show --query clientId)".into()
        }
        Rule::TenantIdInvalid => "use the tenant's id, a GUID (az account show --query tenantId), or its domain".into(),
        Rule::ProxyAnnotationFalse => format!(
            "remove the annotation {} to go without the proxy",
            contract::ANNOTATION_INJECT_PROXY_SIDECAR
        ),
        Rule::MountConflict => format!(
            "mount nothing else at the token's path, or list the container in {}",
            contract::ANNOTATION_SKIP_CONTAINERS
        ),
        Rule::TokenExpiration => format!(
            "set {} to a number of seconds from {} to {}",
            contract::ANNOTATION_TOKEN_EXPIRATION,
            contract::MIN_TOKEN_EXPIRATION,
            contract::MAX_TOKEN_EXPIRATION
        ),
        Rule::ProxyPort => format!(
            "set {} to a port from 1 to 65535",
            contract::ANNOTATION_PROXY_SIDECAR_PORT
        ),
        Rule::ProxyHostNetwork => {
            "run the pod without hostNetwork, or without the proxy (point the SDK at the token file instead)".into()
        }
        Rule::ProxyWindows => {
            "remove the proxy annotation from the Windows pod; use an SDK that reads the token file".into()
        }
        Rule::LabelValue | Rule::LabelNotString => format!(
            "set the pod template's label {}: \"true\" (the string, lower case)",
            contract::LABEL_USE
        ),
        Rule::LabelTypo => format!("rename the label to {}", contract::LABEL_USE),
        Rule::LabelOnWorkload => format!(
            "move the label {}: \"true\" to the pod template (spec.template.metadata.labels)",
            contract::LABEL_USE
        ),
        _ => "see the message".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_rules_name_the_exact_label() {
        for rule in [
            Rule::LabelValue,
            Rule::LabelNotString,
            Rule::LabelTypo,
            Rule::LabelOnWorkload,
        ] {
            let fix = fix_of_advice(rule, "");
            assert!(fix.contains(contract::LABEL_USE), "{}: {fix}", rule.id());
        }
        assert_eq!(
            fix_of_advice(Rule::LabelValue, ""),
            "set the pod template's label azure.workload.identity/use: \"true\" (the string, lower case)"
        );
    }
}
