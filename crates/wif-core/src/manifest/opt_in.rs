//! The opt-in read across a whole manifest set: which pod templates run as which
//! ServiceAccount, and the advice for the label `azure.workload.identity/use` put on a
//! ServiceAccount (the opt-in before v1.0, read from pods only since): it names the pod
//! templates that run as that account and says the label belongs on them, with the field.
//! The doctor's `label-on-service-account` finding and `wif render`'s warning are both this
//! advice. Pure. What one pod template's own labels suggest is
//! [`crate::mutation::opt_in_advice`], not this module's.

use std::collections::BTreeMap;

use serde_json::Value;

use super::object::{namespace_and_name, pod_template_path};
use crate::contract;
use crate::rules::{Advice, Rule};

/// A pod template and how it opts in, as the advice names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodTemplateUse {
    /// The object that holds it: `Deployment payments/web`.
    pub object: String,
    /// Where the template sits in that object: `spec.template`, empty for a Pod.
    pub template_path: String,
    /// Whether it carries `azure.workload.identity/use: "true"`.
    pub labelled: bool,
}

impl PodTemplateUse {
    /// The path of one of the template's fields in its object: `spec.template.metadata.labels`.
    pub fn field(&self, field: &str) -> String {
        if self.template_path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.template_path)
        }
    }

    /// `Deployment payments/web (spec.template.metadata.labels)`.
    pub fn at(&self, field: &str) -> String {
        format!("{} ({})", self.object, self.field(field))
    }
}

/// The ServiceAccount a pod template runs as: `spec.serviceAccountName`, else the deprecated
/// `spec.serviceAccount` (the API server copies it into the former), else `default`. The same
/// rule as [`crate::mutation::PodView::service_account_name`], on a template not yet parsed.
pub fn service_account_name(template: &Value) -> &str {
    let spec = template.get("spec");
    ["serviceAccountName", "serviceAccount"]
        .iter()
        .filter_map(|key| spec.and_then(|s| s.get(*key)).and_then(Value::as_str))
        .find(|name| !name.is_empty())
        .unwrap_or("default")
}

/// Whether a pod template's metadata opts in: `azure.workload.identity/use: "true"` exactly.
pub fn is_opted_in(template: &Value) -> bool {
    template
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.get(contract::LABEL_USE))
        .and_then(Value::as_str)
        == Some(contract::LABEL_USE_VALUE)
}

/// An object and the items of a `List`, flattened.
fn flatten<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    if value.get("kind").and_then(Value::as_str) == Some("List") {
        for item in value.get("items").and_then(Value::as_array).into_iter().flatten() {
            flatten(item, out);
        }
    } else {
        out.push(value);
    }
}

/// The pod templates of a manifest set by the ServiceAccount they run as.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountUsers {
    users: BTreeMap<(String, String), Vec<PodTemplateUse>>,
}

impl ServiceAccountUsers {
    /// Every pod template of `documents` (`List` items included), in input order.
    pub fn from_documents<'a>(documents: impl IntoIterator<Item = &'a Value>, default_namespace: &str) -> Self {
        let mut objects = Vec::new();
        for document in documents {
            flatten(document, &mut objects);
        }
        let mut users: BTreeMap<(String, String), Vec<PodTemplateUse>> = BTreeMap::new();
        for object in objects {
            let Some(kind) = object.get("kind").and_then(Value::as_str) else {
                continue;
            };
            let Some(path) = pod_template_path(kind) else {
                continue;
            };
            let Some(template) = path.iter().try_fold(object, |v, token| v.get(*token)) else {
                continue;
            };
            let (namespace, name) = namespace_and_name(object, default_namespace);
            let account = service_account_name(template).to_owned();
            users
                .entry((namespace.clone(), account))
                .or_default()
                .push(PodTemplateUse {
                    object: format!("{kind} {namespace}/{name}"),
                    template_path: path.join("."),
                    labelled: is_opted_in(template),
                });
        }
        ServiceAccountUsers { users }
    }

    /// The pod templates that run as `namespace/name`.
    pub fn of(&self, namespace: &str, name: &str) -> &[PodTemplateUse] {
        self.users
            .get(&(namespace.to_owned(), name.to_owned()))
            .map_or(&[], Vec::as_slice)
    }
}

