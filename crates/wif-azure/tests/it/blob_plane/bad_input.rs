//! Bad input to the blob plane: Storage's codes for each, and the plane still serving.

use reqwest::StatusCode;

use super::*;

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
    // A body past the operation's bound is refused by name, and nothing is kept: a block list
    // over 8 MiB, a metadata call with a body.
    let (status, headers, body) = plane
        .call(
            Method::PUT,
            "stread",
            "/c1c/big?comp=blocklist",
            Some(&owner),
            &[],
            vec![b' '; 8 * 1024 * 1024 + 1],
        )
        .await;
    assert_eq!((status.as_u16(), code(&headers)), (413, "RequestBodyTooLarge"));
    assert!(body.contains("a block list here is at most 8 MiB"), "{body}");
    assert_eq!(
        call(Method::PUT, "/c1c/b?comp=metadata", &[], &[0; 65 * 1024]).await,
        (413, "RequestBodyTooLarge".to_owned())
    );
    assert_eq!(
        call(Method::GET, "/c1c/big", &[], b"").await,
        (404, "BlobNotFound".to_owned())
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
