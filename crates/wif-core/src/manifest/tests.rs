//! Manifest walking and rendering over every workload kind, as `wif render` runs it.

use serde_json::json;

use super::*;
use crate::contract;

const CLIENT: &str = "11111111-1111-1111-1111-111111111111";

fn sa_doc(ns: Option<&str>) -> Value {
    let mut doc = json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": { "name": "app", "annotations": { contract::ANNOTATION_CLIENT_ID: CLIENT } } });
    if let Some(ns) = ns {
        doc["metadata"]["namespace"] = json!(ns);
    }
    doc
}

fn template(labelled: bool) -> Value {
    let mut t = json!({ "metadata": { "labels": { "app": "web" } }, "spec": { "serviceAccountName": "app", "containers": [{ "name": "web", "image": "nginx" }] } });
    if labelled {
        t["metadata"]["labels"][contract::LABEL_USE] = json!("true");
    }
    t
}

fn workload(kind: &str, api: &str, labelled: bool) -> Value {
    let t = template(labelled);
    let spec = match kind {
        "Pod" => {
            return json!({ "apiVersion": api, "kind": kind, "metadata": { "name": "web", "namespace": "demo", "labels": t["metadata"]["labels"] }, "spec": t["spec"] });
        }
        "CronJob" => json!({ "schedule": "* * * * *", "jobTemplate": { "spec": { "template": t } } }),
        _ => json!({ "selector": { "matchLabels": { "app": "web" } }, "template": t }),
    };
    json!({ "apiVersion": api, "kind": kind, "metadata": { "name": "web", "namespace": "demo" }, "spec": spec })
}

fn render(docs: &[Value], options: &RenderOptions) -> Result<RenderOutcome, RenderError> {
    let accounts = ServiceAccountIndex::from_documents(docs, &options.default_namespace)?;
    render_documents(docs, &accounts, &WebhookSettings::new("t"), options)
}

#[test]
fn every_workload_kind_is_mutated() {
    let kinds = [
        ("Pod", "v1", &[][..]),
        ("Deployment", "apps/v1", &["spec", "template"][..]),
        ("StatefulSet", "apps/v1", &["spec", "template"][..]),
        ("DaemonSet", "apps/v1", &["spec", "template"][..]),
        ("ReplicaSet", "apps/v1", &["spec", "template"][..]),
        ("Job", "batch/v1", &["spec", "template"][..]),
        ("CronJob", "batch/v1", &["spec", "jobTemplate", "spec", "template"][..]),
    ];
    for (kind, api, path) in kinds {
        let docs = vec![
            sa_doc(Some("demo")),
            workload(kind, api, true),
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" } }),
        ];
        let out = render(&docs, &RenderOptions::default()).unwrap();
        assert_eq!(out.mutated_templates, 1, "{kind}");
        assert!(out.documents[0].is_none() && out.documents[2].is_none(), "{kind}");
        let mut t = out.documents[1].as_ref().expect(kind);
        for token in path {
            t = &t[*token];
        }
        let env = &t["spec"]["containers"][0]["env"];
        assert_eq!(env[0], json!({ "name": "AZURE_CLIENT_ID", "value": CLIENT }), "{kind}");
    }
}

#[test]
fn unlabelled_templates_and_other_kinds_pass_through() {
    let docs = vec![
        sa_doc(Some("demo")),
        workload("Deployment", "apps/v1", false),
        json!({ "apiVersion": "example.com/v1", "kind": "Widget", "spec": { "template": template(true) } }),
    ];
    let out = render(&docs, &RenderOptions::default()).unwrap();
    assert_eq!(out.mutated_templates, 0);
    assert!(out.documents.iter().all(Option::is_none));
}

#[test]
fn lists_are_walked() {
    let docs = vec![
        json!({ "apiVersion": "v1", "kind": "List", "items": [sa_doc(Some("demo")), workload("Deployment", "apps/v1", true)] }),
    ];
    let out = render(&docs, &RenderOptions::default()).unwrap();
    assert_eq!(out.mutated_templates, 1);
}

