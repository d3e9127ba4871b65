//! ARM's `Microsoft.Storage/storageAccounts` over real TLS, with tokens of the Rust SDK's
//! `WorkloadIdentityCredential`: the account as azure-cli reads it (200 on create, the local
//! blob endpoint), updates and lists, global names, `checkNameAvailability`, keys refused to
//! everyone, RBAC on each call (an identity without a role is refused before anything is
//! looked up), the storage roles assignable at an account, the group's delete taking it, and
//! a file naming an account twice (or an invalid name) refused at start.

use reqwest::Method;
use serde_json::{Value, json};
use wif_azure::ops;

use super::principals::*;
use super::*;

const API: &str = "api-version=2025-08-01";

fn group_path(group: &str) -> String {
    format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}")
}

fn account_path(group: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Storage/storageAccounts/{name}",
        group_path(group)
    )
}

fn create_body() -> Value {
    json!({
        "location": "eastus",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "tags": {"team": "a"},
        "properties": {"allowSharedKeyAccess": false, "encryption": {"keySource": "Microsoft.Storage", "services": {"blob": {}}}},
    })
}

#[tokio::test]
async fn accounts_are_created_read_updated_listed_and_deleted_as_azure_cli_expects() {
    let plane = Plane::start().await;
    let owner = plane.token(CLIENT, "admin", For::Arm).await;
    let url = |path: &str| format!("{path}?{API}");

    let (status, made) = plane
        .call(
            Method::PUT,
            &url(&account_path("rg", "stwif01")),
            &owner,
            Some(create_body()),
        )
        .await;
    assert_eq!(status, 200, "the SDKs' create takes 200 or 202, never 201: {made}");
    assert_eq!(made["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        made["properties"]["primaryEndpoints"]["blob"],
        "https://stwif01.blob.storage.wif.test/"
    );
    assert_eq!(
        made["properties"]["primaryEndpoints"]["dfs"],
        "https://stwif01.dfs.storage.wif.test/"
    );
    assert_eq!(
        (
            &made["kind"],
            &made["sku"]["name"],
            &made["sku"]["tier"],
            &made["properties"]["allowSharedKeyAccess"]
        ),
        (
            &json!("StorageV2"),
            &json!("Standard_LRS"),
            &json!("Standard"),
            &json!(false)
        )
    );
    assert_eq!(made["id"], json!(account_path("rg", "stwif01")));

    let (status, read) = plane
        .call(Method::GET, &url(&account_path("RG", "stwif01")), &owner, None)
        .await;
    assert_eq!((status, &read["name"]), (200, &json!("stwif01")), "{read}");

    let patch =
        json!({"tags": {"team": "b"}, "properties": {"allowBlobPublicAccess": false, "minimumTlsVersion": "TLS1_2"}});
    let (status, patched) = plane
        .call(Method::PATCH, &url(&account_path("rg", "stwif01")), &owner, Some(patch))
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["tags"], json!({"team": "b"}));
    assert_eq!(
        (
            &patched["properties"]["allowBlobPublicAccess"],
            &patched["properties"]["minimumTlsVersion"],
            &patched["properties"]["allowSharedKeyAccess"]
        ),
        (&json!(false), &json!("TLS1_2"), &json!(false))
    );
    let (status, bad) = plane
        .call(
            Method::PATCH,
            &url(&account_path("rg", "stwif01")),
            &owner,
            Some(json!({"properties": {"allowSharedKeyAccess": "no"}})),
        )
        .await;
    assert_eq!((status, code(&bad)), (400, "InvalidRequestContent"), "{bad}");

    for path in [
        format!("{}/providers/Microsoft.Storage/storageAccounts", group_path("rg")),
        format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Storage/storageAccounts"),
    ] {
        let (status, listed) = plane.call(Method::GET, &url(&path), &owner, None).await;
        assert_eq!(status, 200, "{path}: {listed}");
        assert_eq!(listed["value"].as_array().map(Vec::len), Some(1), "{path}: {listed}");
        assert_eq!(listed["value"][0]["name"], "stwif01");
    }
    let stored = plane.state().await;
    assert_eq!(
        stored.subscriptions[0].resource_groups[0].storage_accounts[0]
            .minimum_tls_version
            .as_deref(),
        Some("TLS1_2"),
        "kept in the state the store writes"
    );

    let (status, _) = plane
        .call(Method::DELETE, &url(&account_path("rg", "stwif01")), &owner, None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = plane
        .call(Method::DELETE, &url(&account_path("rg", "stwif01")), &owner, None)
        .await;
    assert_eq!(status, 204, "an absent account");
    let (status, gone) = plane
        .call(Method::GET, &url(&account_path("rg", "stwif01")), &owner, None)
        .await;
    assert_eq!((status, code(&gone)), (404, "ResourceNotFound"), "{gone}");
}

#[tokio::test]
async fn names_are_global_checked_by_check_name_availability_and_keys_are_refused() {
    let plane = Plane::start().await;
    let owner = plane.token(CLIENT, "admin", For::Arm).await;
    let url = |path: &str| format!("{path}?{API}");
    let check = format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Storage/checkNameAvailability?{API}");
    let (status, free) = plane
        .call(
            Method::POST,
            &check,
            &owner,
            Some(json!({"name": "stwif02", "type": "Microsoft.Storage/storageAccounts"})),
        )
        .await;
    assert_eq!((status, &free), (200, &json!({"nameAvailable": true})));

    let (status, _) = plane
        .call(
            Method::PUT,
            &url(&account_path("rg", "stwif02")),
            &owner,
            Some(create_body()),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = plane
        .call(
            Method::PUT,
            &url(&group_path("rg2")),
            &owner,
            Some(json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, taken) = plane
        .call(
            Method::PUT,
            &url(&account_path("rg2", "stwif02")),
            &owner,
            Some(create_body()),
        )
        .await;
    assert_eq!((status, code(&taken)), (409, "StorageAccountAlreadyTaken"), "{taken}");
    assert_eq!(
        taken["error"]["message"],
        "The storage account named stwif02 is already taken."
    );
    let (_, answer) = plane
        .call(Method::POST, &check, &owner, Some(json!({"name": "stwif02"})))
        .await;
    assert_eq!(
        answer,
        json!({"nameAvailable": false, "reason": "AlreadyExists", "message": "The storage account named stwif02 is already taken."})
    );
    let (_, answer) = plane
        .call(Method::POST, &check, &owner, Some(json!({"name": "St-Wif"})))
        .await;
    assert_eq!(
        (&answer["nameAvailable"], &answer["reason"]),
        (&json!(false), &json!("AccountNameInvalid"))
    );
    let (status, invalid) = plane
        .call(
            Method::PUT,
            &url(&account_path("rg2", "St-Wif")),
            &owner,
            Some(create_body()),
        )
        .await;
    assert_eq!((status, code(&invalid)), (400, "AccountNameInvalid"), "{invalid}");

    for action in ["listKeys", "regenerateKey", "ListAccountSas"] {
        let path = format!("{}/{action}?{API}", account_path("rg", "stwif02"));
        let (status, refused) = plane.call(Method::POST, &path, &owner, Some(json!({}))).await;
        assert_eq!(
            (status, code(&refused)),
            (409, "KeyBasedAuthenticationNotPermitted"),
            "{action}: {refused}"
        );
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("Microsoft Entra authorization only") && message.contains("--auth-mode login"),
            "{message}"
        );
    }
    let missing = format!("{}/listKeys?{API}", account_path("rg", "nosuchaccount"));
    let (status, answer) = plane.call(Method::POST, &missing, &owner, None).await;
    assert_eq!((status, code(&answer)), (404, "ResourceNotFound"), "{answer}");

    // The group's delete takes its account, and the name is free again.
    let (status, _) = plane.call(Method::DELETE, &url(&group_path("rg")), &owner, None).await;
    assert_eq!(status, 200);
    assert!(ops::find_storage_account(&plane.state().await, "stwif02").is_none());
    let (_, answer) = plane
        .call(Method::POST, &check, &owner, Some(json!({"name": "stwif02"})))
        .await;
    assert_eq!(answer, json!({"nameAvailable": true}));
}

#[tokio::test]
async fn every_call_is_authorized_and_the_storage_roles_are_assignable_at_an_account() {
    let plane = Plane::start().await;
    let owner = plane.token(CLIENT, "admin", For::Arm).await;
    let intruder = plane.token(INTRUDER, "intruder", For::Arm).await;
    let contributor = plane.token(CONTRIBUTOR, "contributor", For::Arm).await;
    let account = account_path("rg", "stwif03");
    let url = |suffix: &str| format!("{account}{suffix}?{API}");
    let (status, _) = plane
        .call(Method::PUT, &url(""), &contributor, Some(create_body()))
        .await;
    assert_eq!(status, 200, "a Contributor manages accounts");

    let calls = [
        (Method::GET, url(""), "Microsoft.Storage/storageAccounts/read"),
        (Method::PUT, url(""), "Microsoft.Storage/storageAccounts/write"),
        (Method::PATCH, url(""), "Microsoft.Storage/storageAccounts/write"),
        (Method::DELETE, url(""), "Microsoft.Storage/storageAccounts/delete"),
        (
            Method::POST,
            url("/listKeys"),
            "Microsoft.Storage/storageAccounts/listKeys/action",
        ),
    ];
    for (method, path, action) in calls {
        let (status, refused) = plane.call(method.clone(), &path, &intruder, Some(create_body())).await;
        assert_eq!(
            (status, code(&refused)),
            (403, "AuthorizationFailed"),
            "{method} {path}"
        );
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("action '{action}'")), "{message}");
    }
    let (status, refused) = plane
        .call(
            Method::POST,
            &format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Storage/checkNameAvailability?{API}"),
            &intruder,
            Some(json!({"name": "stwif03"})),
        )
        .await;
    assert_eq!((status, code(&refused)), (403, "AuthorizationFailed"), "{refused}");

    // Any role by name at the account, as `az role assignment create --role R --scope <id>`
    // looks it up, then the assignment.
    for (role, id) in [
        ("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
        ("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"),
        ("Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"),
        ("Storage Account Contributor", "17d1049b-9a84-46fb-8f53-869881c3d3ab"),
    ] {
        let lookup = format!(
            "{account}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-05-01-preview&$filter=roleName%20eq%20%27{}%27",
            role.replace(' ', "%20")
        );
        let (status, found) = plane.call(Method::GET, &lookup, &owner, None).await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["value"].as_array().map(Vec::len), Some(1), "{role}: {found}");
        assert_eq!(
            found["value"][0]["id"],
            json!(format!(
                "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{id}"
            ))
        );
    }
    let assignment = format!(
        "{account}/providers/Microsoft.Authorization/roleAssignments/a5519000-0000-4000-8000-0000000000b1?api-version=2022-04-01"
    );
    let body = json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
        "principalId": CONTRIBUTOR_OBJECT,
        "principalType": "ServicePrincipal",
    }});
    let (status, made) = plane.call(Method::PUT, &assignment, &owner, Some(body)).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["properties"]["scope"], json!(account));

    // The account's delete takes its assignments with it.
    let (status, _) = plane.call(Method::DELETE, &url(""), &contributor, None).await;
    assert_eq!(status, 200);
    let stored = plane.state().await;
    assert!(
        !stored
            .role_assignments
            .iter()
            .any(|a| a.scope.eq_ignore_ascii_case(&account)),
        "{:?}",
        stored.role_assignments
    );
}

