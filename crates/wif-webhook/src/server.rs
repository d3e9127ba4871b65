//! The webhook's HTTP shell: `POST /mutate-v1-pod` decodes the AdmissionReview, looks up the
//! ServiceAccount, runs the planner, and answers in the request's version. Metrics keep
//! upstream's `azwi_mutation_request` histogram (by namespace) and add outcome and warning
//! counters, which upstream lacks.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde_json::json;
use wif_core::{Denial, MutationRequest, PodView, WebhookSettings, contract, plan_mutation};

use crate::accounts::ServiceAccountSource;
use crate::review::{self, Admission};

/// kube-apiserver's own request limit; nothing larger can be an admission request.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    namespace: String,
    service_name: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

fn upstream_buckets() -> Histogram {
    let mut buckets: Vec<f64> = Vec::new();
    for scale in [0.001, 0.01, 0.1] {
        buckets.extend((1..=9).map(|i| f64::from(i) * scale));
    }
    buckets.extend([1.0, 1.5, 2.0, 2.5, 3.0]);
    Histogram::new(buckets)
}

/// The webhook's metrics.
#[derive(Debug, Clone)]
pub struct WebhookMetrics {
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    outcomes: Family<OutcomeLabels, Counter>,
    warnings: Counter,
}

impl WebhookMetrics {
    /// Registers them.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = WebhookMetrics {
            latency: Family::new_with_constructor(upstream_buckets as fn() -> Histogram),
            outcomes: Family::default(),
            warnings: Counter::default(),
        };
        registry.register(
            "azwi_mutation_request",
            "Distribution of how long it took for the azure-workload-identity mutation request",
            metrics.latency.clone(),
        );
        registry.register(
            "wif_webhook_admissions",
            "Admission requests by outcome: mutated, unchanged, denied, error",
            metrics.outcomes.clone(),
        );
        registry.register(
            "wif_webhook_warnings",
            "Warnings returned to kubectl",
            metrics.warnings.clone(),
        );
        metrics
    }
}

/// What the handler shares.
#[derive(Debug)]
pub struct WebhookState {
    /// Settings of this deployment.
    pub settings: WebhookSettings,
    /// ServiceAccount lookups.
    pub accounts: Arc<dyn ServiceAccountSource>,
    /// Metrics.
    pub metrics: WebhookMetrics,
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Decides one admission: the planner's outcome, or a denial from decoding the pod or from
/// the lookup (upstream decodes the pod before it looks anything up, so do we).
pub async fn admit(state: &WebhookState, admission: &Admission<'_>) -> Result<wif_core::MutationPlan, Denial> {
    let pod = admission.pod.as_ref().map_err(Clone::clone)?;
    let name = pod.service_account_name();
    let account = match state.accounts.get(&admission.namespace, name).await {
        Ok(Some(account)) => account,
        Ok(None) => {
            return Err(Denial::bad_request(
                wif_core::rules::Rule::ServiceAccountMissing,
                format!("serviceaccounts \"{name}\" not found"),
            ));
        }
        Err(e) => {
            return Err(Denial::bad_request(
                wif_core::rules::Rule::ServiceAccountMissing,
                format!(
                    "failed to get service account {}/{name}: {}",
                    admission.namespace,
                    wif_core::error_text::error_chain(&e)
                ),
            ));
        }
    };
    let request = MutationRequest {
        pod,
        namespace: &admission.namespace,
        service_account: &account,
        pod_name_hint: None,
    };
    plan_mutation(&request, &state.settings)
}

async fn mutate(State(state): State<Arc<WebhookState>>, body: Body) -> Response {
    let started = Instant::now();
    let bytes = match wif_server::body::read_limited(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            state
                .metrics
                .outcomes
                .get_or_create(&OutcomeLabels { outcome: "error" })
                .inc();
            tracing::warn!(limit = MAX_BODY_BYTES, "admission request body too large");
            return json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({ "error": format!("request body larger than {MAX_BODY_BYTES} bytes") }),
            );
        }
    };
    let admission = match review::decode(&bytes) {
        Ok(admission) => admission,
        Err(e) => {
            state
                .metrics
                .outcomes
                .get_or_create(&OutcomeLabels { outcome: "error" })
                .inc();
            tracing::warn!(error = ?e.0, "malformed admission request");
            return json_response(StatusCode::BAD_REQUEST, &json!({ "error": e.0 }));
        }
    };
    let outcome = admit(&state, &admission).await;
    // Called inside the log macros, so the name is formatted only when a line is written.
    // Values from the review are logged with `?` (quoted, escaped): a pod name or annotation
    // with a newline cannot forge a log line.
    let pod = || {
        admission
            .pod
            .as_ref()
            .ok()
            .and_then(PodView::display_name)
            .unwrap_or_default()
    };
    let label = match &outcome {
        Ok(plan) if plan.operations.is_empty() => "unchanged",
        Ok(_) => "mutated",
        Err(_) => "denied",
    };
    match &outcome {
        Ok(plan) => {
            state.metrics.warnings.inc_by(plan.warnings.len() as u64);
            for warning in &plan.warnings {
                tracing::info!(namespace = ?admission.namespace, pod = ?pod(), warning = ?warning, "admission warning");
            }
            tracing::debug!(namespace = ?admission.namespace, pod = ?pod(), operations = plan.operations.len(), "pod admitted");
        }
        Err(denial) => {
            tracing::warn!(namespace = ?admission.namespace, pod = ?pod(), code = denial.code, message = ?denial.message, "pod denied")
        }
    }
    state
        .metrics
        .outcomes
        .get_or_create(&OutcomeLabels { outcome: label })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RequestLabels {
            namespace: admission.namespace.clone(),
            service_name: "webhook",
        })
        .observe(started.elapsed().as_secs_f64());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        review::respond(&admission, &outcome),
    )
        .into_response()
}

/// Ready only once the ServiceAccount source can answer (the cache has synced): before that,
/// `/readyz` says so and kube-proxy sends the replica no admissions it would have to deny.
pub fn readiness_gate(accounts: Arc<dyn ServiceAccountSource>) -> wif_server::admin::ReadinessGate {
    Arc::new(move || (!accounts.is_ready()).then(|| "ServiceAccount cache not synced yet".to_owned()))
}

/// The webhook's routes.
pub fn router(state: Arc<WebhookState>) -> Router {
    Router::new()
        .route(contract::WEBHOOK_PATH, post(mutate))
        .with_state(state)
}
