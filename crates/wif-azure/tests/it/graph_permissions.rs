//! Graph's authorization against the takeover a security probe found: a role-less identity's
//! Graph token wrote a credential onto the Owner app and then exchanged as it. Writes need
//! `Application.ReadWrite.All` (or `Application.ReadWrite.OwnedBy` and ownership), reads a read
//! permission, identities' credentials are ARM's, and a token carries its grants as `roles`.

use reqwest::Method;
use serde_json::{Value, json};

use super::principals::*;
use super::*;

fn fic(name: &str) -> Value {
    json!({"name": name, "issuer": ISSUER, "subject": format!("system:serviceaccount:demo:{name}"), "audiences": ["api://AzureADTokenExchange"]})
}

fn credentials(collection: &str, id: &str) -> String {
    format!("/v1.0/{collection}/{id}/federatedIdentityCredentials")
}

fn roles_of(token: &str) -> Value {
    let token = wif_jose::decode_unverified(token).unwrap();
    token.claims.get("roles").cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_role_less_identity_cannot_take_the_owner_app_over_through_graph() {
    let plane = Plane::start().await;
    let before = plane.state().await;
    let intruder = plane.token(INTRUDER, "intruder", For::Graph).await;
    assert_eq!(roles_of(&intruder), Value::Null, "no grant, no roles claim");
    let admin_app = credentials("applications", CLIENT);
    let victim = credentials("userAssignedIdentities", VICTIM_IDENTITY);
    let probes = [
        (Method::POST, admin_app.clone(), Some(fic("intruder"))),
        (Method::GET, admin_app.clone(), None),
        (
            Method::PATCH,
            format!("{admin_app}/admin"),
            Some(json!({"subject": "system:serviceaccount:demo:intruder"})),
        ),
        (Method::DELETE, format!("{admin_app}/admin"), None),
        (Method::POST, victim.clone(), Some(fic("intruder"))),
        (Method::GET, victim.clone(), None),
        // Not even whether an application exists.
        (
            Method::POST,
            credentials("applications", "00000000-0000-4000-8000-00000000dead"),
            Some(fic("x")),
        ),
        (Method::GET, "/v1.0/servicePrincipals".to_owned(), None),
        (
            Method::POST,
            "/v1.0/directoryObjects/getByIds".to_owned(),
            Some(json!({"ids": [CLIENT]})),
        ),
    ];
    for (method, path, body) in probes {
        let (status, answer) = plane.call(method.clone(), &path, &intruder, body).await;
        assert_eq!(
            (status, code(&answer)),
            (403, "Authorization_RequestDenied"),
            "{method} {path}: {answer}"
        );
    }
    assert_eq!(plane.state().await, before, "nothing changed");
}

#[tokio::test]
async fn application_readwrite_all_writes_any_app_and_read_all_only_reads() {
    let plane = Plane::start().await;
    let writer = plane.token(WRITER, "writer", For::Graph).await;
    assert_eq!(roles_of(&writer), json!(["Application.ReadWrite.All"]));
    let owned = credentials("applications", OWNED);
    let (status, created) = plane
        .call(Method::POST, &owned, &writer, Some(fic("from-writer")))
        .await;
    assert_eq!(status, 201, "{created}");
    // Still not an identity's: that is ARM's, under RBAC.
    let victim = credentials("userAssignedIdentities", VICTIM_IDENTITY);
    let (status, refused) = plane.call(Method::POST, &victim, &writer, Some(fic("w"))).await;
    assert_eq!(
        (status, code(&refused)),
        (403, "Authorization_RequestDenied"),
        "{refused}"
    );
    assert!(
        refused["error"]["message"].as_str().unwrap().contains("through ARM"),
        "{refused}"
    );

    let reader = plane.token(READER, "reader", For::Graph).await;
    let (status, list) = plane.call(Method::GET, &owned, &reader, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["value"][0]["name"], "from-writer");
    let (status, principals) = plane.call(Method::GET, "/v1.0/servicePrincipals", &reader, None).await;
    assert_eq!(status, 200, "{principals}");
    let (status, refused) = plane
        .call(Method::POST, &owned, &reader, Some(fic("from-reader")))
        .await;
    assert_eq!(
        (status, code(&refused)),
        (403, "Authorization_RequestDenied"),
        "{refused}"
    );
    let (status, refused) = plane
        .call(Method::DELETE, &format!("{owned}/from-writer"), &reader, None)
        .await;
    assert_eq!(
        (status, code(&refused)),
        (403, "Authorization_RequestDenied"),
        "{refused}"
    );
}

#[tokio::test]
async fn owned_by_reaches_the_owned_app_only() {
    let plane = Plane::start().await;
    let owner = plane.token(OWNER, "owner", For::Graph).await;
    let (status, created) = plane
        .call(
            Method::POST,
            &credentials("applications", OWNED),
            &owner,
            Some(fic("by-owner")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    // Another app is, to it, as one that does not exist: it cannot tell them apart.
    for app in [CLIENT, OWNER, "00000000-0000-4000-8000-00000000dead"] {
        for (method, body) in [(Method::POST, Some(fic("by-owner"))), (Method::GET, None)] {
            let (status, refused) = plane
                .call(method.clone(), &credentials("applications", app), &owner, body)
                .await;
            assert_eq!(
                (status, code(&refused)),
                (404, "Request_ResourceNotFound"),
                "{method} {app}: {refused}"
            );
        }
    }
    // OwnedBy does not read the directory.
    let (status, refused) = plane.call(Method::GET, "/v1.0/servicePrincipals", &owner, None).await;
    assert_eq!(
        (status, code(&refused)),
        (403, "Authorization_RequestDenied"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_unknown_graph_permission_is_refused_at_start() {
    let yaml = format!(
        "tenants:\n  - tenantId: {TENANT}\n    applications:\n      - {{ displayName: a, appId: {CLIENT}, graphAppRoles: [Application.ReadWrite.Al] }}\n"
    );
    let refused = wif_azure::testing::start(&yaml, std::path::Path::new("."))
        .await
        .map(|_| ())
        .unwrap_err();
    let text = wif_core::error_text::error_chain(&refused);
    assert!(text.contains("\"Application.ReadWrite.Al\" is not one of"), "{text}");
}