#[tokio::test]
async fn the_cloud_metadata_names_the_storage_suffix() {
    let plane = Plane::start().await;
    let answer: Value = plane
        .direct
        .get(format!("{}/metadata/endpoints?api-version=2022-09-01", plane.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["suffixes"],
        json!({"keyVaultDns": "vault.wif.test", "storage": "storage.wif.test"})
    );
}

#[tokio::test]
async fn a_file_with_an_account_name_twice_or_invalid_does_not_start() {
    let dir = std::env::temp_dir().join(format!("wif-azure-it-{}", random_uuid().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = |second: &str| {
        format!(
            "tenants: [{{tenantId: {TENANT}}}]\nsubscriptions:\n  - subscriptionId: {SUBSCRIPTION}\n    tenantId: {TENANT}\n    resourceGroups:\n      - {{name: a, location: eastus, storageAccounts: [{{name: stwif01, location: eastus}}]}}\n      - {{name: b, location: eastus, storageAccounts: [{{name: {second}, location: eastus}}]}}\n"
        )
    };
    let twice = wif_azure::testing::start(&yaml("stwif01"), &dir).await.unwrap_err();
    assert!(
        twice.to_string().contains(
            "subscriptions[0].resourceGroups[1].storageAccounts[0]: storage account name \"stwif01\" is used twice"
        ),
        "{twice}"
    );
    let invalid = wif_azure::testing::start(&yaml("StWif02"), &dir).await.unwrap_err();
    assert!(invalid.to_string().contains("\"StWif02\" is invalid"), "{invalid}");
    let (_emulator, plane) = wif_azure::testing::start(&yaml("stwif02"), &dir).await.unwrap();
    let state = plane.state().unwrap();
    let config = state.store.config.lock().await;
    assert!(ops::find_storage_account(&config, "stwif02").is_some());
    drop(config);
    let _ = std::fs::remove_dir_all(&dir);
}
