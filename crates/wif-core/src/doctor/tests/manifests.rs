//! The manifest and credential rules: labels, annotations, credentials, containers, identities shared.

use super::*;

#[test]
fn a_correct_setup_gives_no_finding() {
    assert_eq!(Case::new(GOOD).run(), []);
    let without_credentials = Case {
        credentials: None,
        issuer: None,
        ..Case::new(GOOD)
    };
    assert_eq!(without_credentials.run(), []);
    let issuer_unknown = Case {
        issuer: None,
        ..Case::new(GOOD)
    };
    assert_eq!(
        issuer_unknown.run(),
        [],
        "subject and audience are judged without the issuer"
    );
}

#[test]
fn labels_in_the_wrong_place() {
    let missing = GOOD.replace(", azure.workload.identity/use: \"true\"", "");
    let finding = only(&Case::new(&missing), Rule::LabelMissing);
    assert_eq!(finding.object.to_string(), "Deployment payments/api");
    assert_eq!(finding.object.document, Some(1));
    assert!(
        finding.message.contains(&format!("names client id {CLIENT}")),
        "{}",
        finding.message
    );
    assert_eq!(
        finding.fix,
        "add azure.workload.identity/use: \"true\" to the pod template of Deployment payments/api (spec.template.metadata.labels)"
    );
    let on_workload = missing.replace(
        "  name: api\n  namespace: payments\nspec:",
        "  name: api\n  namespace: payments\n  labels: {azure.workload.identity/use: \"true\"}\nspec:",
    );
    only(&Case::new(&on_workload), Rule::LabelOnWorkload);
    let on_sa = GOOD.replace(
        "  name: api-sa\n  namespace: payments\n",
        "  name: api-sa\n  namespace: payments\n  labels: {azure.workload.identity/use: \"true\"}\n",
    );
    only(&Case::new(&on_sa), Rule::LabelOnServiceAccount);
    let boolean = GOOD.replace(
        "azure.workload.identity/use: \"true\"",
        "azure.workload.identity/use: true",
    );
    only(&Case::new(&boolean), Rule::LabelNotString);
}

#[test]
fn service_account_annotations() {
    let no_client = GOOD.replace(
        "    azure.workload.identity/client-id: \"11111111-0000-4000-8000-000000000001\"\n",
        "",
    );
    let finding = only(&Case::new(&no_client), Rule::ClientIdMissing);
    assert_eq!(finding.object.to_string(), "ServiceAccount payments/api-sa");
    let not_guid = GOOD.replace("\"11111111-0000-4000-8000-000000000001\"", "\"api-identity\"");
    only(&Case::new(&not_guid), Rule::ClientIdNotGuid);
    let bad_tenant = GOOD.replace("\"aaaaaaaa-0000-4000-8000-00000000000a\"", "\"my tenant\"");
    only(&Case::new(&bad_tenant), Rule::TenantIdInvalid);
    for typo in ["client_id", "clientId", "clientid"] {
        let typoed = GOOD.replace(
            "azure.workload.identity/client-id:",
            &format!("azure.workload.identity/{typo}:"),
        );
        let findings = Case::new(&typoed).run();
        let typo_finding = findings
            .iter()
            .find(|f| f.rule == Rule::AnnotationTypo)
            .unwrap_or_else(|| panic!("{typo}: {findings:#?}"));
        assert_eq!(
            typo_finding.fix,
            format!(
                "rename annotation \"azure.workload.identity/{typo}\" of ServiceAccount payments/api-sa (metadata.annotations) to \"azure.workload.identity/client-id\""
            ),
            "{typo}"
        );
        assert!(
            findings.iter().any(|f| f.rule == Rule::ClientIdMissing),
            "{typo}: {findings:#?}"
        );
    }
    let wrong_prefix = GOOD.replace(
        "azure.workload.identity/client-id:",
        "azure.workload.identity.io/client-id:",
    );
    assert!(ids(&Case::new(&wrong_prefix).run()).contains(&"annotation-typo"));
    let on_pod = GOOD.replace(
        "      labels: {app: api, azure.workload.identity/use: \"true\"}\n",
        "      labels: {app: api, azure.workload.identity/use: \"true\"}\n      annotations: {azure.workload.identity/client-id: \"11111111-0000-4000-8000-000000000001\"}\n",
    );
    only(&Case::new(&on_pod), Rule::AnnotationWrongObject);
}