/// The label `azure.workload.identity/use` found on a ServiceAccount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MisplacedLabel {
    /// The ServiceAccount, `namespace/name`.
    pub service_account: String,
    /// What is wrong, naming the pod templates that run as the account (rule
    /// `label-on-service-account`); `wif render` prints it, the doctor's finding says it.
    pub advice: Advice,
    /// What to do, with the fields to change, for the doctor's finding.
    pub fix: String,
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The advice for each ServiceAccount of `document` (`List` items included) that carries the
/// label `azure.workload.identity/use`, whatever its value: the webhook reads it from pods
/// only, so it names the pod templates among `users` that run as the account.
pub fn misplaced_labels(document: &Value, default_namespace: &str, users: &ServiceAccountUsers) -> Vec<MisplacedLabel> {
    let mut objects = Vec::new();
    flatten(document, &mut objects);
    objects
        .into_iter()
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some("ServiceAccount"))
        .filter(|o| {
            o.get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get(contract::LABEL_USE))
                .is_some()
        })
        .map(|account| {
            let (namespace, name) = namespace_and_name(account, default_namespace);
            misplaced_label(&format!("{namespace}/{name}"), users.of(&namespace, &name))
        })
        .collect()
}

/// `the pod template of A (F)` or `the pod templates of A (F) and B (F)`, with each one's
/// path to `field`; `None` for no template.
pub fn templates_at(users: &[PodTemplateUse], field: &str) -> Option<String> {
    let at: Vec<String> = users.iter().map(|u| u.at(field)).collect();
    match at.len() {
        0 => None,
        1 => Some(format!("the pod template of {}", and_list(&at))),
        _ => Some(format!("the pod templates of {}", and_list(&at))),
    }
}

