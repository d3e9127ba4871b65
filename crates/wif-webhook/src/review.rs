//! AdmissionReview in and out, `admission.k8s.io/v1` and `v1beta1`, as kube-apiserver speaks
//! it: the response echoes the request's version and `uid`; a mutation is a base64 JSON
//! Patch with `patchType: JSONPatch`; a denial is `allowed: false` with `status.code` and
//! `status.message`; warnings ride in `response.warnings`. Pure: bytes and values.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::value::RawValue;
use wif_core::{Denial, MutationPlan, PodView};

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReviewIn<'a> {
    #[serde(borrow)]
    api_version: Option<&'a str>,
    #[serde(borrow)]
    kind: Option<&'a str>,
    #[serde(borrow)]
    request: Option<RequestIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestIn<'a> {
    uid: Option<String>,
    namespace: Option<String>,
    /// Kept as text and read once, into the planner's view: no tree of the whole pod.
    #[serde(borrow)]
    object: Option<&'a RawValue>,
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
    let review: ReviewIn =
        serde_json::from_slice(body).map_err(|e| BadReview(format!("the body is not an AdmissionReview: {e}")))?;
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
    let pod = PodView::from_json(request.object.map_or("null", RawValue::get));
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

/// Appends `text` as a JSON string.
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    // Writing a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// The AdmissionReview answering `admission` with `outcome`, as JSON bytes. Written by hand
/// because its shape is fixed and its bulk is the base64 patch, which needs no escaping:
/// serializing it as a JSON string scanned every byte of it once more.
pub fn respond(admission: &Admission<'_>, outcome: &Result<MutationPlan, Denial>) -> Vec<u8> {
    respond_encoding(admission, outcome, |plan| serde_json::to_vec(&plan.operations))
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
    push_json_string(&mut out, &admission.uid);
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
            push_json_string(out, &short(warning));
        }
        out.push(b']');
    }
    Ok(())
}

