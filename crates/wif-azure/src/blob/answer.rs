//! How the blob plane answers: the headers every Storage answer carries (`x-ms-request-id`,
//! `x-ms-version`, `Date`), errors as Storage's XML with `x-ms-error-code` (and the challenge on
//! a 401), and request bodies read up to the operation's bound.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::state::AzureState;
use crate::storage::store::{MAX_BLOCK_BYTES, MAX_PUT_BLOB_BYTES};
use crate::storage::xml::http_date;
use crate::storage::{BlobOperation, StorageError};

/// The service version answered when the client names none.
pub(super) const DEFAULT_VERSION: &str = "2025-05-05";
/// A block list or metadata body: far more than 50,000 ids take.
const MAX_LIST_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Any other operation's body (none is expected).
const MAX_OTHER_BODY_BYTES: usize = 64 * 1024;

/// What every answer to one request carries.
pub(crate) struct Reply {
    request_id: String,
    date: String,
    version: String,
}

impl Reply {
    pub(super) fn new(state: &AzureState, version: String) -> Reply {
        let mut bytes = [0u8; 16];
        let _ = aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let request_id = format!(
            "{}-{}-{}-{}-{}",
            hex.get(..8).unwrap_or_default(),
            hex.get(8..12).unwrap_or_default(),
            hex.get(12..16).unwrap_or_default(),
            hex.get(16..20).unwrap_or_default(),
            hex.get(20..).unwrap_or_default()
        );
        // Only visible ASCII is echoed back as a header value.
        let version = if version.bytes().all(|b| b.is_ascii_graphic()) && version.len() <= 32 {
            version
        } else {
            DEFAULT_VERSION.to_owned()
        };
        Reply {
            request_id,
            date: http_date(state.emulator.clock.now_s()),
            version,
        }
    }

    /// An answer with Storage's common headers, `headers` and `body`.
    pub(crate) fn answer(&self, status: u16, headers: &[(&str, String)], body: impl Into<Body>) -> Response {
        let mut response = Response::new(body.into());
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let map = response.headers_mut();
        let common = [
            ("x-ms-request-id", self.request_id.as_str()),
            ("x-ms-version", self.version.as_str()),
            ("date", self.date.as_str()),
        ];
        for (name, value) in common
            .iter()
            .map(|(n, v)| (*n, *v))
            .chain(headers.iter().map(|(n, v)| (*n, v.as_str())))
        {
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                map.append(name, value);
            }
        }
        response
    }

    /// Storage's error answer, with the challenge on a 401.
    pub(crate) fn error(&self, error: &StorageError, challenge: Option<&str>) -> Response {
        let mut headers = vec![
            ("x-ms-error-code", error.code().to_owned()),
            (header::CONTENT_TYPE.as_str(), "application/xml".to_owned()),
        ];
        if let Some(challenge) = challenge {
            headers.push((header::WWW_AUTHENTICATE.as_str(), challenge.to_owned()));
        }
        self.answer(
            error.status(),
            &headers,
            error.body(&self.request_id, &self.date).into_bytes(),
        )
    }
}

/// Storage's error answer for a refusal after authentication.
pub(super) fn refuse(reply: &Reply, error: StorageError) -> Response {
    reply.error(&error, None)
}

/// The request's body, up to what `operation` may carry.
pub(super) async fn read_body(body: Body, operation: BlobOperation) -> Result<Vec<u8>, StorageError> {
    let (limit, what) = match operation {
        BlobOperation::PutBlob => (
            MAX_PUT_BLOB_BYTES,
            "a Put Blob here is at most 256 MiB: larger uploads go in blocks",
        ),
        BlobOperation::PutBlock => (MAX_BLOCK_BYTES, "a block here is at most 100 MiB"),
        BlobOperation::PutBlockList => (MAX_LIST_BODY_BYTES, "a block list here is at most 8 MiB"),
        _ => (MAX_OTHER_BODY_BYTES, "this operation takes no body over 64 KiB"),
    };
    axum::body::to_bytes(body, limit)
        .await
        .map(|bytes| bytes.to_vec())
        .map_err(|_| StorageError::RequestBodyTooLarge { why: what.to_owned() })
}
