//! Storage's error answers: the status, the `x-ms-error-code` and the XML body Azure sends
//! (`<Error><Code>…</Code><Message>…\nRequestId:…\nTime:…</Message></Error>`), with Azure's
//! sentences word for word, since the SDKs map codes to exceptions and azure-cli prints the
//! message. Where Azure's sentence does not say why, the local plane adds the reason after it
//! (for a refused token, in `AuthenticationErrorDetail`, as Azure does).

/// A refusal of a blob request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A host naming no account of the local plane (Azure's DNS would not resolve it).
    #[error("The specified account does not exist in the local Azure plane.")]
    AccountNotFound {
        /// The account the host names.
        name: String,
    },
    /// No `Authorization` header: the SDKs' first request, answered with the challenge.
    #[error(
        "Server failed to authenticate the request. Please refer to the information in the www-authenticate header."
    )]
    NoAuthenticationInformation,
    /// A bearer token this account does not take; `why` names the check that failed.
    #[error(
        "Server failed to authenticate the request. Please refer to the information in the www-authenticate header."
    )]
    InvalidAuthenticationInfo {
        /// Which check failed (audience, issuer, tenant, expiry, signature).
        why: String,
    },
    /// The caller's roles do not grant the operation.
    #[error("This request is not authorized to perform this operation using this permission.")]
    AuthorizationPermissionMismatch {
        /// The principal, the operation and the scope, in words.
        why: String,
    },
    /// The container does not exist.
    #[error("The specified container does not exist.")]
    ContainerNotFound,
    /// The container exists already (create).
    #[error("The specified container already exists.")]
    ContainerAlreadyExists,
    /// The blob does not exist.
    #[error("The specified blob does not exist.")]
    BlobNotFound,
    /// The blob exists already (`If-None-Match: *` on a write).
    #[error("The specified blob already exists.")]
    BlobAlreadyExists,
    /// A container or blob name Storage refuses; `why` says which rule.
    #[error("The specifed resource name contains invalid characters.")]
    InvalidResourceName {
        /// The rule the name breaks.
        why: String,
    },
    /// A name or value outside Storage's bounds.
    #[error("One of the request inputs is out of range.")]
    OutOfRangeInput {
        /// Which input, and its bound.
        why: String,
    },
    /// A query parameter Storage does not know the value of (`comp=`, `restype=`).
    #[error("Value for one of the query parameters specified in the request URI is invalid.")]
    InvalidQueryParameterValue {
        /// The parameter's name.
        name: String,
        /// Its value as sent.
        value: String,
    },
    /// A method the addressed resource does not take.
    #[error("The resource doesn't support specified Http Verb.")]
    UnsupportedHttpVerb,
    /// A path that is not a valid URI (bad percent-encoding, not UTF-8).
    #[error("The requested URI does not represent any resource on the server.")]
    InvalidUri,
    /// An XML body that does not parse (a block list).
    #[error("XML specified is not syntactically valid.")]
    InvalidXmlDocument,
    /// A block list naming a block that was never uploaded, or uncommitted twice.
    #[error("The specified block list is invalid.")]
    InvalidBlockList,
    /// A body over the operation's limit; `why` names the limit.
    #[error("The request body is too large and exceeds the maximum permissible limit.")]
    RequestBodyTooLarge {
        /// The limit, in words.
        why: String,
    },
    /// An `If-Match` / `If-None-Match` / `If-(Un)Modified-Since` that does not hold.
    #[error("The condition specified using HTTP conditional header(s) is not met.")]
    ConditionNotMet,
    /// An operation Azure serves and the local plane does not; `what` says which.
    #[error("The requested operation is not implemented on the specified resource.")]
    NotServedLocally {
        /// The operation, and what to do instead.
        what: String,
    },
    /// The change could not be kept; it was not made.
    #[error("Server encountered an internal error. Please try again after some time.")]
    InternalError {
        /// What failed.
        why: String,
    },
    /// A `Range` past the blob's end.
    #[error("The range specified is invalid for the current size of the resource.")]
    InvalidRange,
}