fn push_denial(out: &mut Vec<u8>, code: u16, message: &str) {
    out.extend_from_slice(br#","allowed":false,"status":{"code":"#);
    out.extend_from_slice(code.to_string().as_bytes());
    out.extend_from_slice(br#","message":"#);
    push_json_string(out, message);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use wif_core::rules::{Advice, Rule};

    use super::*;

    fn answer(admission: &Admission<'_>, outcome: &Result<MutationPlan, Denial>) -> Value {
        serde_json::from_slice(&respond(admission, outcome)).unwrap()
    }

    fn review(version: &str) -> Vec<u8> {
        json!({
            "apiVersion": version, "kind": "AdmissionReview",
            "request": { "uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "namespace": "demo", "operation": "CREATE",
                         "object": { "metadata": { "name": "p" }, "spec": { "containers": [] } } }
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn both_versions_decode_and_are_echoed() {
        for (v, expected) in [
            ("admission.k8s.io/v1", ReviewVersion::V1),
            ("admission.k8s.io/v1beta1", ReviewVersion::V1Beta1),
        ] {
            let body = review(v);
            let admission = decode(&body).unwrap();
            assert_eq!((admission.version, admission.namespace.as_str()), (expected, "demo"));
            let answer = answer(&admission, &Ok(MutationPlan::default()));
            assert_eq!(answer["apiVersion"], v);
            assert_eq!(answer["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
            assert_eq!(answer["response"]["allowed"], true);
            assert!(
                answer["response"].get("patch").is_none(),
                "no patch when nothing changes"
            );
        }
    }

    #[test]
    fn denial_and_warning_shapes() {
        let body = review("admission.k8s.io/v1");
        let admission = decode(&body).unwrap();
        let denied = answer(
            &admission,
            &Err(Denial::bad_request(
                wif_core::rules::Rule::InvalidPod,
                "hostNetwork is set to true, cannot inject proxy sidecar",
            )),
        );
        assert_eq!(denied["response"]["allowed"], false);
        assert_eq!(
            denied["response"]["status"],
            json!({ "code": 400, "message": "hostNetwork is set to true, cannot inject proxy sidecar" })
        );
        let plan = MutationPlan {
            operations: vec![],
            warnings: vec![
                Advice::new(Rule::AnnotationUnknown, "x".repeat(400)),
                Advice::new(Rule::AnnotationUnknown, "short"),
            ],
        };
        let warned = answer(&admission, &Ok(plan));
        assert_eq!(
            warned["response"]["warnings"][0].as_str().unwrap().chars().count(),
            MAX_WARNING_CHARS
        );
        assert_eq!(warned["response"]["warnings"][1], "short");
    }

    #[test]
    fn answers_are_valid_json_whatever_the_text_inside() {
        let body = review("admission.k8s.io/v1beta1");
        let mut admission = decode(&body).unwrap();
        admission.uid = "odd \"uid\" \\ \n".into();
        let operations: Vec<json_patch::PatchOperation> = serde_json::from_value(json!([
            { "op": "add", "path": "/metadata/annotations/a~1b", "value": "\"quoted\"\u{1F600}" }
        ]))
        .unwrap();
        let plan = MutationPlan {
            operations: operations.clone(),
            warnings: vec![Advice::new(Rule::AnnotationUnknown, "a \"warning\"\nover two lines")],
        };
        let mutated = answer(&admission, &Ok(plan));
        assert_eq!(mutated["apiVersion"], "admission.k8s.io/v1beta1");
        assert_eq!(mutated["response"]["uid"], "odd \"uid\" \\ \n");
        assert_eq!(mutated["response"]["patchType"], "JSONPatch");
        let patch = STANDARD.decode(mutated["response"]["patch"].as_str().unwrap()).unwrap();
        assert_eq!(
            serde_json::from_slice::<Vec<json_patch::PatchOperation>>(&patch).unwrap(),
            operations
        );
        assert_eq!(
            mutated["response"]["warnings"],
            json!(["a \"warning\"\nover two lines"])
        );
        let denied = answer(
            &admission,
            &Err(Denial::bad_request(
                wif_core::rules::Rule::ServiceAccountMissing,
                "no \"sa\"",
            )),
        );
        assert_eq!(
            denied["response"]["status"],
            json!({ "code": 400, "message": "no \"sa\"" })
        );
        assert_eq!(denied["response"]["allowed"], false);
    }

    #[test]
    fn bad_bodies() {
        for (body, expected) in [
            (&b"invalid"[..], "not an AdmissionReview"),
            (
                br#"{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview"}"#,
                "unsupported AdmissionReview apiVersion",
            ),
            (
                br#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod"}"#,
                "is not AdmissionReview",
            ),
            (
                br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
                "has no request",
            ),
            (
                br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}"#,
                "request.uid",
            ),
        ] {
            assert!(decode(body).unwrap_err().0.contains(expected), "{expected}");
        }
    }

    #[test]
    fn a_patch_that_cannot_be_encoded_denies_the_pod_instead_of_letting_it_pass_unmutated() {
        let body = review("admission.k8s.io/v1");
        let admission = decode(&body).unwrap();
        let operations: Vec<json_patch::PatchOperation> =
            serde_json::from_value(json!([{ "op": "add", "path": "/metadata/labels", "value": {} }])).unwrap();
        let plan = MutationPlan {
            operations,
            warnings: vec![Advice::new(Rule::AnnotationUnknown, "dropped with the patch")],
        };
        let failing = |_: &MutationPlan| -> Result<Vec<u8>, serde_json::Error> {
            Err(serde_json::Error::io(std::io::Error::other("disk on fire")))
        };
        let bytes = respond_encoding(&admission, &Ok(plan.clone()), failing);
        let denied: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(denied["response"]["allowed"], false, "{denied}");
        assert_eq!(denied["response"]["status"]["code"], 500);
        let message = denied["response"]["status"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("the webhook could not encode its JSON patch") && message.contains("disk on fire"),
            "{message}"
        );
        assert!(denied["response"].get("patch").is_none() && denied["response"].get("warnings").is_none());
        assert_eq!(denied["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
        // The same plan, encoded, is allowed with its patch.
        let allowed = answer(&admission, &Ok(plan));
        assert_eq!(allowed["response"]["allowed"], true);
        assert!(allowed["response"]["patch"].is_string());
    }
}
