//! The operations on an account's blob service, once the caller may do them: each reads what
//! its request carries (metadata headers, conditions, ranges, listing parameters), changes or
//! reads [`BlobService`] through [`crate::storage::store`], and answers with the headers the
//! SDKs read (ETag, Last-Modified, Content-Range, `x-ms-meta-*`, `x-ms-blob-type`).

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use axum::response::Response;

use super::answer::Reply;
use crate::storage::block_list;
use crate::storage::names::check_metadata_name;
use crate::storage::store::{Blob, BlobService, Conditions, Container, list, ranged};
use crate::storage::xml::{self, ListParams, http_date};
use crate::storage::{BlobOperation, BlobRequest, StorageError};

/// A request header's value, when it is text.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn metadata_of(headers: &HeaderMap) -> Result<BTreeMap<String, String>, StorageError> {
    let mut metadata = BTreeMap::new();
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix("x-ms-meta-") {
            check_metadata_name(key)?;
            let value = value.to_str().map_err(|_| StorageError::InvalidResourceName {
                why: format!("metadata '{key}': its value is not visible ASCII"),
            })?;
            metadata.insert(key.to_owned(), value.to_owned());
        }
    }
    Ok(metadata)
}

fn conditions_of(headers: &HeaderMap) -> Conditions {
    let time = |name: &str| {
        header(headers, name)
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok())
    };
    Conditions {
        if_match: header(headers, "if-match").map(str::to_owned),
        if_none_match: header(headers, "if-none-match").map(str::to_owned),
        if_modified_since: time("if-modified-since"),
        if_unmodified_since: time("if-unmodified-since"),
    }
}

fn list_params(query: &str) -> Result<ListParams, StorageError> {
    let mut params = ListParams::default();
    for (key, value) in
        serde_urlencoded::from_str::<Vec<(String, String)>>(query).map_err(|_| StorageError::InvalidUri)?
    {
        match key.as_str() {
            "prefix" => params.prefix = Some(value),
            "marker" => params.marker = Some(value),
            "delimiter" => params.delimiter = Some(value),
            "include" => params.include_metadata = value.split(',').any(|v| v.eq_ignore_ascii_case("metadata")),
            "maxresults" => {
                params.max_results = Some(value.parse().map_err(|_| StorageError::OutOfRangeInput {
                    why: format!("maxresults '{value}' is not a number from 1 to 5000"),
                })?);
            }
            _ => {}
        }
    }
    Ok(params)
}

fn meta_headers(metadata: &BTreeMap<String, String>) -> Vec<(String, String)> {
    metadata
        .iter()
        .map(|(k, v)| (format!("x-ms-meta-{k}"), v.clone()))
        .collect()
}

fn container<'s>(service: &'s mut BlobService, request: &BlobRequest) -> Result<&'s mut Container, StorageError> {
    let name = request.container.as_deref().unwrap_or_default();
    service.containers.get_mut(name).ok_or(StorageError::ContainerNotFound)
}

/// The blob's ETag and time when it exists (committed), for conditions.
fn current(blob: Option<&Blob>) -> Option<(&str, i64)> {
    blob.filter(|b| b.committed_once)
        .map(|b| (b.etag.as_str(), b.last_modified))
}

