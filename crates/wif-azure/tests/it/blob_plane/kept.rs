//! What the blob plane keeps: every acknowledged blob and block across a restart with a state
//! file, and nothing of an account deleted and made again.

use reqwest::StatusCode;

use super::*;

#[tokio::test]
async fn with_a_state_file_every_acknowledged_blob_and_block_survives_a_restart() {
    use reqwest::Method;
    let dir = std::env::temp_dir().join(format!("wif-azure-blob-{}", random_uuid().unwrap()));
    let state_file = dir.join("azure-state.yaml");
    {
        let plane = start_in(&dir, Some(state_file.clone())).await;
        let owner = plane.token(OWNER, READER_TENANT).await;
        for (path, body) in [
            ("/kept?restype=container", &b""[..]),
            ("/kept/a/b.bin", b"\x00\x9f\xff bytes"),
            ("/kept/blocks?comp=block&blockid=YmxrMA%3D%3D", b"not yet committed"),
        ] {
            let (status, _, body) = plane
                .call(Method::PUT, "stread", path, Some(&owner), &[], body.to_vec())
                .await;
            assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
        }
    }
    let files: Vec<_> = std::fs::read_dir(dir.join("azure-state.yaml.blobs")).unwrap().collect();
    assert_eq!(files.len(), 1, "one file for the one account used");
    let plane = start_in(&dir, Some(state_file)).await;
    let reader = plane.token(READER, READER_TENANT).await;
    let response = plane
        .http
        .get("https://stread.blob.storage.wif.test/kept/a/b.bin")
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"\x00\x9f\xff bytes");
    let (status, _, body) = plane
        .call(
            Method::GET,
            "stread",
            "/kept/blocks?comp=blocklist",
            Some(&reader),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<UncommittedBlocks><Block><Name>YmxrMA==</Name><Size>17</Size></Block>"),
        "{body}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_account_deleted_and_made_again_starts_with_no_blobs() {
    use reqwest::Method;
    let dir = std::env::temp_dir().join(format!("wif-azure-blob-{}", random_uuid().unwrap()));
    let plane = start_in(&dir, Some(dir.join("azure-state.yaml"))).await;
    let owner = plane.token(OWNER, READER_TENANT).await;
    for path in ["/old?restype=container", "/old/blob"] {
        let (status, _, _) = plane
            .call(Method::PUT, "stread", path, Some(&owner), &[], b"x".to_vec())
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let arm = plane.arm_token(OWNER, READER_TENANT).await;
    let ca = reqwest::Certificate::from_pem(plane.ca_pem.as_bytes()).unwrap();
    let direct = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let account = format!(
        "{}/subscriptions/{SUB_R}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stread?api-version=2024-01-01",
        plane.url
    );
    let deleted = direct.delete(&account).bearer_auth(&arm).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let made = direct
        .put(&account)
        .bearer_auth(&arm)
        .json(&serde_json::json!({"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::OK);
    // The delete took the account's role assignments too, as Azure's does: assign again.
    let assignment = format!(
        "{}/subscriptions/{SUB_R}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stread/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
        plane.url,
        random_uuid().unwrap()
    );
    let assigned = direct
        .put(&assignment)
        .bearer_auth(&arm)
        .json(&serde_json::json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{SUB_R}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_OWNER}"),
            "principalId": OWNER, "principalType": "ServicePrincipal"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(assigned.status(), StatusCode::CREATED);
    let (status, headers, _) = plane
        .call(Method::GET, "stread", "/old/blob", Some(&owner), &[], Vec::new())
        .await;
    assert_eq!((status.as_u16(), code(&headers)), (404, "ContainerNotFound"));
    let left = std::fs::read_dir(dir.join("azure-state.yaml.blobs"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "the deleted account's file is gone");
    let _ = std::fs::remove_dir_all(&dir);
}
