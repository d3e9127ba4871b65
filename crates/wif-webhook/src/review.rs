//! AdmissionReview in and out, `admission.k8s.io/v1` and `v1beta1`, as kube-apiserver speaks
//! it: the response echoes the request's version and `uid`; a mutation is a base64 JSON
//! Patch with `patchType: JSONPatch`; a denial is `allowed: false` with `status.code` and
//! `status.message`; warnings ride in `response.warnings`. Pure: bytes and values.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::value::RawValue;
use wif_core::{Denial, MutationPlan, PodView};

mod json;

/// The two versions kube-apiserver may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewVersion {
    /// `admission.k8s.io/v1`.
    V1,
    /// `admission.k8s.io/v1beta1`.
    V1Beta1,
}

impl ReviewVersion {
    /// The `apiVersion` string.
    pub fn api_version(self) -> &'static str {
        match self {
            ReviewVersion::V1 => "admission.k8s.io/v1",
            ReviewVersion::V1Beta1 => "admission.k8s.io/v1beta1",
        }
    }
}

/// A request body that is not an AdmissionReview: HTTP 400 with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadReview(pub String);

/// The review, with its `object` read as `O`: the planner's view in the one-pass read, the
/// pod's text in the second.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "O: Deserialize<'de>"))]
struct ReviewIn<'a, O> {
    #[serde(borrow)]
    api_version: Option<&'a str>,
    #[serde(borrow)]
    kind: Option<&'a str>,
    request: Option<RequestIn<O>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "O: Deserialize<'de>"))]
struct RequestIn<O> {
    uid: Option<String>,
    namespace: Option<String>,
    object: Option<O>,
}

/// The pod read into the planner's view while the review is read: no second pass over it.
struct PodField<'a>(PodView<'a>);

impl<'de> Deserialize<'de> for PodField<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PodView::deserialize_from(deserializer).map(PodField)
    }
}

/// What the handler needs from a review, borrowed from the request body.
#[derive(Debug)]
pub struct Admission<'a> {
    /// The version to answer in.
    pub version: ReviewVersion,
    /// The request uid, echoed.
    pub uid: String,
    /// The namespace the pod is created in.
    pub namespace: String,
    /// The pod as the planner reads it, or why it cannot be read (a denial, as upstream's
    /// decode failures are, not an HTTP error).
    pub pod: Result<PodView<'a>, Denial>,
}

/// Largest uid echoed (Kubernetes uids are 36 characters).
const MAX_UID_LEN: usize = 128;

/// Decodes a request body.
pub fn decode(body: &[u8]) -> Result<Admission<'_>, BadReview> {
    // One pass reads the review and the pod's view together. A pod the view refuses (or a body
    // that is no review) takes the second path, which keeps the pod as text and reads it
    // apart, so the denial names the field and a bad review gets its own error.
    // UTF-8 is checked once here, not again for every string inside.
    let text = std::str::from_utf8(body).map_err(|e| BadReview(format!("the body is not an AdmissionReview: {e}")))?;
    if let Ok(review) = serde_json::from_str::<ReviewIn<PodField<'_>>>(text) {
        return admission(review, |object| {
            object.map_or_else(|| PodView::from_json("null"), |field| Ok(field.0))
        });
    }
    let review: ReviewIn<&RawValue> =
        serde_json::from_str(text).map_err(|e| BadReview(format!("the body is not an AdmissionReview: {e}")))?;
    admission(review, |object| {
        PodView::from_json(object.map_or("null", RawValue::get))
    })
}

fn admission<'a, O>(
    review: ReviewIn<'a, O>,
    read_pod: impl FnOnce(Option<O>) -> Result<PodView<'a>, Denial>,
) -> Result<Admission<'a>, BadReview> {
    let version = match review.api_version {
        Some("admission.k8s.io/v1") => ReviewVersion::V1,
        Some("admission.k8s.io/v1beta1") => ReviewVersion::V1Beta1,
        other => {
            return Err(BadReview(format!(
                "unsupported AdmissionReview apiVersion {other:?} (expected admission.k8s.io/v1 or v1beta1)"
            )));
        }
    };
    if review.kind != Some("AdmissionReview") {
        return Err(BadReview(format!("kind {:?} is not AdmissionReview", review.kind)));
    }
    let request = review
        .request
        .ok_or_else(|| BadReview("the AdmissionReview has no request".into()))?;
    let uid = request
        .uid
        .filter(|u| !u.is_empty() && u.len() <= MAX_UID_LEN)
        .ok_or_else(|| BadReview("request.uid is missing or too long".into()))?;
    let pod = read_pod(request.object);
    let namespace = request
        .namespace
        .filter(|n| !n.is_empty())
        .or_else(|| pod.as_ref().ok().and_then(PodView::namespace).map(str::to_owned))
        .unwrap_or_else(|| "default".into());
    Ok(Admission {
        version,
        uid,
        namespace,
        pod,
    })
}

