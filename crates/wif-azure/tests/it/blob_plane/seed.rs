//! Seed 000 on the blob plane: the reader reads in tenant R, the writer writes in tenant W,
//! each refused where RBAC or its tenant says no.

use reqwest::StatusCode;

use super::*;

#[tokio::test]
async fn seed_000_the_reader_reads_the_writer_writes_elsewhere_and_rbac_decides() {
    use reqwest::Method;
    let plane = start().await;
    let (owner, reader, writer) = (
        plane.token(OWNER, READER_TENANT).await,
        plane.token(READER, READER_TENANT).await,
        plane.token(WRITER, WRITER_TENANT).await,
    );

    // The SDKs' first request carries no token: the challenge names the tenant and resource.
    let (status, headers, _) = plane
        .call(Method::GET, "stread", "/?comp=list", None, &[], Vec::new())
        .await;
    assert_eq!((status.as_u16(), code(&headers)), (401, "NoAuthenticationInformation"));
    let challenge = headers.get("www-authenticate").unwrap().to_str().unwrap();
    assert!(
        challenge.ends_with(&format!(
            "/{READER_TENANT}/oauth2/authorize resource_id=https://storage.azure.com"
        )),
        "{challenge}"
    );

    let put = |who: &str, path: &str, body: &[u8]| {
        let (who, path, body) = (who.to_owned(), path.to_owned(), body.to_vec());
        let plane = &plane;
        async move { plane.call(Method::PUT, "stread", &path, Some(&who), &[], body).await }
    };
    assert_eq!(
        put(&owner, "/input?restype=container", b"").await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        put(&owner, "/input/report.csv", b"a,b\n1,2\n").await.0,
        StatusCode::CREATED
    );

    // Blocks, as the SDKs split a larger upload.
    assert_eq!(
        put(&owner, "/input/big.bin?comp=block&blockid=YmxrMA%3D%3D", b"hello ")
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        put(&owner, "/input/big.bin?comp=block&blockid=YmxrMQ%3D%3D", b"blocks")
            .await
            .0,
        StatusCode::CREATED
    );
    let list = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>YmxrMA==</Latest><Latest>YmxrMQ==</Latest></BlockList>";
    assert_eq!(
        put(&owner, "/input/big.bin?comp=blocklist", list).await.0,
        StatusCode::CREATED
    );

    // The reader reads, whole and by range, and lists.
    let (status, _, body) = plane
        .call(Method::GET, "stread", "/input/big.bin", Some(&reader), &[], Vec::new())
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "hello blocks"));
    let (status, headers, body) = plane
        .call(
            Method::GET,
            "stread",
            "/input/big.bin",
            Some(&reader),
            &[("x-ms-range", "bytes=6-")],
            Vec::new(),
        )
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::PARTIAL_CONTENT, "blocks"));
    assert_eq!(headers.get("content-range").unwrap(), "bytes 6-11/12");
    let (status, _, body) = plane
        .call(
            Method::GET,
            "stread",
            "/input?restype=container&comp=list&prefix=r",
            Some(&reader),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<Name>report.csv</Name>") && !body.contains("big.bin"),
        "{body}"
    );

    // ...and may not write.
    let (status, headers, body) = put(&reader, "/input/report.csv", b"x").await;
    assert_eq!(
        (status.as_u16(), code(&headers)),
        (403, "AuthorizationPermissionMismatch")
    );
    assert!(
        body.contains(&format!("principal {READER} holds no role assignment granting")),
        "{body}"
    );

    // The writer writes in its own tenant's account...
    let (status, _, _) = plane
        .call(
            Method::PUT,
            "stwrite",
            "/output?restype=container",
            Some(&writer),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = plane
        .call(
            Method::PUT,
            "stwrite",
            "/output/result.csv",
            Some(&writer),
            &[],
            b"done".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // ...and its token is refused at the reader's account, whose tenant is another.
    let (status, headers, body) = plane
        .call(
            Method::GET,
            "stread",
            "/input/report.csv",
            Some(&writer),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!((status.as_u16(), code(&headers)), (401, "InvalidAuthenticationInfo"));
    assert!(
        body.contains(&format!("the token is from tenant {WRITER_TENANT}")),
        "{body}"
    );

    // An ARM token is for another surface.
    let arm = plane.arm_token(OWNER, READER_TENANT).await;
    let (status, headers, body) = plane
        .call(Method::GET, "stread", "/input/report.csv", Some(&arm), &[], Vec::new())
        .await;
    assert_eq!((status.as_u16(), code(&headers)), (401, "InvalidAuthenticationInfo"));
    assert!(body.contains("Audience validation failed"), "{body}");
}

#[tokio::test]
async fn blobs_seeded_in_the_config_are_served_from_the_first_request() {
    let plane = start().await;
    let reader = plane.token(READER, READER_TENANT).await;
    let (status, headers, body) = plane
        .call(
            reqwest::Method::GET,
            "stread",
            "/seeded/docs/hello.txt",
            Some(&reader),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "hello from the config"));
    assert_eq!(headers.get("content-type").unwrap(), "text/plain");
    // A seed Storage would refuse is refused at start, naming where it is.
    let dir = std::env::temp_dir().join(format!("wif-azure-blob-{}", random_uuid().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = yaml("").replace("name: seeded", "name: Seeded_Box");
    let config: wif_azure::AzureConfig = serde_saphyr::from_str(&bad).unwrap();
    let refused = wif_azure::AzurePlane::new(config, dir.clone(), None).unwrap_err();
    let text = wif_core::error_text::error_chain(&refused);
    assert!(
        text.contains("storageAccounts[0].containers[0]") && text.contains("container name 'Seeded_Box'"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
