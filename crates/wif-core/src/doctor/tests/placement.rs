//! Where each finding points: at the object that carries the wrong value (a ServiceAccount, or
//! a workload's pod template), naming the workload it breaks, with a fix that says which object
//! and which field to change.

use super::*;

const EXPIRATION: &str = "azure.workload.identity/service-account-token-expiration";

/// The correct set with the Deployment renamed api-server and `annotation` on its ServiceAccount.
fn annotated_account(annotation: &str) -> String {
    GOOD.replace("  name: api\n", "  name: api-server\n").replace(
        "    azure.workload.identity/tenant-id: \"aaaaaaaa-0000-4000-8000-00000000000a\"\n",
        &format!("    azure.workload.identity/tenant-id: \"aaaaaaaa-0000-4000-8000-00000000000a\"\n    {annotation}\n"),
    )
}

#[test]
fn a_bad_token_expiration_on_the_service_account_is_about_it_and_names_the_workload() {
    let yaml = annotated_account(&format!("{EXPIRATION}: \"100\""));
    let finding = only(&Case::new(&yaml), Rule::TokenExpiration);
    assert_eq!(finding.object.to_string(), "ServiceAccount payments/api-sa");
    assert_eq!(finding.object.document, Some(0));
    assert_eq!(
        finding.message,
        "the webhook refuses the pods of Deployment payments/api-server: token expiration 100 not valid. Expected value to be between 3600 and 86400; the value comes from annotation azure.workload.identity/service-account-token-expiration: \"100\" of this ServiceAccount, as the pod template sets none"
    );
    assert_eq!(
        finding.fix,
        "set the annotation azure.workload.identity/service-account-token-expiration of ServiceAccount payments/api-sa (metadata.annotations) to a number of seconds from 3600 to 86400, or remove it (the default, 3600, applies)"
    );

    // Two workloads on the account: one finding on it for each.
    let twice = format!(
        "{yaml}---\n{}",
        yaml.split("---")
            .nth(1)
            .unwrap_or_default()
            .replace("name: api-server\n", "name: worker\n")
    );
    let findings: Vec<String> = Case::new(&twice)
        .run()
        .into_iter()
        .filter(|f| f.rule == Rule::TokenExpiration)
        .map(|f| format!("{}: {}", f.object, &f.message[..f.message.find(':').unwrap_or(0)]))
        .collect();
    assert_eq!(
        findings,
        [
            "ServiceAccount payments/api-sa: the webhook refuses the pods of Deployment payments/api-server",
            "ServiceAccount payments/api-sa: the webhook refuses the pods of Deployment payments/worker",
        ]
    );

    // The pod's value wins (upstream), and an empty one falls through to the account's.
    let overridden = yaml.replace(
        "      labels: {app: api, azure.workload.identity/use: \"true\"}\n",
        &format!("      labels: {{app: api, azure.workload.identity/use: \"true\"}}\n      annotations: {{{EXPIRATION}: \"7200\"}}\n"),
    );
    assert_eq!(Case::new(&overridden).run(), []);
    let empty = overridden.replace("\"7200\"", "\"\"");
    let finding = only(&Case::new(&empty), Rule::TokenExpiration);
    assert_eq!(finding.object.to_string(), "ServiceAccount payments/api-sa");
}

#[test]
fn a_bad_token_expiration_on_the_pod_template_is_about_the_workload() {
    let finding = only(
        &Case::new(&annotate(&format!("{EXPIRATION}: \"600\""))),
        Rule::TokenExpiration,
    );
    assert_eq!(finding.object.to_string(), "Deployment payments/api");
    assert_eq!(
        finding.message,
        "the webhook refuses the pod: token expiration 600 not valid. Expected value to be between 3600 and 86400; the value comes from annotation azure.workload.identity/service-account-token-expiration: \"600\" of the pod template of Deployment payments/api (spec.template.metadata.annotations)"
    );
    assert_eq!(
        finding.fix,
        "set the annotation azure.workload.identity/service-account-token-expiration of the pod template of Deployment payments/api (spec.template.metadata.annotations) to a number of seconds from 3600 to 86400, or remove it (ServiceAccount payments/api-sa's value, else 3600, applies)"
    );
    // Not a number: the webhook's own words, and the same place.
    let finding = only(
        &Case::new(&annotate(&format!("{EXPIRATION}: \"1h\""))),
        Rule::TokenExpiration,
    );
    assert!(
        finding.message.starts_with(
            "the webhook refuses the pod: strconv.ParseInt: parsing \"1h\": invalid syntax; the value comes from annotation"
        ),
        "{}",
        finding.message
    );
}

