//! Every refusal, with its status and body, answered at once; Entra's refusal passed through;
//! an unreachable and a silent Entra answered within the deadline, never a hang.

use std::time::Duration;

use serde_json::json;
use wif_proxy::ProxyOptions;

use super::*;

fn imds_error(answer: &Answer) -> (u16, &str, &str) {
    (
        answer.status,
        answer.body["error"].as_str().unwrap_or_default(),
        answer.body["error_description"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn imds_refusals_have_imds_status_and_body() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    // SDK probes: no Metadata header, with or without a query.
    for query in ["", "?api-version=2018-02-01&resource=https://management.azure.com"] {
        let probe = proxy.get(&format!("/metadata/identity/oauth2/token{query}"), &[]).await;
        assert_eq!(
            imds_error(&probe),
            (400, "invalid_request", "Required metadata header not specified"),
            "{query}"
        );
        assert_eq!(probe.content_type, "application/json; charset=utf-8");
    }
    let wrong = proxy
        .get("/metadata/identity/oauth2/token?resource=r", &[("Metadata", "yes")])
        .await;
    assert_eq!(imds_error(&wrong).2, "Required metadata header not specified");
    let forwarded = proxy
        .get(
            "/metadata/identity/oauth2/token?resource=https://vault.azure.net",
            &[("Metadata", "true"), ("X-Forwarded-For", "10.0.0.1")],
        )
        .await;
    assert_eq!(forwarded.status, 400);
    assert!(
        imds_error(&forwarded)
            .2
            .starts_with("Requests carrying an X-Forwarded-For header are refused"),
        "{}",
        forwarded.text
    );
    let no_resource = proxy.imds("").await;
    assert_eq!(
        imds_error(&no_resource),
        (400, "invalid_request", "Required query variable 'resource' is missing")
    );
    // Not a GUID and no alias: no application can have it, so it is refused here, not by Entra.
    let unknown = proxy
        .imds("resource=https://vault.azure.net&client_id=no-such-app")
        .await;
    assert_eq!(
        imds_error(&unknown),
        (
            400,
            "invalid_request",
            format!(
                "Identity not found: client_id \"no-such-app\" is neither one of this proxy's identities (it serves {READER} (default), {MISMATCHED} (alias mismatched), {WRITER} (alias writer)) nor a GUID, so no application has it"
            )
            .as_str()
        )
    );
    for selector in [
        "object_id=00000000-0000-0000-0000-000000000001",
        "msi_res_id=/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/writer",
        "mi_res_id=/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/writer",
    ] {
        let refused = proxy
            .imds(&format!("resource=https://vault.azure.net&{selector}"))
            .await;
        let (status, error, description) = imds_error(&refused);
        assert_eq!((status, error), (400, "invalid_request"), "{selector}");
        let parameter = selector.split('=').next().unwrap();
        assert!(
            description.starts_with(&format!(
                "Identity not found: the wif proxy selects identities by client_id, and {parameter}="
            )),
            "{description}"
        );
    }
    assert_eq!(setup.exchanges(), 0, "no refusal reached Entra");
    assert_eq!(proxy.metrics.request_count("imds_token", "refused"), 9);
}

#[tokio::test]
async fn app_service_refusals_have_app_service_bodies() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    let path = "/msi/token?api-version=2019-08-01&resource=https://vault.azure.net";
    for headers in [&[][..], &[("X-IDENTITY-HEADER", "wrong-secret-0123456789")][..]] {
        let refused = proxy.get(path, headers).await;
        assert_eq!(refused.status, 401);
        assert_eq!(
            refused.body,
            json!({"statusCode": 401, "message": "unauthorized: X-IDENTITY-HEADER is missing or is not the proxy's IDENTITY_HEADER"})
        );
    }
    let version = proxy
        .get(
            "/msi/token?resource=https://vault.azure.net",
            &[("X-IDENTITY-HEADER", SECRET)],
        )
        .await;
    assert_eq!(
        version.body,
        json!({"statusCode": 400, "message": "invalid_request: api-version must be 2019-08-01 (App Service's managed-identity protocol)"})
    );
    let off = setup
        .serve(
            setup.env(),
            ProxyOptions {
                identity_header: None,
                ..options()
            },
        )
        .await;
    let refused = off.get(path, &[("X-IDENTITY-HEADER", SECRET)]).await;
    assert_eq!(refused.status, 404);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("start the proxy with IDENTITY_HEADER")
    );
    // A weak secret is refused at start.
    let env = setup.env();
    let table = IdentityTable::from_env(&env, env.keys().map(|k| (*k).to_owned())).unwrap();
    let workload = WorkloadIdentity::from_env(&env, Some(setup.emulator.ca_pem.as_bytes())).unwrap();
    let weak = Proxy::bind(
        ProxyOptions {
            identity_header: Some("short".into()),
            ..options()
        },
        workload,
        table,
    )
    .await
    .unwrap_err();
    assert!(matches!(weak, wif_proxy::ProxyError::WeakIdentityHeader), "{weak}");
}

#[tokio::test]
async fn entras_refusal_reaches_the_app_with_its_code_and_a_status_sdks_do_not_retry() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    let refused = proxy
        .imds("resource=https://vault.azure.net&client_id=mismatched")
        .await;
    let (status, error, description) = imds_error(&refused);
    assert_eq!((status, error), (401, "invalid_client"), "{}", refused.text);
    assert_eq!(refused.body["error_codes"], json!([700213]));
    assert!(
        description.starts_with("AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:demo:app'"),
        "{description}"
    );
    assert!(
        description.contains(" wif: application ") && !description.contains("(wif diagnosis: "),
        "the emulator's diagnosis is passed on, once: {description}"
    );
    assert_eq!(proxy.metrics.request_count("imds_token", "entra_refused"), 1);
    // The refusal is remembered briefly (the cache backs off): asked again at once, Entra is
    // not asked again.
    let again = proxy
        .imds("resource=https://vault.azure.net&client_id=mismatched")
        .await;
    assert_eq!(again.status, 401);
    assert_eq!(setup.exchanges(), 1);
}

#[tokio::test]
async fn an_unreachable_or_silent_entra_is_answered_within_the_deadline() {
    let setup = Setup::start().await;
    // Nothing listens: the connection is refused, the answer comes at once.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut env = setup.env();
    env.insert("AZURE_AUTHORITY_HOST", format!("https://127.0.0.1:{closed_port}"));
    let down = setup.serve(env, options()).await;
    let answer = down.imds("resource=https://vault.azure.net").await;
    let (status, error, description) = imds_error(&answer);
    assert_eq!((status, error), (500, "unknown"), "{}", answer.text);
    assert!(
        description.starts_with(&format!(
            "Failed to retrieve token from the Active directory: token request to https://127.0.0.1:{closed_port}/{TENANT_A}/oauth2/v2.0/token failed"
        )),
        "{description}"
    );

    // It accepts and never answers: the proxy answers when its deadline passes.
    let (silent, _held) = silent_listener().await;
    let mut env = setup.env();
    env.insert("AZURE_AUTHORITY_HOST", format!("https://{silent}"));
    let hanging = setup
        .serve(
            env,
            ProxyOptions {
                token_timeout: Duration::from_millis(300),
                ..options()
            },
        )
        .await;
    let answer = hanging.imds("resource=https://vault.azure.net").await;
    let (status, _, description) = imds_error(&answer);
    assert_eq!(status, 500, "{}", answer.text);
    assert!(description.contains("no answer within 300ms"), "{description}");
    assert_eq!(hanging.metrics.request_count("imds_token", "failed"), 1);
}