#[test]
fn credentials_that_do_not_accept_the_workload() {
    let moved = with_credential(
        "system:serviceaccount:payment:api-sa",
        ISSUER,
        "api://AzureADTokenExchange",
    );
    let finding = only(&moved, Rule::CredentialSubject);
    assert!(
        finding
            .message
            .contains("(the namespace is 'payment' in the credential but 'payments' in the token)"),
        "{}",
        finding.message
    );
    assert_eq!(
        finding.fix,
        "in credential 'payments-api', set the subject to `system:serviceaccount:payments:api-sa`"
    );
    assert!(
        finding
            .object
            .name
            .starts_with("payments-api (on managed identity 'api-identity'")
    );
    let slash = with_credential(
        "system:serviceaccount:payments:api-sa",
        ISSUER.trim_end_matches('/'),
        "api://AzureADTokenExchange",
    );
    let finding = only(&slash, Rule::CredentialIssuer);
    assert!(
        finding.message.contains("they differ only by a trailing slash"),
        "{}",
        finding.message
    );
    assert_eq!(
        finding.fix,
        format!("in credential 'payments-api', set the issuer to `{ISSUER}`")
    );
    let scheme = with_credential(
        "system:serviceaccount:payments:api-sa",
        "http://oidc.example/cluster/",
        "api://AzureADTokenExchange",
    );
    assert!(only(&scheme, Rule::CredentialIssuer).message.contains("scheme"));
    let audience = with_credential(
        "system:serviceaccount:payments:api-sa",
        ISSUER,
        "api://AzureADTokenExchange/",
    );
    let finding = only(&audience, Rule::CredentialAudience);
    assert!(
        finding.message.contains("differs only by a trailing slash"),
        "{}",
        finding.message
    );
    let case = with_credential(
        "system:serviceaccount:Payments:api-sa",
        ISSUER,
        "api://AzureADTokenExchange",
    );
    assert!(only(&case, Rule::CredentialSubject).message.contains("letter case"));
    let elsewhere = Case {
        credentials: Some(vec![ClientCredentials {
            client_id: OTHER_CLIENT.into(),
            ..good_credentials().remove(0)
        }]),
        ..Case::new(GOOD)
    };
    let finding = only(&elsewhere, Rule::CredentialOtherClient);
    assert_eq!(
        finding.message,
        format!(
            "credential 'payments-api' accepts this workload's token, but it is on managed identity 'api-identity' (client id {OTHER_CLIENT}), and ServiceAccount payments/api-sa names client id {CLIENT}"
        )
    );
    assert_eq!(
        finding.fix,
        format!(
            "set azure.workload.identity/client-id of ServiceAccount payments/api-sa (metadata.annotations) to {OTHER_CLIENT}, or add a credential with issuer `{ISSUER}`, subject `system:serviceaccount:payments:api-sa`, audience `api://AzureADTokenExchange` to client id {CLIENT}"
        )
    );
    let none = Case {
        credentials: Some(vec![ClientCredentials {
            credentials: vec![],
            ..good_credentials().remove(0)
        }]),
        ..Case::new(GOOD)
    };
    let finding = only(&none, Rule::CredentialsNone);
    assert_eq!(
        finding.fix,
        format!(
            "add a federated identity credential to client id {CLIENT} with issuer `{ISSUER}`, subject `system:serviceaccount:payments:api-sa`, audience `api://AzureADTokenExchange`"
        )
    );
}

#[test]
fn containers_that_defeat_federation() {
    let secret = GOOD.replace(
        "env: [{name: LOG_LEVEL, value: info}]",
        "env: [{name: AZURE_CLIENT_SECRET, valueFrom: {secretKeyRef: {name: s, key: k}}}]",
    );
    let finding = only(&Case::new(&secret), Rule::EnvOverridesFederation);
    assert!(finding.message.contains("container \"api\" sets AZURE_CLIENT_SECRET"));
    for var in ["AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME"] {
        let set = GOOD.replace("name: LOG_LEVEL, value: info", &format!("name: {var}, value: x"));
        only(&Case::new(&set), Rule::EnvOverridesFederation);
    }
    let contradicting = GOOD.replace(
        "name: LOG_LEVEL, value: info",
        "name: AZURE_CLIENT_ID, value: 33333333-0000-4000-8000-000000000003",
    );
    only(&Case::new(&contradicting), Rule::EnvContradictsServiceAccount);
    let agreeing = GOOD.replace(
        "name: LOG_LEVEL, value: info",
        &format!("name: AZURE_CLIENT_ID, value: {CLIENT}"),
    );
    assert_eq!(Case::new(&agreeing).run(), []);
    let tenant = GOOD.replace(
        "name: LOG_LEVEL, value: info",
        "name: AZURE_TENANT_ID, value: other-tenant.example",
    );
    only(&Case::new(&tenant), Rule::EnvContradictsServiceAccount);
    let skipped = secret.replace(
        "      labels: {app: api, azure.workload.identity/use: \"true\"}\n",
        "      labels: {app: api, azure.workload.identity/use: \"true\"}\n      annotations: {azure.workload.identity/skip-containers: api}\n",
    );
    assert_eq!(Case::new(&skipped).run(), [], "a skipped container may keep its secret");
}

