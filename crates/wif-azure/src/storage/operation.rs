//! Which Blob Storage operation a request is (method, path under the account's host, `restype`
//! and `comp`), and what Azure RBAC requires of a Microsoft Entra caller for it, from Azure's
//! table "Permissions for calling data operations": container operations are `actions`
//! (`…/blobServices/containers/read|write|delete`), blob operations `dataActions`
//! (`…/containers/blobs/read|write|delete|add/action`). Creating a blob takes `write` or
//! `add/action`; replacing one takes `write`, so a caller with only `add/action` can add but
//! never overwrite.

use super::error::StorageError;
use super::names::{check_blob, check_container};
use crate::rbac::Plane;

/// A Blob Storage operation the local plane knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobOperation {
    /// `GET /?comp=list`
    ListContainers,
    /// `POST /?restype=service&comp=userdelegationkey`
    GetUserDelegationKey,
    /// `GET|HEAD /?restype=account&comp=properties`
    GetAccountInformation,
    /// `PUT /c?restype=container`
    CreateContainer,
    /// `GET|HEAD /c?restype=container` (`&comp=metadata` too)
    GetContainerProperties,
    /// `PUT /c?restype=container&comp=metadata`
    SetContainerMetadata,
    /// `DELETE /c?restype=container`
    DeleteContainer,
    /// `GET /c?restype=container&comp=list`
    ListBlobs,
    /// `PUT /c/b`
    PutBlob,
    /// `PUT /c/b?comp=block&blockid=…`
    PutBlock,
    /// `PUT /c/b?comp=blocklist`
    PutBlockList,
    /// `GET /c/b?comp=blocklist`
    GetBlockList,
    /// `GET /c/b`
    GetBlob,
    /// `HEAD /c/b`, `GET|HEAD /c/b?comp=metadata`
    GetBlobProperties,
    /// `PUT /c/b?comp=metadata`
    SetBlobMetadata,
    /// `PUT /c/b?comp=properties`
    SetBlobProperties,
    /// `DELETE /c/b`
    DeleteBlob,
}

/// A request, classified: the operation and what it names (percent-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRequest {
    /// The operation.
    pub operation: BlobOperation,
    /// The container, for container and blob operations.
    pub container: Option<String>,
    /// The blob, for blob operations.
    pub blob: Option<String>,
    /// `blockid=`, for Put Block (base64, as sent).
    pub block_id: Option<String>,
}

/// What a caller must hold: any one of these operations, each on its plane.
pub type Requirement = &'static [(Plane, &'static str)];

const CONTAINERS_READ: Requirement = &[(
    Plane::Control,
    "Microsoft.Storage/storageAccounts/blobServices/containers/read",
)];
const CONTAINERS_WRITE: Requirement = &[(
    Plane::Control,
    "Microsoft.Storage/storageAccounts/blobServices/containers/write",
)];
const CONTAINERS_DELETE: Requirement = &[(
    Plane::Control,
    "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
)];
const BLOBS_READ: Requirement = &[(
    Plane::Data,
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
)];
const BLOBS_WRITE: Requirement = &[(
    Plane::Data,
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
)];
const BLOBS_CREATE: Requirement = &[
    (
        Plane::Data,
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    ),
    (
        Plane::Data,
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    ),
];
const BLOBS_DELETE: Requirement = &[(
    Plane::Data,
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
)];
const DELEGATION_KEY: Requirement = &[(
    Plane::Control,
    "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
)];

impl BlobOperation {
    /// Whether the operation changes the account's blobs (and so is kept before it is answered).
    pub fn changes_state(self) -> bool {
        use BlobOperation::*;
        !matches!(
            self,
            ListContainers
                | GetUserDelegationKey
                | GetAccountInformation
                | GetContainerProperties
                | ListBlobs
                | GetBlockList
                | GetBlob
                | GetBlobProperties
        )
    }

    /// What RBAC requires for this operation; `blob_exists` matters for the writes that
    /// create a blob (`write` or `add/action`) or replace one (`write` only).
    pub fn requirement(self, blob_exists: bool) -> Requirement {
        use BlobOperation::*;
        match self {
            ListContainers | GetContainerProperties | GetAccountInformation => CONTAINERS_READ,
            CreateContainer | SetContainerMetadata => CONTAINERS_WRITE,
            DeleteContainer => CONTAINERS_DELETE,
            ListBlobs | GetBlob | GetBlobProperties | GetBlockList => BLOBS_READ,
            PutBlob | PutBlock | PutBlockList if !blob_exists => BLOBS_CREATE,
            PutBlob | PutBlock | PutBlockList | SetBlobMetadata | SetBlobProperties => BLOBS_WRITE,
            DeleteBlob => BLOBS_DELETE,
            GetUserDelegationKey => DELEGATION_KEY,
        }
    }
}