impl StorageError {
    /// The `x-ms-error-code` and `<Code>`.
    pub fn code(&self) -> &'static str {
        match self {
            StorageError::AccountNotFound { .. } => "ResourceNotFound",
            StorageError::NoAuthenticationInformation => "NoAuthenticationInformation",
            StorageError::InvalidAuthenticationInfo { .. } => "InvalidAuthenticationInfo",
            StorageError::AuthorizationPermissionMismatch { .. } => "AuthorizationPermissionMismatch",
            StorageError::ContainerNotFound => "ContainerNotFound",
            StorageError::ContainerAlreadyExists => "ContainerAlreadyExists",
            StorageError::BlobNotFound => "BlobNotFound",
            StorageError::BlobAlreadyExists => "BlobAlreadyExists",
            StorageError::InvalidResourceName { .. } => "InvalidResourceName",
            StorageError::OutOfRangeInput { .. } => "OutOfRangeInput",
            StorageError::InvalidQueryParameterValue { .. } => "InvalidQueryParameterValue",
            StorageError::UnsupportedHttpVerb => "UnsupportedHttpVerb",
            StorageError::InvalidUri => "InvalidUri",
            StorageError::InvalidXmlDocument => "InvalidXmlDocument",
            StorageError::InvalidBlockList => "InvalidBlockList",
            StorageError::RequestBodyTooLarge { .. } => "RequestBodyTooLarge",
            StorageError::ConditionNotMet => "ConditionNotMet",
            StorageError::InvalidRange => "InvalidRange",
            StorageError::NotServedLocally { .. } => "NotImplemented",
            StorageError::InternalError { .. } => "InternalError",
        }
    }

    /// The HTTP status Azure answers with.
    pub fn status(&self) -> u16 {
        match self {
            StorageError::NoAuthenticationInformation | StorageError::InvalidAuthenticationInfo { .. } => 401,
            StorageError::AuthorizationPermissionMismatch { .. } => 403,
            StorageError::ContainerNotFound | StorageError::BlobNotFound | StorageError::AccountNotFound { .. } => 404,
            StorageError::InvalidUri => 400,
            StorageError::UnsupportedHttpVerb => 405,
            StorageError::ContainerAlreadyExists | StorageError::BlobAlreadyExists => 409,
            StorageError::ConditionNotMet => 412,
            StorageError::RequestBodyTooLarge { .. } => 413,
            StorageError::InvalidRange => 416,
            StorageError::NotServedLocally { .. } => 501,
            StorageError::InternalError { .. } => 500,
            StorageError::InvalidResourceName { .. }
            | StorageError::OutOfRangeInput { .. }
            | StorageError::InvalidQueryParameterValue { .. }
            | StorageError::InvalidXmlDocument
            | StorageError::InvalidBlockList => 400,
        }
    }

    /// Storage's sentence with the reason after it, as the body's message says it (for a
    /// config file's refusal, where there is no request).
    pub fn body_reason(&self) -> String {
        match self {
            StorageError::InvalidResourceName { why }
            | StorageError::OutOfRangeInput { why }
            | StorageError::AuthorizationPermissionMismatch { why }
            | StorageError::RequestBodyTooLarge { why } => format!("{self} ({why})"),
            _ => self.to_string(),
        }
    }

    /// The XML body, `request_id` and `time` (RFC 1123) as Azure appends them to the message.
    pub fn body(&self, request_id: &str, time: &str) -> String {
        let mut message = self.to_string();
        let mut extra = String::new();
        match self {
            StorageError::InvalidAuthenticationInfo { why } => {
                extra = format!("<AuthenticationErrorDetail>{}</AuthenticationErrorDetail>", escape(why));
            }
            StorageError::AccountNotFound { name } => {
                message =
                    format!("{message} (no storage account named '{name}': create it with az storage account create)");
            }
            StorageError::AuthorizationPermissionMismatch { why }
            | StorageError::InvalidResourceName { why }
            | StorageError::OutOfRangeInput { why }
            | StorageError::RequestBodyTooLarge { why }
            | StorageError::NotServedLocally { what: why }
            | StorageError::InternalError { why } => {
                message = format!("{message} ({why})");
            }
            StorageError::InvalidQueryParameterValue { name, value } => {
                extra = format!(
                    "<QueryParameterName>{}</QueryParameterName><QueryParameterValue>{}</QueryParameterValue>",
                    escape(name),
                    escape(value)
                );
            }
            _ => {}
        }
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{}</Code><Message>{}\nRequestId:{}\nTime:{}</Message>{extra}</Error>",
            self.code(),
            escape(&message),
            escape(request_id),
            escape(time)
        )
    }
}

/// The `WWW-Authenticate` challenge of a 401: where to get a token (`authority` is the
/// emulator's URL, `tenant` the account's) and for which resource. The SDKs read both.
pub fn challenge(authority: &str, tenant: &str) -> String {
    format!(
        "Bearer authorization_uri={}/{tenant}/oauth2/authorize resource_id=https://storage.azure.com",
        authority.trim_end_matches('/')
    )
}

/// XML text escaping (element content).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_as_azures_with_the_reason_after_it() {
        let refused = StorageError::AuthorizationPermissionMismatch {
            why: "principal p holds no role granting blobs/write at <scope>".into(),
        };
        assert_eq!(
            (refused.status(), refused.code()),
            (403, "AuthorizationPermissionMismatch")
        );
        assert_eq!(
            refused.body("r-1", "Sat, 05 Dec 2026 20:00:00 GMT"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized to perform this operation using this permission. (principal p holds no role granting blobs/write at &lt;scope&gt;)\nRequestId:r-1\nTime:Sat, 05 Dec 2026 20:00:00 GMT</Message></Error>"
        );
    }

    #[test]
    fn a_refused_token_says_why_in_authentication_error_detail() {
        let refused = StorageError::InvalidAuthenticationInfo {
            why: "Audience validation failed. Audience did not match.".into(),
        };
        assert_eq!(refused.status(), 401);
        assert!(
            refused
                .body("r", "t")
                .ends_with("<AuthenticationErrorDetail>Audience validation failed. Audience did not match.</AuthenticationErrorDetail></Error>")
        );
        assert_eq!(
            challenge("https://127.0.0.1:8443/", "tenant-r"),
            "Bearer authorization_uri=https://127.0.0.1:8443/tenant-r/oauth2/authorize resource_id=https://storage.azure.com"
        );
    }

    #[test]
    fn an_unknown_comp_names_the_parameter() {
        let refused = StorageError::InvalidQueryParameterValue {
            name: "comp".into(),
            value: "<x>".into(),
        };
        assert_eq!(refused.status(), 400);
        assert!(refused.body("r", "t").contains(
            "<QueryParameterName>comp</QueryParameterName><QueryParameterValue>&lt;x&gt;</QueryParameterValue>"
        ));
    }
}