/// kube-apiserver truncates longer warnings; we shorten them ourselves, keeping the start.
pub const MAX_WARNING_CHARS: usize = 256;

fn short(warning: &str) -> String {
    if warning.chars().count() <= MAX_WARNING_CHARS {
        return warning.to_owned();
    }
    let cut: String = warning.chars().take(MAX_WARNING_CHARS - 1).collect();
    format!("{cut}…")
}

/// The AdmissionReview answering `admission` with `outcome`, as JSON bytes. Written by hand
/// because its shape is fixed and its bulk is the base64 patch, which needs no escaping:
/// serializing it as a JSON string scanned every byte of it once more.
pub fn respond(admission: &Admission<'_>, outcome: &Result<MutationPlan, Denial>) -> Vec<u8> {
    respond_encoding(admission, outcome, |plan| {
        // Sized for a typical patch (a small pod's is about 700 bytes), so it rarely regrows.
        let mut patch = Vec::with_capacity(1024);
        json::push_patch(&mut patch, &plan.operations).map(|()| patch)
    })
}

/// Why a patch could not be put in the answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatchEncodingError {
    /// The operations did not serialise.
    #[error("the webhook could not encode its JSON patch")]
    Json(#[source] serde_json::Error),
    /// Its base64 would not fit in memory.
    #[error("the webhook's JSON patch is too large to encode")]
    TooLarge,
}

/// The status code of the denial a pod gets when its patch cannot be encoded: a pod that
/// should be mutated must never pass unmutated, whatever the failure policy says.
pub const ENCODING_FAILURE_CODE: u16 = 500;

/// As [`respond`], with the patch encoder given (tests make it fail).
fn respond_encoding(
    admission: &Admission<'_>,
    outcome: &Result<MutationPlan, Denial>,
    encode: impl FnOnce(&MutationPlan) -> Result<Vec<u8>, serde_json::Error>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(br#"{"apiVersion":""#);
    out.extend_from_slice(admission.version.api_version().as_bytes());
    out.extend_from_slice(br#"","kind":"AdmissionReview","response":{"uid":"#);
    json::push_string(&mut out, &admission.uid);
    let head = out.len();
    let written = match outcome {
        Ok(plan) => push_allowed(&mut out, plan, encode),
        Err(denial) => {
            push_denial(&mut out, denial.code, &denial.message);
            Ok(())
        }
    };
    if let Err(error) = written {
        let message = wif_core::error_text::error_chain(&error);
        tracing::error!(error = %message, uid = %admission.uid, "pod denied: its patch could not be encoded");
        out.truncate(head);
        push_denial(&mut out, ENCODING_FAILURE_CODE, &message);
    }
    out.extend_from_slice(b"}}");
    out
}

/// `"allowed":true`, the patch and the warnings; on an error the caller drops what was written.
fn push_allowed(
    out: &mut Vec<u8>,
    plan: &MutationPlan,
    encode: impl FnOnce(&MutationPlan) -> Result<Vec<u8>, serde_json::Error>,
) -> Result<(), PatchEncodingError> {
    out.extend_from_slice(br#","allowed":true"#);
    if !plan.operations.is_empty() {
        let patch = encode(plan).map_err(PatchEncodingError::Json)?;
        let length = base64::encoded_len(patch.len(), true).ok_or(PatchEncodingError::TooLarge)?;
        out.extend_from_slice(br#","patchType":"JSONPatch","patch":""#);
        let start = out.len();
        out.resize(start + length, 0);
        let written = STANDARD
            .encode_slice(&patch, &mut out[start..])
            .map_err(|_| PatchEncodingError::TooLarge)?;
        out.truncate(start + written);
        out.push(b'"');
    }
    if !plan.warnings.is_empty() {
        out.extend_from_slice(br#","warnings":["#);
        for (i, warning) in plan.warnings.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::push_string(out, &short(warning));
        }
        out.push(b']');
    }
    Ok(())
}

fn push_denial(out: &mut Vec<u8>, code: u16, message: &str) {
    out.extend_from_slice(br#","allowed":false,"status":{"code":"#);
    out.extend_from_slice(code.to_string().as_bytes());
    out.extend_from_slice(br#","message":"#);
    json::push_string(out, message);
    out.push(b'}');
}

#[cfg(test)]
mod tests;
