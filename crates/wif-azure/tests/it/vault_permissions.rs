//! Who decides a vault's data: a Contributor may not flip an RBAC vault to access policies, nor
//! change a vault's access policies (either would hand it the secrets); a secret write is
//! decided again when it commits, so a role revoked, or the vault's global name taken by another
//! tenant, while its body is in flight refuses it.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use axum::body::{Body, Bytes};
use reqwest::Method;
use serde_json::{Value, json};
use wif_azure::config::KeyVaultConfig;
use wif_azure::ops;
use wif_azure::store::CommitError;

use super::principals::*;
use super::*;

fn vault_path(name: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{name}?api-version=2023-07-01"
    )
}

fn vault_body(rbac: bool, policy_for: Option<&str>) -> Value {
    let policies: Vec<Value> = policy_for
        .map(|oid| json!({"tenantId": TENANT, "objectId": oid, "permissions": {"secrets": ["get", "list"]}}))
        .into_iter()
        .collect();
    json!({"location": "eastus", "properties": {
        "tenantId": TENANT, "sku": {"family": "A", "name": "standard"},
        "enableRbacAuthorization": rbac, "accessPolicies": policies,
    }})
}

#[tokio::test]
async fn a_contributor_can_neither_flip_the_permission_model_nor_grant_itself_a_policy() {
    let plane = Plane::start().await;
    let contributor = plane.token(CONTRIBUTOR, "contributor", For::Arm).await;
    let secret = format!("https://{POLICY_VAULT}.vault.wif.test/secrets/greeting?api-version=7.4");
    let data = plane.token(CONTRIBUTOR, "contributor", For::Vault).await;

    let flip = vault_body(false, Some(CONTRIBUTOR_OBJECT));
    let (status, refused) = plane
        .call(Method::PUT, &vault_path(RBAC_VAULT), &contributor, Some(flip))
        .await;
    assert_eq!((status, code(&refused)), (403, "InsufficientPermissions"), "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Caller is not allowed to change permission model."),
        "{message}"
    );
    assert!(
        message.contains("action=Microsoft.Authorization/roleAssignments/write"),
        "{message}"
    );

    let grant = vault_body(false, Some(CONTRIBUTOR_OBJECT));
    let (status, refused) = plane
        .call(Method::PUT, &vault_path(POLICY_VAULT), &contributor, Some(grant))
        .await;
    assert_eq!((status, code(&refused)), (403, "InsufficientPermissions"), "{refused}");
    let (status, denied) = plane.call(Method::GET, &secret, &data, None).await;
    assert_eq!((status, code(&denied)), (403, "Forbidden"), "{denied}");

    // Vault writes that leave data access alone are a Contributor's (vaults/write).
    let mut same = vault_body(true, None);
    same["tags"] = json!({"team": "a"});
    let (status, answer) = plane
        .call(Method::PUT, &vault_path(RBAC_VAULT), &contributor, Some(same))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["properties"]["enableRbacAuthorization"], true);
    // An update that leaves the model and the policies out keeps them (no silent flip).
    let tags_only = json!({"location": "eastus", "tags": {"team": "b"}});
    let (status, answer) = plane
        .call(Method::PUT, &vault_path(POLICY_VAULT), &contributor, Some(tags_only))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["properties"]["enableRbacAuthorization"], false);
    assert_eq!(answer["properties"]["accessPolicies"][0]["objectId"], OWNER_OBJECT);

    // The Owner (roleAssignments/write) may change the model.
    let owner = plane.token(CLIENT, "admin", For::Arm).await;
    let (status, answer) = plane
        .call(
            Method::PUT,
            &vault_path(RBAC_VAULT),
            &owner,
            Some(vault_body(false, None)),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["properties"]["enableRbacAuthorization"], false);
}

