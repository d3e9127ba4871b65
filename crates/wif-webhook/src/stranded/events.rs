//! How the reconciler tells people about a stranded pod: Warning Events on the pod and on its
//! owner (events.k8s.io, through kube's `Recorder`, which aggregates repeats), each call bounded
//! in time; a failure to publish is logged, never fatal (the metric and the log still say it).

use std::time::Duration;

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder};
use wif_core::stranded::Stranded;

use super::ledger::Owner;

/// How long one call to the API server may take (the reconciler's client retries nothing).
pub(super) const API_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an Event was not published.
#[derive(Debug, thiserror::Error)]
enum PublishError {
    #[error("the API server refused it")]
    Api(#[from] kube::Error),
    #[error("the API server did not answer within {API_TIMEOUT:?}")]
    Timeout,
}

/// `call` bounded by [`API_TIMEOUT`].
async fn bounded(call: impl std::future::Future<Output = Result<(), kube::Error>>) -> Result<(), PublishError> {
    match tokio::time::timeout(API_TIMEOUT, call).await {
        Ok(answer) => Ok(answer?),
        Err(_) => Err(PublishError::Timeout),
    }
}

/// The Event reference of `pod`.
pub(super) fn object_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

/// A Warning Event on the pod, and one on its owner naming the pod; a failure to publish is
/// logged (the metric and the log still say it).
pub(super) async fn report(
    recorder: &Recorder,
    pod: &ObjectReference,
    owner: Option<&Owner>,
    reason: &str,
    action: &str,
    verdict: &Stranded,
    pod_name: &str,
) {
    // Events take 1 kB of note at most: cut at a character boundary under 1000 bytes.
    let note = |text: String| {
        let mut cut = text.len().min(1000);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.get(..cut).unwrap_or_default().to_owned()
    };
    let event = KubeEvent {
        type_: EventType::Warning,
        reason: reason.into(),
        note: Some(note(format!("{} ({})", verdict.message, verdict.reason.label()))),
        action: action.into(),
        secondary: None,
    };
    if let Err(error) = bounded(recorder.publish(&event, pod)).await {
        tracing::warn!(%error, pod = %pod_name, "cannot publish an Event on the pod");
    }
    if let Some(owner) = owner {
        let reference = ObjectReference {
            api_version: Some(owner.api_version.clone()),
            kind: Some(owner.kind.clone()),
            name: Some(owner.name.clone()),
            namespace: pod.namespace.clone(),
            uid: Some(owner.uid.clone()),
            ..ObjectReference::default()
        };
        let event = KubeEvent {
            note: Some(note(format!(
                "pod {pod_name}: {} ({})",
                verdict.message,
                verdict.reason.label()
            ))),
            secondary: Some(pod.clone()),
            ..event
        };
        if let Err(error) = bounded(recorder.publish(&event, &reference)).await {
            tracing::warn!(%error, owner = %owner.name, "cannot publish an Event on the pod's owner");
        }
    }
}