#[test]
fn pod_annotations_the_webhook_refuses_or_ignores() {
    for value in ["600", "86401", "ten"] {
        let finding = only(
            &Case::new(&annotate(&format!(
                "azure.workload.identity/service-account-token-expiration: \"{value}\""
            ))),
            Rule::TokenExpiration,
        );
        assert!(
            finding.message.starts_with("the webhook refuses the pod: "),
            "{}",
            finding.message
        );
    }
    assert_eq!(
        Case::new(&annotate(
            "azure.workload.identity/service-account-token-expiration: \"7200\""
        ))
        .run(),
        []
    );
    only(
        &Case::new(&annotate("azure.workload.identity/skip-containers: \"apii\"")),
        Rule::SkipContainersUnknown,
    );
    let proxy = annotate("azure.workload.identity/inject-proxy-sidecar: \"true\"");
    assert_eq!(Case::new(&proxy).run(), []);
    let host = proxy.replace(
        "      serviceAccountName: api-sa\n",
        "      serviceAccountName: api-sa\n      hostNetwork: true\n",
    );
    only(&Case::new(&host), Rule::ProxyHostNetwork);
    let windows = proxy.replace(
        "      serviceAccountName: api-sa\n",
        "      serviceAccountName: api-sa\n      os: {name: windows}\n",
    );
    only(&Case::new(&windows), Rule::ProxyWindows);
    only(
        &Case::new(&annotate("azure.workload.identity/inject-proxy-sidecar: \"false\"")),
        Rule::ProxyAnnotationFalse,
    );
    only(
        &Case::new(&annotate(
            "azure.workload.identity/inject-proxy-sidecar: \"true\", azure.workload.identity/proxy-sidecar-port: \"70000\"",
        )),
        Rule::ProxyPort,
    );
}

#[test]
fn one_identity_for_many_workloads_and_a_missing_service_account() {
    let twice = format!(
        "{GOOD}---\n{}",
        GOOD.split("---")
            .nth(1)
            .unwrap_or_default()
            .replace("name: api\n", "name: worker\n")
    );
    let finding = only(&Case::new(&twice), Rule::ClientIdShared);
    assert_eq!(
        finding.message,
        format!("client id {CLIENT} is used by 2 workloads: Deployment payments/api, Deployment payments/worker")
    );
    let orphan = GOOD.replace("serviceAccountName: api-sa", "serviceAccountName: gone");
    only(&Case::new(&orphan), Rule::ServiceAccountMissing);
}

#[test]
fn an_aad_pod_identity_label_is_a_leftover_unless_a_selector_needs_it_after_the_migration() {
    let leftover = GOOD.replace(
        "labels: {app: api, azure.workload.identity/use: \"true\"}",
        "labels: {app: api, azure.workload.identity/use: \"true\", aadpodidbinding: api}",
    );
    let finding = only(&Case::new(&leftover), Rule::PodIdentityLeftover);
    assert_eq!(finding.object.to_string(), "Deployment payments/api");
    assert!(finding.message.contains("aadpodidbinding: api"), "{}", finding.message);
    assert!(finding.fix.starts_with("wif migrate pod-identity"), "{}", finding.fix);
    // Migrated, with the label in the (immutable) selector: it has to stay, and is no finding.
    let pinned = leftover.replace(
        "selector: {matchLabels: {app: api}}",
        "selector: {matchLabels: {app: api, aadpodidbinding: api}}",
    );
    assert_eq!(Case::new(&pinned).run(), []);
}

#[test]
fn aad_pod_identity_still_installed_is_found_by_its_crds_and_components() {
    let installed = format!(
        "{GOOD}---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: azureidentities.aadpodidentity.k8s.io}}\nspec: {{group: aadpodidentity.k8s.io}}\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: nmi, namespace: kube-system}}\nspec: {{selector: {{matchLabels: {{app: nmi}}}}, template: {{metadata: {{labels: {{app: nmi}}}}, spec: {{hostNetwork: true, containers: [{{name: nmi, image: mcr.microsoft.com/oss/azure/aad-pod-identity/nmi:v1.8.17}}]}}}}}}\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: widgets.example.com}}\nspec: {{group: example.com}}\n"
    );
    let case = Case::new(&installed);
    let findings = case.run();
    let installed: Vec<String> = findings
        .iter()
        .filter(|f| f.rule == Rule::PodIdentityInstalled)
        .map(|f| f.object.to_string())
        .collect();
    assert_eq!(
        installed,
        [
            "CustomResourceDefinition azureidentities.aadpodidentity.k8s.io",
            "DaemonSet kube-system/nmi"
        ],
        "{findings:#?}"
    );
    assert!(
        findings.iter().all(|f| f.rule == Rule::PodIdentityInstalled),
        "{findings:#?}"
    );
}