#[test]
fn missing_service_account_is_named() {
    let docs = vec![workload("Deployment", "apps/v1", true)];
    let options = RenderOptions::default();
    let out = render(&docs, &options).unwrap();
    assert!(out.has_errors(&options));
    assert_eq!(out.findings[0].severity, Severity::MissingServiceAccount);
    assert!(out.findings[0].message.contains("ServiceAccount demo/app"));
    assert_eq!(out.findings[0].object, "Deployment demo/web");
    let allow = RenderOptions {
        allow_missing_service_accounts: true,
        ..RenderOptions::default()
    };
    let out = render(&docs, &allow).unwrap();
    assert!(!out.has_errors(&allow));
    assert_eq!(out.mutated_templates, 1);
}

#[test]
fn namespace_defaults_apply_to_both_sides() {
    let mut deploy = workload("Deployment", "apps/v1", true);
    deploy["metadata"].as_object_mut().unwrap().remove("namespace");
    let options = RenderOptions {
        default_namespace: "team".into(),
        ..RenderOptions::default()
    };
    let out = render(&[sa_doc(None), deploy.clone()], &options).unwrap();
    assert_eq!(out.mutated_templates, 1);
    // The same SA in another namespace does not count.
    let out = render(&[sa_doc(Some("other")), deploy], &options).unwrap();
    assert!(out.has_errors(&options));
}

#[test]
fn denials_are_findings_that_fail_the_run() {
    let mut deploy = workload("Deployment", "apps/v1", true);
    deploy["spec"]["template"]["metadata"]["annotations"] = json!({ contract::ANNOTATION_TOKEN_EXPIRATION: "60" });
    let options = RenderOptions::default();
    let out = render(&[sa_doc(Some("demo")), deploy], &options).unwrap();
    assert!(out.has_errors(&options));
    assert_eq!(out.findings[0].severity, Severity::Denial);
    assert!(out.findings[0].message.contains("token expiration 60 not valid"));
    assert!(out.documents[1].is_none());
}

#[test]
fn bad_documents_are_errors_naming_the_document() {
    let no_kind = render(&[json!({ "metadata": { "name": "x" } })], &RenderOptions::default()).unwrap_err();
    assert_eq!(no_kind.document, 0);
    assert!(
        no_kind.to_string().starts_with("document 1: the document has no kind"),
        "{no_kind}"
    );
    let scalar = render(&[sa_doc(None), json!("just text")], &RenderOptions::default()).unwrap_err();
    assert_eq!(scalar.document, 1);
    let mut bad = workload("Deployment", "apps/v1", true);
    bad["spec"]["template"] = json!("oops");
    let err = render(&[bad], &RenderOptions::default()).unwrap_err();
    assert!(err.to_string().contains("(Deployment demo/web)"), "{err}");
    assert!(err.message.contains("must be a map"), "{err}");
    let mut missing = workload("Deployment", "apps/v1", true);
    missing["spec"].as_object_mut().unwrap().remove("template");
    let err = render(&[missing], &RenderOptions::default()).unwrap_err();
    assert!(err.message.contains("spec.template is missing"), "{err}");
}

#[test]
fn boolean_label_is_flagged_not_mutated() {
    let mut deploy = workload("Deployment", "apps/v1", true);
    deploy["spec"]["template"]["metadata"]["labels"][contract::LABEL_USE] = json!(true);
    let out = render(&[sa_doc(Some("demo")), deploy], &RenderOptions::default()).unwrap();
    assert_eq!(out.mutated_templates, 0);
    assert!(out.findings[0].message.contains("boolean"));
}

