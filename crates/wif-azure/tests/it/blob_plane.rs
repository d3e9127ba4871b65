//! The blob data plane over real TLS through the CONNECT front, with tokens the Azure SDK for
//! Rust's `WorkloadIdentityCredential` gets from one projected token (seed 000): an owner makes
//! a container and blobs in tenant R's account, the reader reads and is refused a write, the
//! writer of tenant W is refused at R's account, and bad input gets Storage's codes.

use reqwest::StatusCode;

use super::*;

const READER_TENANT: &str = TENANT;
const WRITER_TENANT: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const OWNER: &str = "0a0a0a0a-0000-4000-8000-000000000001";
const READER: &str = "0b0b0b0b-0000-4000-8000-000000000002";
const WRITER: &str = "0c0c0c0c-0000-4000-8000-000000000003";
const SUB_R: &str = "5ab5c71b-0000-4000-8000-0000000000a1";
const SUB_W: &str = "5ab5c71b-0000-4000-8000-0000000000b1";
const BLOB_OWNER: &str = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
const BLOB_CONTRIBUTOR: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

fn yaml(issuers: &str) -> String {
    let app = |name: &str, id: &str| {
        format!(
            "      - {{ displayName: {name}, appId: {id}, objectId: {id}, federatedIdentityCredentials: [{{ name: k8s, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}] }}\n"
        )
    };
    let assignment = |n: u32, sub: &str, account: &str, role: &str, principal: &str| {
        format!(
            "  - {{ name: 0a55a55a-0000-4000-8000-00000000000{n}, scope: /subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{account}, roleDefinitionId: /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}, principalId: {principal}, principalType: ServicePrincipal }}\n"
        )
    };
    format!(
        "tenants:\n  - tenantId: {READER_TENANT}\n    applications:\n{}{}  - tenantId: {WRITER_TENANT}\n    applications:\n{}subscriptions:\n  - {{ subscriptionId: {SUB_R}, tenantId: {READER_TENANT}, callerRole: None, resourceGroups: [{{ name: rg, location: eastus, storageAccounts: [{{ name: stread, location: eastus }}] }}] }}\n  - {{ subscriptionId: {SUB_W}, tenantId: {WRITER_TENANT}, callerRole: None, resourceGroups: [{{ name: rg, location: eastus, storageAccounts: [{{ name: stwrite, location: eastus }}] }}] }}\nroleAssignments:\n{}{}{}{}{issuers}",
        app("owner", OWNER),
        app("reader", READER),
        app("writer", WRITER),
        assignment(1, SUB_R, "stread", BLOB_OWNER, OWNER),
        assignment(2, SUB_R, "stread", BLOB_READER, READER),
        assignment(3, SUB_W, "stwrite", BLOB_CONTRIBUTOR, WRITER),
        // The owner app manages the accounts through ARM too (Owner at the subscription).
        format!(
            "  - {{ name: 0a55a55a-0000-4000-8000-000000000004, scope: /subscriptions/{SUB_R}, roleDefinitionId: /subscriptions/{SUB_R}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635, principalId: {OWNER}, principalType: ServicePrincipal }}\n"
        ),
    )
}

struct Plane {
    _emulator: wif_sts::LocalEmulator,
    http: reqwest::Client,
    url: String,
    ca_pem: String,
    token_file: PathBuf,
}

impl Plane {
    async fn token(&self, client: &str, tenant: &str) -> String {
        let credential = credential_as(&self.url, &self.ca_pem, self.token_file.clone(), client, tenant);
        let token = credential
            .get_token(&["https://storage.azure.com/.default"], None)
            .await
            .unwrap();
        token.token.secret().to_owned()
    }

    /// A request to `account`'s blob host; `token` as a bearer when given.
    async fn call(
        &self,
        method: reqwest::Method,
        account: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let mut request = self
            .http
            .request(method, format!("https://{account}.blob.storage.wif.test{path}"))
            .header("x-ms-version", "2025-05-05")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.text().await.unwrap())
    }
}

async fn start() -> Plane {
    let dir = std::env::temp_dir().join(format!("wif-azure-blob-{}", random_uuid().unwrap()));
    start_in(&dir, None).await
}

/// The plane over `dir` (the issuer's files and the token there), keeping its state in
/// `state_file` when given.
async fn start_in(dir: &std::path::Path, state_file: Option<PathBuf>) -> Plane {
    std::fs::create_dir_all(dir).unwrap();
    // A new key for each start: the token file and the JWKS the emulator reads are rewritten.
    let issuer = wif_issuer::StaticIssuer::create(ISSUER, dir).unwrap();
    let config: wif_azure::AzureConfig = serde_saphyr::from_str(&yaml(&issuer.issuers_section())).unwrap();
    let (directory, plane) = wif_azure::AzurePlane::new(config, dir.to_path_buf(), state_file).unwrap();
    let emulator = wif_sts::Emulator::new(directory)
        .plane(plane)
        .start_local()
        .await
        .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, issuer.token("demo", "app").unwrap()).unwrap();
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem.as_bytes()).unwrap();
    let proxy = reqwest::Proxy::https(format!("http://{}", emulator.tunnel_address.unwrap())).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .proxy(proxy)
        .build()
        .unwrap();
    Plane {
        url: emulator.url.clone(),
        ca_pem: emulator.ca_pem.clone(),
        _emulator: emulator,
        http,
        token_file,
    }
}

