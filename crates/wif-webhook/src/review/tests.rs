//! AdmissionReview decoding and answering: both API versions, every refusal of a malformed
//! review with the message kube-apiserver logs, the one-pass read and its fallback, and the
//! patch's bytes against serde_json's.

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
    let error = decode(b"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"\xff\"}").unwrap_err();
    assert!(
        error.0.starts_with("the body is not an AdmissionReview: invalid utf-8"),
        "{}",
        error.0
    );
    // Invalid UTF-8 anywhere in the body is refused, in fields the webhook never reads too
    // (JSON is UTF-8; kube-apiserver never sends anything else).
    let error = decode(
        b"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"userInfo\":{\"username\":\"\xff\"}}}",
    )
    .unwrap_err();
    assert!(
        error.0.starts_with("the body is not an AdmissionReview: invalid utf-8"),
        "{}",
        error.0
    );
}

fn with_object(object: &str) -> Vec<u8> {
    format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"u","namespace":"demo","object":{object}}}}}"#
    )
    .into_bytes()
}

#[test]
fn a_pod_the_one_pass_read_refuses_gets_the_denial_naming_its_field() {
    for (object, message) in [
        (
            r#"{"metadata":{"name":"p"},"spec":{"containers":{}}}"#,
            "invalid pod: spec.containers: invalid type: object, expected a list",
        ),
        (
            r#"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","env":[{"name":1}]}]}}"#,
            "invalid pod: spec.containers[0].env[0].name: invalid type: integer `1`, expected a string",
        ),
        (r#"{"metadata":{"name":"p"}}"#, "invalid pod: spec is missing"),
        (
            r#"[1]"#,
            "couldn't get version/kind; json parse error: the object is not a Pod",
        ),
        (
            r#"null"#,
            "couldn't get version/kind; json parse error: the object is not a Pod",
        ),
    ] {
        let body = with_object(object);
        let admission = decode(&body).expect("a review");
        assert_eq!(admission.pod.expect_err(object).message, message);
    }
}

#[test]
fn labels_and_status_of_another_shape_are_skipped_not_refused() {
    for (object, label, phase) in [
        (
            r#"{"metadata":{"labels":{"a":"b"}},"status":{"phase":"Running","x":[1]},"spec":{}}"#,
            Some("b"),
            Some("Running"),
        ),
        (
            r#"{"metadata":{"labels":{"a":"b","n":1}},"status":{"phase":2},"spec":{}}"#,
            None,
            None,
        ),
        (r#"{"metadata":{"labels":["a"]},"status":"odd","spec":{}}"#, None, None),
        (
            r#"{"metadata":{"labels":"a","namespace":"ns"},"status":[{}],"spec":{}}"#,
            None,
            None,
        ),
    ] {
        let body = with_object(object);
        let admission = decode(&body).expect("a review");
        let pod = admission.pod.expect(object);
        assert_eq!((pod.label("a"), pod.phase()), (label, phase), "{object}");
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