#[test]
fn rendering_twice_changes_nothing() {
    let docs = vec![sa_doc(Some("demo")), workload("Deployment", "apps/v1", true)];
    let first = render(&docs, &RenderOptions::default()).unwrap();
    let rendered: Vec<Value> = first
        .documents
        .iter()
        .zip(&docs)
        .map(|(new, old)| new.clone().unwrap_or_else(|| old.clone()))
        .collect();
    let second = render(&rendered, &RenderOptions::default()).unwrap();
    assert_eq!(second.mutated_templates, 0);
    assert!(second.documents.iter().all(Option::is_none));
}

#[test]
fn the_label_on_a_service_account_is_a_warning_naming_the_templates_that_run_as_it() {
    let mut account = sa_doc(Some("demo"));
    account["metadata"]["labels"] = json!({ contract::LABEL_USE: "true" });
    let mut cronjob = workload("CronJob", "batch/v1", false);
    let spec = &mut cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    spec["serviceAccount"] = spec["serviceAccountName"].take();
    let docs = vec![
        workload("Deployment", "apps/v1", true),
        json!({ "apiVersion": "v1", "kind": "List", "items": [account, cronjob] }),
    ];
    let out = render(&docs, &RenderOptions::default()).unwrap();
    assert_eq!((out.mutated_templates, out.pod_templates), (1, 2));
    // (The first finding is the test tenant's, "t".)
    assert_eq!(
        out.findings[1..],
        [Finding {
            document: 1,
            object: "ServiceAccount demo/app".into(),
            severity: Severity::Warning,
            message: "the label azure.workload.identity/use is on the ServiceAccount, and the webhook reads it from pods only; it belongs on the pod template of CronJob demo/web (spec.jobTemplate.spec.template.metadata.labels), which runs as this ServiceAccount and is not mutated".into(),
        }]
    );
}

#[test]
fn without_a_default_tenant_only_templates_whose_account_names_none_wait_for_one() {
    let no_default = WebhookSettings::new("");
    let mut annotated = sa_doc(Some("demo"));
    annotated["metadata"]["annotations"][contract::ANNOTATION_TENANT_ID] =
        json!("aaaaaaaa-0000-4000-8000-00000000000a");
    let mut other = workload("Job", "batch/v1", true);
    other["metadata"]["namespace"] = json!("other");
    let mut bare = sa_doc(Some("other"));
    // An empty value names no tenant, as the webhook reads it.
    bare["metadata"]["annotations"][contract::ANNOTATION_TENANT_ID] = json!("");
    let docs = vec![
        annotated,
        workload("Deployment", "apps/v1", true),
        bare,
        other,
        // Not opted in: never mutated, so it needs no tenant.
        {
            let mut unlabelled = workload("StatefulSet", "apps/v1", false);
            unlabelled["metadata"]["namespace"] = json!("other");
            unlabelled
        },
    ];
    let options = RenderOptions::default();
    let accounts = ServiceAccountIndex::from_documents(&docs, "default").unwrap();
    let out = render_documents(&docs, &accounts, &no_default, &options).unwrap();
    assert_eq!((out.mutated_templates, out.pod_templates), (1, 3));
    assert!(out.documents[1].is_some(), "the account names its tenant: mutated");
    assert!(out.documents[3].is_none(), "left as it was");
    assert_eq!(
        out.tenant_needed,
        [tenant::TenantNeeded {
            service_account: "other/app".into(),
            in_input: true,
            object: "Job other/web".into(),
            document: 3,
        }]
    );
    assert!(out.has_errors(&options));
    // Every account names its tenant: nothing waits.
    let out = render_documents(&docs[..2], &accounts, &no_default, &options).unwrap();
    assert!(out.tenant_needed.is_empty() && !out.has_errors(&options));
    // With a default, as before.
    let out = render_documents(&docs, &accounts, &WebhookSettings::new("t"), &options).unwrap();
    assert_eq!(out.mutated_templates, 2);
    assert!(out.tenant_needed.is_empty());
}