/// A secret PUT by the Contributor identity (Secrets Officer of the RBAC vault), decided and
/// then waiting for its body; and the sender of that body.
async fn held_write(
    plane: &Plane,
) -> (
    std::pin::Pin<Box<impl Future<Output = axum::response::Response> + use<>>>,
    tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let token = plane.token(CONTRIBUTOR, "contributor", For::Vault).await;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let request = axum::http::Request::builder()
        .method("PUT")
        .uri("/secrets/raced?api-version=7.4")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap();
    let state = plane.handle.state().unwrap();
    let mut write = Box::pin(async move {
        wif_azure::vault::handle(&state, &format!("{RBAC_VAULT}.vault.wif.test"), RBAC_VAULT, request).await
    });
    // One poll: authenticated, permitted, now waiting on the body (nothing else holds the lock).
    let first = write.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert!(matches!(first, Poll::Pending), "the write waits for its body");
    (write, sender)
}

async fn send_body(sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>) {
    sender
        .send(Ok(Bytes::from_static(br#"{"value": "stolen"}"#)))
        .await
        .unwrap();
}

async fn body_json(response: axum::response::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn has_secret(config: &wif_azure::AzureConfig, vault: &str, secret: &str) -> bool {
    ops::find_vault(config, vault).is_some_and(|(v, _)| v.secrets.get(secret, None).is_ok())
}

#[tokio::test]
async fn a_role_revoked_while_the_body_is_in_flight_refuses_the_write() {
    let plane = Plane::start().await;
    let (write, sender) = held_write(&plane).await;
    let state = plane.handle.state().unwrap();
    state
        .store
        .change(|c| {
            c.role_assignments.retain(|a| a.name != OFFICER_ASSIGNMENT);
            Ok::<_, CommitError>(())
        })
        .await
        .unwrap();
    send_body(sender).await;
    let (status, answer) = body_json(write.await).await;
    assert_eq!(
        (status, answer["error"]["innererror"]["code"].as_str()),
        (403, Some("ForbiddenByRbac")),
        "{answer}"
    );
    assert!(!has_secret(&plane.state().await, RBAC_VAULT, "raced"));
}

#[tokio::test]
async fn a_write_for_a_vault_whose_name_another_tenant_took_meanwhile_lands_nowhere() {
    let plane = Plane::start().await;
    let (write, sender) = held_write(&plane).await;
    let state = plane.handle.state().unwrap();
    state
        .store
        .change(|c| {
            ops::delete_vault(c, SUBSCRIPTION, "rg", RBAC_VAULT)?;
            let theirs = KeyVaultConfig {
                name: RBAC_VAULT.into(),
                location: "eastus".into(),
                enable_rbac_authorization: false,
                access_policies: Vec::new(),
                sku: "standard".into(),
                tags: Default::default(),
                secrets: Default::default(),
            };
            ops::put_vault(c, OTHER_SUBSCRIPTION, "rg-b", theirs).map(|_| ())
        })
        .await
        .unwrap();
    send_body(sender).await;
    let (status, answer) = body_json(write.await).await;
    assert_eq!((status, code(&answer)), (404, "VaultNotFound"), "{answer}");
    let config = plane.state().await;
    let (_, place) = ops::find_vault(&config, RBAC_VAULT).unwrap();
    assert_eq!(place.tenant_id, OTHER_TENANT);
    assert!(
        !has_secret(&config, RBAC_VAULT, "raced"),
        "nothing landed in the other tenant's vault"
    );
}

/// The query as Key Vault reads it, decoded: Node's `@azure/keyvault-secrets` 4.12 sends
/// `?api%2Dversion=2026-04-01`, which is the api-version; none at all is `BadParameter`.
#[tokio::test]
async fn the_api_version_is_read_decoded_and_none_is_a_bad_parameter() {
    let plane = Plane::start().await;
    let token = plane.token(CONTRIBUTOR, "contributor", For::Vault).await;
    let state = plane.handle.state().unwrap();
    let host = format!("{RBAC_VAULT}.vault.wif.test");
    let list = |query: &str| {
        axum::http::Request::builder()
            .uri(format!("/secrets{query}"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, body) =
        body_json(wif_azure::vault::handle(&state, &host, RBAC_VAULT, list("?api%2Dversion=2026-04-01")).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["value"].is_array(), "{body}");
    for missing in ["", "?apiversion=7.4", "?x=api-version%3D7.4"] {
        let (status, body) = body_json(wif_azure::vault::handle(&state, &host, RBAC_VAULT, list(missing)).await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("BadParameter")),
            "{missing}: {body}"
        );
    }
}
