//! Requests as the SDKs and azure-cli send them, classified; what each requires of the caller.

use super::*;

fn op(method: &str, path: &str, query: &str) -> BlobOperation {
    classify(method, path, query)
        .unwrap_or_else(|e| panic!("{method} {path}?{query}: {e:?}"))
        .operation
}

fn refused(method: &str, path: &str, query: &str) -> StorageError {
    classify(method, path, query).expect_err("refused")
}

#[test]
fn the_sdks_requests_are_the_operations_azure_names() {
    use BlobOperation::*;
    for (method, path, query, expected) in [
        ("GET", "/", "comp=list&maxresults=10", ListContainers),
        (
            "POST",
            "/",
            "restype=service&comp=userdelegationkey",
            GetUserDelegationKey,
        ),
        ("HEAD", "/", "restype=account&comp=properties", GetAccountInformation),
        ("PUT", "/reports", "restype=container", CreateContainer),
        ("GET", "/reports", "restype=container", GetContainerProperties),
        (
            "HEAD",
            "/reports/",
            "restype=container&comp=metadata",
            GetContainerProperties,
        ),
        (
            "PUT",
            "/reports",
            "restype=container&comp=metadata",
            SetContainerMetadata,
        ),
        ("DELETE", "/reports", "restype=container", DeleteContainer),
        (
            "GET",
            "/reports",
            "restype=container&comp=list&prefix=2026%2F&delimiter=%2F",
            ListBlobs,
        ),
        ("PUT", "/reports/q1.csv", "", PutBlob),
        ("PUT", "/reports/q1.csv", "comp=block&blockid=AAAA", PutBlock),
        ("PUT", "/reports/q1.csv", "comp=blocklist", PutBlockList),
        (
            "GET",
            "/reports/q1.csv",
            "comp=blocklist&blocklisttype=all",
            GetBlockList,
        ),
        ("GET", "/reports/q1.csv", "", GetBlob),
        ("HEAD", "/reports/q1.csv", "", GetBlobProperties),
        ("GET", "/reports/q1.csv", "comp=metadata", GetBlobProperties),
        ("PUT", "/reports/q1.csv", "comp=metadata", SetBlobMetadata),
        ("PUT", "/reports/q1.csv", "comp=properties", SetBlobProperties),
        ("DELETE", "/reports/q1.csv", "", DeleteBlob),
    ] {
        assert_eq!(op(method, path, query), expected, "{method} {path}?{query}");
    }
}

#[test]
fn names_come_percent_decoded_and_blob_names_keep_their_slashes() {
    let request = classify("PUT", "/reports/2026/q1%20final%2Bv2.csv", "").unwrap();
    assert_eq!(request.container.as_deref(), Some("reports"));
    assert_eq!(request.blob.as_deref(), Some("2026/q1 final+v2.csv"));
    let block = classify("PUT", "/c1c/b", "comp=block&blockid=YmxvY2stMQ%3D%3D").unwrap();
    assert_eq!(block.block_id.as_deref(), Some("YmxvY2stMQ=="));
    assert_eq!(classify("PUT", "/c1c/b", "").unwrap().block_id, None);
}

#[test]
fn bad_requests_get_storages_codes() {
    for (method, path, query, code) in [
        ("GET", "/reports/q1", "comp=nonsense", "InvalidQueryParameterValue"),
        ("GET", "/", "comp=nonsense", "InvalidQueryParameterValue"),
        ("GET", "/reports", "restype=directory", "InvalidQueryParameterValue"),
        ("GET", "/reports", "", "InvalidQueryParameterValue"),
        ("PUT", "/reports/q1", "comp=block", "InvalidQueryParameterValue"),
        ("POST", "/reports/q1", "", "UnsupportedHttpVerb"),
        ("PATCH", "/reports", "restype=container", "UnsupportedHttpVerb"),
        ("DELETE", "/", "comp=list", "UnsupportedHttpVerb"),
        ("PUT", "/Reports/q1", "", "InvalidResourceName"),
        ("PUT", "/ab/q1", "", "OutOfRangeInput"),
        ("PUT", "/reports/bad%zz", "", "InvalidUri"),
        ("PUT", "/reports/bad%", "", "InvalidUri"),
        ("PUT", "/reports/%ff%fe", "", "InvalidUri"),
    ] {
        assert_eq!(refused(method, path, query).code(), code, "{method} {path}?{query}");
    }
    let unknown = refused("GET", "/reports/q1", "comp=nonsense");
    assert!(
        unknown
            .body("r", "t")
            .contains("<QueryParameterValue>nonsense</QueryParameterValue>")
    );
}

#[test]
fn reads_need_read_writes_need_write_and_a_new_blob_takes_add_too() {
    use BlobOperation::*;
    let names = |r: Requirement| {
        r.iter()
            .map(|(plane, action)| (*plane, action.rsplit("containers/").next().unwrap_or(action)))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(GetBlob.requirement(true)), [(Plane::Data, "blobs/read")]);
    assert_eq!(names(ListBlobs.requirement(false)), [(Plane::Data, "blobs/read")]);
    assert_eq!(
        names(PutBlob.requirement(false)),
        [(Plane::Data, "blobs/write"), (Plane::Data, "blobs/add/action")]
    );
    // Replacing a blob: write only, so Storage Blob Data Reader (read) and a caller with only
    // add/action are both refused.
    assert_eq!(names(PutBlob.requirement(true)), [(Plane::Data, "blobs/write")]);
    assert_eq!(names(PutBlockList.requirement(true)), [(Plane::Data, "blobs/write")]);
    assert_eq!(names(DeleteBlob.requirement(true)), [(Plane::Data, "blobs/delete")]);
    assert_eq!(
        CreateContainer.requirement(false),
        [(
            Plane::Control,
            "Microsoft.Storage/storageAccounts/blobServices/containers/write"
        )]
    );
    assert_eq!(
        ListContainers.requirement(false),
        [(
            Plane::Control,
            "Microsoft.Storage/storageAccounts/blobServices/containers/read"
        )]
    );
}