#[test]
fn the_label_on_a_preview_era_service_account_names_the_templates_that_use_it() {
    // Before v1.0 the label went on the ServiceAccount; `serviceAccount` is the deprecated field.
    let preview = GOOD
        .replace(
            "  name: api-sa\n  namespace: payments\n",
            "  name: api-sa\n  namespace: payments\n  labels: {azure.workload.identity/use: \"true\"}\n",
        )
        .replace(", azure.workload.identity/use: \"true\"", "")
        .replace("serviceAccountName: api-sa", "serviceAccount: api-sa");
    let findings = Case::new(&preview).run();
    assert_eq!(ids(&findings), ["label-missing", "label-on-service-account"]);
    let on_sa = &findings[1];
    assert_eq!(on_sa.object.to_string(), "ServiceAccount payments/api-sa");
    assert_eq!(
        on_sa.message,
        "the label azure.workload.identity/use is on the ServiceAccount, and the webhook reads it from pods only; it belongs on the pod template of Deployment payments/api (spec.template.metadata.labels), which runs as this ServiceAccount and is not mutated"
    );
    assert_eq!(
        on_sa.fix,
        "add azure.workload.identity/use: \"true\" to the labels of the pod template of Deployment payments/api (spec.template.metadata.labels), and remove the label from ServiceAccount payments/api-sa"
    );
    assert_eq!(
        findings[0].message,
        format!(
            "ServiceAccount payments/api-sa names client id {CLIENT}, but the pod template is not labelled azure.workload.identity/use: \"true\": the webhook leaves it alone"
        )
    );
}

#[test]
fn fixes_say_which_object_and_field() {
    let fix = |yaml: &str, rule: Rule| only(&Case::new(yaml), rule).fix;
    // A pod annotation left on the ServiceAccount goes to the templates that run as it.
    let on_sa = GOOD.replace(
        "    azure.workload.identity/tenant-id: \"aaaaaaaa-0000-4000-8000-00000000000a\"\n",
        "    azure.workload.identity/tenant-id: \"aaaaaaaa-0000-4000-8000-00000000000a\"\n    azure.workload.identity/skip-containers: api\n",
    );
    let finding = only(&Case::new(&on_sa), Rule::AnnotationWrongObject);
    assert_eq!(finding.object.to_string(), "ServiceAccount payments/api-sa");
    assert_eq!(
        finding.fix,
        "move annotation \"azure.workload.identity/skip-containers\" from ServiceAccount payments/api-sa (metadata.annotations) to the pod template of Deployment payments/api (spec.template.metadata.annotations)"
    );
    assert_eq!(
        fix(
            &annotate("azure.workload.identity/skip-containers: \"apii\""),
            Rule::SkipContainersUnknown
        ),
        "in the annotation azure.workload.identity/skip-containers of the pod template of Deployment payments/api (spec.template.metadata.annotations), name only containers the pod has, exactly as in the pod spec, separated by ';'"
    );
    assert_eq!(
        fix(
            &annotate(
                "azure.workload.identity/inject-proxy-sidecar: \"true\", azure.workload.identity/proxy-sidecar-port: \"70000\""
            ),
            Rule::ProxyPort
        ),
        "set the annotation azure.workload.identity/proxy-sidecar-port of the pod template of Deployment payments/api (spec.template.metadata.annotations) to a port from 1 to 65535"
    );
    let host = annotate("azure.workload.identity/inject-proxy-sidecar: \"true\"").replace(
        "      serviceAccountName: api-sa\n",
        "      serviceAccountName: api-sa\n      hostNetwork: true\n",
    );
    assert_eq!(
        fix(&host, Rule::ProxyHostNetwork),
        "remove hostNetwork: true from the pod template of Deployment payments/api (spec.template.spec.hostNetwork), or the annotation azure.workload.identity/inject-proxy-sidecar from the pod template of Deployment payments/api (spec.template.metadata.annotations) to go without the proxy (point the SDK at the token file instead)"
    );
    let not_guid = GOOD.replace("\"11111111-0000-4000-8000-000000000001\"", "\"api-identity\"");
    assert_eq!(
        fix(&not_guid, Rule::ClientIdNotGuid),
        "set azure.workload.identity/client-id of ServiceAccount payments/api-sa (metadata.annotations) to the application's or managed identity's client id, a GUID (az identity show --query clientId)"
    );
    // A CronJob keeps its template deeper: the label goes there.
    let cronjob = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: report, namespace: payments, labels: {azure.workload.identity/use: \"true\"}}\nspec:\n  schedule: \"0 3 * * *\"\n  jobTemplate: {spec: {template: {spec: {serviceAccountName: api-sa, containers: [{name: r, image: r:1}]}}}}\n";
    let with_cronjob = format!("{GOOD}---\n{cronjob}");
    assert_eq!(
        fix(&with_cronjob, Rule::LabelOnWorkload),
        "move the label azure.workload.identity/use: \"true\" from CronJob payments/report's own metadata.labels to the pod template of CronJob payments/report (spec.jobTemplate.spec.template.metadata.labels)"
    );
}