fn code(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

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
    let arm = credential_as(
        &plane.url,
        &plane.ca_pem,
        plane.token_file.clone(),
        OWNER,
        READER_TENANT,
    )
    .get_token(&["https://management.azure.com/.default"], None)
    .await
    .unwrap();
    let (status, headers, body) = plane
        .call(
            Method::GET,
            "stread",
            "/input/report.csv",
            Some(arm.token.secret()),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!((status.as_u16(), code(&headers)), (401, "InvalidAuthenticationInfo"));
    assert!(body.contains("Audience validation failed"), "{body}");
}

#[tokio::test]
async fn bad_input_gets_storages_codes_and_nothing_breaks() {
    use reqwest::Method;
    let plane = start().await;
    let owner = plane.token(OWNER, READER_TENANT).await;
    let call = |method: Method, path: &str, headers: &[(&str, &str)], body: &[u8]| {
        let (path, headers, body) = (
            path.to_owned(),
            headers
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect::<Vec<_>>(),
            body.to_vec(),
        );
        let (plane, owner) = (&plane, owner.clone());
        async move {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let (status, headers, _) = plane.call(method, "stread", &path, Some(&owner), &headers, body).await;
            (status.as_u16(), code(&headers).to_owned())
        }
    };
    assert_eq!(call(Method::PUT, "/c1c?restype=container", &[], b"").await.0, 201);
    for (method, path, headers, body, expected) in [
        (
            Method::PUT,
            "/c1c?restype=container",
            &[][..],
            &b""[..],
            (409, "ContainerAlreadyExists"),
        ),
        (Method::GET, "/nope/blob", &[], b"", (404, "ContainerNotFound")),
        (Method::GET, "/c1c/nope", &[], b"", (404, "BlobNotFound")),
        (
            Method::GET,
            "/c1c/x?comp=nonsense",
            &[],
            b"",
            (400, "InvalidQueryParameterValue"),
        ),
        (
            Method::PUT,
            "/Bad_Name?restype=container",
            &[],
            b"",
            (400, "InvalidResourceName"),
        ),
        (
            Method::PUT,
            "/c1c/b?comp=blocklist",
            &[],
            b"<BlockList><Latest>",
            (400, "InvalidXmlDocument"),
        ),
        (
            Method::PUT,
            "/c1c/b?comp=blocklist",
            &[],
            b"<BlockList><Latest>bm9wZQ==</Latest></BlockList>",
            (400, "InvalidBlockList"),
        ),
        (
            Method::PUT,
            "/c1c/b",
            &[("x-ms-meta-1bad", "v")],
            b"x",
            (400, "InvalidResourceName"),
        ),
        (Method::POST, "/c1c/b", &[], b"", (405, "UnsupportedHttpVerb")),
        (Method::GET, "/c1c/b%zz", &[], b"", (400, "InvalidUri")),
    ] {
        assert_eq!(
            call(method.clone(), path, headers, body).await,
            (expected.0, expected.1.to_owned()),
            "{method} {path}"
        );
    }
    assert_eq!(call(Method::PUT, "/c1c/b", &[], b"v1").await.0, 201);
    assert_eq!(
        call(Method::PUT, "/c1c/b", &[("if-none-match", "*")], b"v2").await,
        (409, "BlobAlreadyExists".to_owned())
    );
    assert_eq!(
        call(Method::GET, "/c1c/b", &[("x-ms-range", "bytes=10-")], b"").await,
        (416, "InvalidRange".to_owned())
    );
    // A host naming no account of the plane.
    let (status, headers, _) = plane
        .call(Method::GET, "stnone", "/?comp=list", Some(&owner), &[], Vec::new())
        .await;
    assert_eq!((status.as_u16(), code(&headers)), (404, "ResourceNotFound"));
    // Still serving after all of it.
    let (status, _, body) = plane
        .call(Method::GET, "stread", "/c1c/b", Some(&owner), &[], Vec::new())
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "v1"));
}

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
    let arm = credential_as(
        &plane.url,
        &plane.ca_pem,
        plane.token_file.clone(),
        OWNER,
        READER_TENANT,
    )
    .get_token(&["https://management.azure.com/.default"], None)
    .await
    .unwrap();
    let ca = reqwest::Certificate::from_pem(plane.ca_pem.as_bytes()).unwrap();
    let direct = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let account = format!(
        "{}/subscriptions/{SUB_R}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stread?api-version=2024-01-01",
        plane.url
    );
    let deleted = direct
        .delete(&account)
        .bearer_auth(arm.token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let made = direct
        .put(&account)
        .bearer_auth(arm.token.secret())
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
        .bearer_auth(arm.token.secret())
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