/// Runs `request` on `service` at `now`: the answer, or the refusal to answer with.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    service: &mut BlobService,
    request: &BlobRequest,
    headers: &HeaderMap,
    query: &str,
    body: Vec<u8>,
    now: i64,
    endpoint: &str,
    reply: &Reply,
) -> Result<Response, StorageError> {
    use BlobOperation::*;
    let blob_name = request.blob.clone().unwrap_or_default();
    let written = |etag: &str, status: u16| {
        reply.answer(
            status,
            &[
                ("etag", etag.to_owned()),
                ("last-modified", http_date(now)),
                ("x-ms-request-server-encrypted", "true".to_owned()),
            ],
            Vec::new(),
        )
    };
    match request.operation {
        ListContainers => {
            let params = list_params(query)?;
            let listing = list(
                service.containers.keys(),
                params.prefix.as_deref().unwrap_or(""),
                None,
                params.marker.as_deref(),
                params.max_results,
            );
            let body = xml::list_containers(endpoint, &params, &listing, |n| service.containers.get(n));
            Ok(reply.answer(200, &[("content-type", "application/xml".into())], body.into_bytes()))
        }
        GetAccountInformation => Ok(reply.answer(
            200,
            &[
                ("x-ms-sku-name", "Standard_LRS".into()),
                ("x-ms-account-kind", "StorageV2".into()),
            ],
            Vec::new(),
        )),
        GetUserDelegationKey => Err(StorageError::NotServedLocally {
            what: "user delegation keys (SAS): call the blob service with a Microsoft Entra token".into(),
        }),
        CreateContainer => {
            let metadata = metadata_of(headers)?;
            let name = request.container.clone().unwrap_or_default();
            if service.containers.contains_key(&name) {
                return Err(StorageError::ContainerAlreadyExists);
            }
            let etag = service.next_etag(now);
            service.containers.insert(
                name,
                Container {
                    metadata,
                    etag: etag.clone(),
                    last_modified: now,
                    blobs: BTreeMap::new(),
                },
            );
            Ok(written(&etag, 201))
        }
        GetContainerProperties => {
            let found = container(service, request)?;
            let mut headers = vec![
                ("etag".to_owned(), found.etag.clone()),
                ("last-modified".to_owned(), http_date(found.last_modified)),
                ("x-ms-lease-status".to_owned(), "unlocked".to_owned()),
                ("x-ms-lease-state".to_owned(), "available".to_owned()),
                ("x-ms-has-immutability-policy".to_owned(), "false".to_owned()),
                ("x-ms-has-legal-hold".to_owned(), "false".to_owned()),
            ];
            headers.extend(meta_headers(&found.metadata));
            let borrowed: Vec<(&str, String)> = headers.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            Ok(reply.answer(200, &borrowed, Vec::new()))
        }
        SetContainerMetadata => {
            let metadata = metadata_of(headers)?;
            let etag = service.next_etag(now);
            let found = container(service, request)?;
            found.metadata = metadata;
            found.etag = etag.clone();
            found.last_modified = now;
            Ok(written(&etag, 200))
        }
        DeleteContainer => {
            let name = request.container.as_deref().unwrap_or_default();
            service.containers.remove(name).ok_or(StorageError::ContainerNotFound)?;
            Ok(reply.answer(202, &[], Vec::new()))
        }
        ListBlobs => {
            let params = list_params(query)?;
            let found = container(service, request)?;
            let committed: Vec<&String> = found
                .blobs
                .iter()
                .filter(|(_, b)| b.committed_once)
                .map(|(n, _)| n)
                .collect();
            let listing = list(
                committed.into_iter(),
                params.prefix.as_deref().unwrap_or(""),
                params.delimiter.as_deref(),
                params.marker.as_deref(),
                params.max_results,
            );
            let name = request.container.as_deref().unwrap_or_default();
            let body = xml::list_blobs(endpoint, name, &params, &listing, |n| found.blobs.get(n));
            Ok(reply.answer(200, &[("content-type", "application/xml".into())], body.into_bytes()))
        }
        PutBlob | PutBlockList => {
            let metadata = metadata_of(headers)?;
            let content_type = header(headers, "x-ms-blob-content-type").map(str::to_owned);
            let blocks = match request.operation {
                PutBlockList => Some(block_list::parse(&body)?),
                _ => None,
            };
            let etag = service.next_etag(now);
            let found = container(service, request)?;
            conditions_of(headers).check(current(found.blobs.get(&blob_name)))?;
            let blob = found.blobs.entry(blob_name).or_default();
            match blocks {
                Some(blocks) => blob.commit(&blocks, etag.clone(), now)?,
                None => {
                    blob.content = body.into();
                    blob.committed.clear();
                    blob.uncommitted.clear();
                    blob.etag = etag.clone();
                    blob.last_modified = now;
                    blob.committed_once = true;
                }
            }
            blob.metadata = metadata;
            blob.content_type = content_type.or_else(|| header(headers, "content-type").map(str::to_owned));
            Ok(written(&etag, 201))
        }
        PutBlock => {
            let id = request.block_id.clone().unwrap_or_default();
            let found = container(service, request)?;
            found.blobs.entry(blob_name).or_default().put_block(&id, body)?;
            Ok(reply.answer(201, &[("x-ms-request-server-encrypted", "true".into())], Vec::new()))
        }
        GetBlockList => {
            let found = container(service, request)?;
            let blob = found.blobs.get(&blob_name).ok_or(StorageError::BlobNotFound)?;
            Ok(reply.answer(
                200,
                &[("content-type", "application/xml".into())],
                xml::block_list(blob).into_bytes(),
            ))
        }
        GetBlob | GetBlobProperties => {
            let found = container(service, request)?;
            let blob = found
                .blobs
                .get(&blob_name)
                .filter(|b| b.committed_once)
                .ok_or(StorageError::BlobNotFound)?;
            conditions_of(headers).check(current(Some(blob)))?;
            let range = header(headers, "x-ms-range").or_else(|| header(headers, "range"));
            let (slice, span) = match request.operation {
                GetBlob => ranged(&blob.content, range)?,
                _ => (&blob.content[..], None),
            };
            let mut out = vec![
                ("content-length".to_owned(), slice.len().to_string()),
                (
                    "content-type".to_owned(),
                    blob.content_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".into()),
                ),
                ("etag".to_owned(), blob.etag.clone()),
                ("last-modified".to_owned(), http_date(blob.last_modified)),
                ("x-ms-creation-time".to_owned(), http_date(blob.last_modified)),
                ("accept-ranges".to_owned(), "bytes".to_owned()),
                ("x-ms-blob-type".to_owned(), "BlockBlob".to_owned()),
                ("x-ms-lease-status".to_owned(), "unlocked".to_owned()),
                ("x-ms-lease-state".to_owned(), "available".to_owned()),
                ("x-ms-server-encrypted".to_owned(), "true".to_owned()),
                ("x-ms-access-tier".to_owned(), "Hot".to_owned()),
                ("x-ms-access-tier-inferred".to_owned(), "true".to_owned()),
            ];
            if let Some((start, end)) = span {
                out.push((
                    "content-range".to_owned(),
                    format!("bytes {start}-{end}/{}", blob.content.len()),
                ));
            }
            out.extend(meta_headers(&blob.metadata));
            let borrowed: Vec<(&str, String)> = out.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            let status = if span.is_some() { 206 } else { 200 };
            let payload = if request.operation == GetBlob {
                slice.to_vec()
            } else {
                Vec::new()
            };
            Ok(reply.answer(status, &borrowed, payload))
        }
        SetBlobMetadata | SetBlobProperties => {
            let metadata = metadata_of(headers)?;
            let etag = service.next_etag(now);
            let found = container(service, request)?;
            let blob = found
                .blobs
                .get_mut(&blob_name)
                .filter(|b| b.committed_once)
                .ok_or(StorageError::BlobNotFound)?;
            conditions_of(headers).check(Some((blob.etag.as_str(), blob.last_modified)))?;
            if request.operation == SetBlobMetadata {
                blob.metadata = metadata;
            } else if let Some(content_type) = header(headers, "x-ms-blob-content-type") {
                blob.content_type = Some(content_type.to_owned());
            }
            blob.etag = etag.clone();
            blob.last_modified = now;
            Ok(written(&etag, 200))
        }
        DeleteBlob => {
            let found = container(service, request)?;
            let exists = found.blobs.get(&blob_name).is_some_and(|b| b.committed_once);
            if !exists {
                return Err(StorageError::BlobNotFound);
            }
            conditions_of(headers).check(current(found.blobs.get(&blob_name)))?;
            found.blobs.remove(&blob_name);
            Ok(reply.answer(202, &[("x-ms-delete-type-permanent", "true".into())], Vec::new()))
        }
    }
}
