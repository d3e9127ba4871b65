//! AdmissionReview in and out, `admission.k8s.io/v1` and `v1beta1`, as kube-apiserver speaks
//! it: the response echoes the request's version and `uid`; a mutation is a base64 JSON
//! Patch with `patchType: JSONPatch`; a denial is `allowed: false` with `status.code` and
//! `status.message`; warnings ride in `response.warnings`. Pure: bytes and values.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use wif_core::{Denial, MutationPlan};

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
struct ReviewIn {
    api_version: Option<String>,
    kind: Option<String>,
    request: Option<RequestIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestIn {
    uid: Option<String>,
    namespace: Option<String>,
    object: Option<Value>,
}

/// What the handler needs from a review.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    /// The version to answer in.
    pub version: ReviewVersion,
    /// The request uid, echoed.
    pub uid: String,
    /// The namespace the pod is created in.
    pub namespace: String,
    /// The raw pod.
    pub object: Value,
}

/// Largest uid echoed (Kubernetes uids are 36 characters).
const MAX_UID_LEN: usize = 128;

/// Decodes a request body.
pub fn decode(body: &[u8]) -> Result<Admission, BadReview> {
    let review: ReviewIn =
        serde_json::from_slice(body).map_err(|e| BadReview(format!("the body is not an AdmissionReview: {e}")))?;
    let version = match review.api_version.as_deref() {
        Some("admission.k8s.io/v1") => ReviewVersion::V1,
        Some("admission.k8s.io/v1beta1") => ReviewVersion::V1Beta1,
        other => {
            return Err(BadReview(format!(
                "unsupported AdmissionReview apiVersion {other:?} (expected admission.k8s.io/v1 or v1beta1)"
            )));
        }
    };
    if review.kind.as_deref() != Some("AdmissionReview") {
        return Err(BadReview(format!("kind {:?} is not AdmissionReview", review.kind)));
    }
    let request = review
        .request
        .ok_or_else(|| BadReview("the AdmissionReview has no request".into()))?;
    let uid = request
        .uid
        .filter(|u| !u.is_empty() && u.len() <= MAX_UID_LEN)
        .ok_or_else(|| BadReview("request.uid is missing or too long".into()))?;
    let object = request.object.unwrap_or(Value::Null);
    let namespace = request
        .namespace
        .filter(|n| !n.is_empty())
        .or_else(|| {
            object
                .get("metadata")
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "default".into());
    Ok(Admission {
        version,
        uid,
        namespace,
        object,
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

/// The AdmissionReview answering `admission` with `outcome`.
pub fn respond(admission: &Admission, outcome: &Result<MutationPlan, Denial>) -> Value {
    let response = match outcome {
        Ok(plan) => {
            let mut response = json!({ "uid": admission.uid, "allowed": true });
            if !plan.operations.is_empty()
                && let (Ok(patch), Some(map)) = (serde_json::to_vec(&plan.operations), response.as_object_mut())
            {
                map.insert("patchType".into(), json!("JSONPatch"));
                map.insert("patch".into(), json!(STANDARD.encode(patch)));
            }
            if !plan.warnings.is_empty()
                && let Some(map) = response.as_object_mut()
            {
                map.insert(
                    "warnings".into(),
                    json!(plan.warnings.iter().map(|w| short(w)).collect::<Vec<_>>()),
                );
            }
            response
        }
        Err(denial) => json!({
            "uid": admission.uid,
            "allowed": false,
            "status": { "code": denial.code, "message": denial.message }
        }),
    };
    json!({ "apiVersion": admission.version.api_version(), "kind": "AdmissionReview", "response": response })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let admission = decode(&review(v)).unwrap();
            assert_eq!((admission.version, admission.namespace.as_str()), (expected, "demo"));
            let answer = respond(&admission, &Ok(MutationPlan::default()));
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
        let admission = decode(&review("admission.k8s.io/v1")).unwrap();
        let denied = respond(
            &admission,
            &Err(Denial::bad_request(
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
            warnings: vec!["x".repeat(400), "short".into()],
        };
        let warned = respond(&admission, &Ok(plan));
        assert_eq!(
            warned["response"]["warnings"][0].as_str().unwrap().chars().count(),
            MAX_WARNING_CHARS
        );
        assert_eq!(warned["response"]["warnings"][1], "short");
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
}