/// The advice and fix for the label on ServiceAccount `service_account`, run as by `users`.
fn misplaced_label(service_account: &str, users: &[PodTemplateUse]) -> MisplacedLabel {
    let key = contract::LABEL_USE;
    let wanted = format!("{key}: \"{}\"", contract::LABEL_USE_VALUE);
    let (labelled, unlabelled): (Vec<PodTemplateUse>, Vec<PodTemplateUse>) =
        users.iter().cloned().partition(|u| u.labelled);
    let ignored = format!("the label {key} is on the ServiceAccount, and the webhook reads it from pods only");
    let (message, fix) = if let Some(templates) = templates_at(&unlabelled, "metadata.labels") {
        let (runs, is) = if unlabelled.len() == 1 {
            ("runs", "is")
        } else {
            ("run", "are")
        };
        (
            format!("{ignored}; it belongs on {templates}, which {runs} as this ServiceAccount and {is} not mutated"),
            format!(
                "add {wanted} to the labels of {templates}, and remove the label from ServiceAccount {service_account}"
            ),
        )
    } else if !labelled.is_empty() {
        let objects: Vec<String> = labelled.iter().map(|u| u.object.clone()).collect();
        let (templates, runs, carries) = if labelled.len() == 1 {
            ("the pod template of", "runs", "carries")
        } else {
            ("the pod templates of", "run", "carry")
        };
        (
            format!(
                "{ignored}; {templates} {}, which {runs} as this ServiceAccount, {carries} it already, so it has no effect here",
                and_list(&objects)
            ),
            format!("remove the label {key} from ServiceAccount {service_account}"),
        )
    } else {
        (
            format!(
                "{ignored}; it belongs on the pod template of each workload that runs as this ServiceAccount (none in the input)"
            ),
            format!(
                "remove the label from ServiceAccount {service_account}, and add {wanted} to the pod template's metadata.labels of each workload that runs as it"
            ),
        )
    };
    MisplacedLabel {
        service_account: service_account.to_owned(),
        advice: Advice::new(Rule::LabelOnServiceAccount, message),
        fix,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn account(labels: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "fed-sa", "namespace": "ns", "labels": labels}})
    }

    fn deployment(name: &str, labels: Value, spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "ns"},
               "spec": {"template": {"metadata": {"labels": labels}, "spec": spec}}})
    }

    #[test]
    fn the_service_account_of_a_template() {
        for (spec, expected) in [
            (json!({"serviceAccountName": "a"}), "a"),
            (json!({"serviceAccount": "b"}), "b"),
            (json!({"serviceAccountName": "", "serviceAccount": "b"}), "b"),
            (json!({"serviceAccountName": "a", "serviceAccount": "b"}), "a"),
            (json!({"serviceAccountName": 7}), "default"),
            (json!({}), "default"),
        ] {
            assert_eq!(service_account_name(&json!({"spec": spec})), expected, "{spec}");
        }
        assert_eq!(service_account_name(&json!("not a template")), "default");
    }

    #[test]
    fn the_label_on_a_service_account_names_the_templates_that_run_as_it() {
        let cronjob = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "ns"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccountName": "fed-sa"}}}}}});
        let documents = [
            account(json!({contract::LABEL_USE: "true"})),
            deployment("web", json!({"app": "web"}), json!({"serviceAccount": "fed-sa"})),
            json!({"kind": "List", "items": [cronjob]}),
            deployment("other", json!({}), json!({"serviceAccountName": "other-sa"})),
            deployment(
                "done",
                json!({contract::LABEL_USE: "true"}),
                json!({"serviceAccountName": "fed-sa"}),
            ),
        ];
        let users = ServiceAccountUsers::from_documents(&documents, "default");
        let found = misplaced_labels(&documents[0], "default", &users);
        assert_eq!(
            found,
            [MisplacedLabel {
                service_account: "ns/fed-sa".into(),
                advice: Advice::new(
                    Rule::LabelOnServiceAccount,
                    "the label azure.workload.identity/use is on the ServiceAccount, and the webhook reads it from pods only; it belongs on the pod templates of Deployment ns/web (spec.template.metadata.labels) and CronJob ns/report (spec.jobTemplate.spec.template.metadata.labels), which run as this ServiceAccount and are not mutated"
                ),
                fix: "add azure.workload.identity/use: \"true\" to the labels of the pod templates of Deployment ns/web (spec.template.metadata.labels) and CronJob ns/report (spec.jobTemplate.spec.template.metadata.labels), and remove the label from ServiceAccount ns/fed-sa".into(),
            }]
        );
        assert_eq!(misplaced_labels(&documents[1], "default", &users), []);
    }

    #[test]
    fn the_label_on_a_service_account_whose_templates_carry_it_or_that_none_uses() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "labels": {contract::LABEL_USE: "true"}},
                         "spec": {"serviceAccountName": "fed-sa"}});
        let documents = [account(json!({contract::LABEL_USE: "false"})), pod];
        let users = ServiceAccountUsers::from_documents(&documents, "default");
        assert_eq!(
            users.of("ns", "fed-sa")[0].at("metadata.labels"),
            "Pod ns/p (metadata.labels)"
        );
        let found = misplaced_labels(&documents[0], "default", &users);
        assert_eq!(
            found[0].advice.message,
            "the label azure.workload.identity/use is on the ServiceAccount, and the webhook reads it from pods only; the pod template of Pod ns/p, which runs as this ServiceAccount, carries it already, so it has no effect here"
        );
        assert_eq!(
            found[0].fix,
            "remove the label azure.workload.identity/use from ServiceAccount ns/fed-sa"
        );
        let alone = misplaced_labels(&documents[0], "default", &ServiceAccountUsers::default());
        assert_eq!(
            alone[0].advice.message,
            "the label azure.workload.identity/use is on the ServiceAccount, and the webhook reads it from pods only; it belongs on the pod template of each workload that runs as this ServiceAccount (none in the input)"
        );
        assert_eq!(
            alone[0].fix,
            "remove the label from ServiceAccount ns/fed-sa, and add azure.workload.identity/use: \"true\" to the pod template's metadata.labels of each workload that runs as it"
        );
    }

    #[test]
    fn lists() {
        let items = |n: usize| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(and_list(&items(0)), "");
        assert_eq!(and_list(&items(1)), "1");
        assert_eq!(and_list(&items(2)), "1 and 2");
        assert_eq!(and_list(&items(3)), "1, 2 and 3");
    }
}