/// Classifies a request by method, path (under the account's host) and query string.
///
/// ```
/// use wif_azure::storage::{BlobOperation, classify};
/// let request = classify("PUT", "/reports/2026/q1.csv", "")?;
/// assert_eq!(request.operation, BlobOperation::PutBlob);
/// assert_eq!(request.blob.as_deref(), Some("2026/q1.csv"));
/// # Ok::<(), wif_azure::storage::StorageError>(())
/// ```
pub fn classify(method: &str, path: &str, query: &str) -> Result<BlobRequest, StorageError> {
    let (mut restype, mut comp, mut block_id) = (None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "restype" => restype = Some(decode(value)?),
            "comp" => comp = Some(decode(value)?),
            "blockid" => block_id = Some(decode(value)?),
            _ => {}
        }
    }
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let (container, blob) = match trimmed.split_once('/') {
        Some((c, b)) if !b.is_empty() => (Some(decode(c)?), Some(decode(b)?)),
        // `c/`: the container itself.
        Some((c, _)) => (Some(decode(c)?), None),
        None if trimmed.is_empty() => (None, None),
        None => (Some(decode(trimmed)?), None),
    };
    if let Some(c) = &container {
        check_container(c)?;
    }
    if let Some(b) = &blob {
        check_blob(b)?;
    }
    let unknown = |name: &str, value: &Option<String>| StorageError::InvalidQueryParameterValue {
        name: name.to_owned(),
        value: value.clone().unwrap_or_default(),
    };
    let (restype, comp) = (restype.as_deref(), comp.as_deref());
    use BlobOperation::*;
    let operation = match (&container, &blob) {
        (None, _) => match (method, restype, comp) {
            ("GET", None, Some("list")) => ListContainers,
            ("POST", Some("service"), Some("userdelegationkey")) => GetUserDelegationKey,
            ("GET" | "HEAD", Some("account"), Some("properties")) => GetAccountInformation,
            (_, Some("service" | "account") | None, Some("list" | "userdelegationkey" | "properties")) => {
                return Err(StorageError::UnsupportedHttpVerb);
            }
            (_, Some(other), _) if other != "service" && other != "account" => {
                return Err(unknown("restype", &Some(other.to_owned())));
            }
            _ => return Err(unknown("comp", &comp.map(str::to_owned))),
        },
        (Some(_), None) => {
            if restype != Some("container") {
                return Err(unknown("restype", &restype.map(str::to_owned)));
            }
            match (method, comp) {
                ("PUT", None) => CreateContainer,
                ("GET" | "HEAD", None | Some("metadata")) => GetContainerProperties,
                ("PUT", Some("metadata")) => SetContainerMetadata,
                ("DELETE", None) => DeleteContainer,
                ("GET", Some("list")) => ListBlobs,
                (_, None | Some("metadata" | "list")) => return Err(StorageError::UnsupportedHttpVerb),
                _ => return Err(unknown("comp", &comp.map(str::to_owned))),
            }
        }
        (Some(_), Some(_)) => match (method, comp) {
            ("PUT", None) => PutBlob,
            ("PUT", Some("block")) => {
                if block_id.as_deref().is_none_or(str::is_empty) {
                    return Err(unknown("blockid", &block_id));
                }
                PutBlock
            }
            ("PUT", Some("blocklist")) => PutBlockList,
            ("GET", Some("blocklist")) => GetBlockList,
            ("GET", None) => GetBlob,
            ("HEAD", None) | ("GET" | "HEAD", Some("metadata")) => GetBlobProperties,
            ("PUT", Some("metadata")) => SetBlobMetadata,
            ("PUT", Some("properties")) => SetBlobProperties,
            ("DELETE", None) => DeleteBlob,
            (_, None | Some("block" | "blocklist" | "metadata" | "properties")) => {
                return Err(StorageError::UnsupportedHttpVerb);
            }
            _ => return Err(unknown("comp", &comp.map(str::to_owned))),
        },
    };
    Ok(BlobRequest {
        operation,
        container,
        blob,
        block_id: if operation == PutBlock { block_id } else { None },
    })
}

/// Percent-decodes a path segment or query value into UTF-8 (`+` stays `+`, as Storage reads
/// paths); bad escapes or bytes that are not UTF-8 are `InvalidUri`.
fn decode(text: &str) -> Result<String, StorageError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(StorageError::InvalidUri)?;
            let hex = std::str::from_utf8(hex).map_err(|_| StorageError::InvalidUri)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| StorageError::InvalidUri)?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| StorageError::InvalidUri)
}

#[cfg(test)]
mod tests;
