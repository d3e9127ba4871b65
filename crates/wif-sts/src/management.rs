//! A management API in the shape of Microsoft Graph's
//! `applications/{id}/federatedIdentityCredentials` (list, get, create, update, delete), and
//! the same under `userAssignedIdentities/{name}`, so credentials can change while the
//! emulator runs. Guarded by a bearer token of its own, or a Graph token the emulator minted. Every change is checked with Entra's
//! rules against the whole directory, then written to the state file (atomically) before it
//! is acknowledged, so a restart loses nothing that was answered with 2xx.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use wif_core::fic::FederatedCredential;

use crate::directory::{DirectoryConfig, derived_guid};
use crate::server::StsState;
use crate::store::{Store, commit};

/// Largest management request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A Graph error: `{"error": {"code", "message", "innerError"}}`.
struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message, "innerError": { "date": wif_core::clock::error_timestamp(wif_core::clock::unix_now()) } } });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

fn graph_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> GraphError {
    GraphError {
        status,
        code,
        message: message.into(),
    }
}

/// Who may change credentials: the admin token holder, anywhere; a Graph caller, in its own
/// tenant only (as Graph confines a service principal to its directory).
enum Access {
    Admin,
    Tenant(String),
}

impl Access {
    fn reaches(&self, tenant_id: &str) -> bool {
        match self {
            Access::Admin => true,
            Access::Tenant(own) => own.eq_ignore_ascii_case(tenant_id),
        }
    }
}

fn authorized(state: &StsState, store: &Store, headers: &HeaderMap) -> Option<Access> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?;
    // Compare in constant time so the token cannot be guessed byte by byte.
    let admin = store.admin_token.as_deref().is_some_and(|token| {
        presented.len() == token.len()
            && presented
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if admin {
        return Some(Access::Admin);
    }
    // Or, as in Graph, a Graph token this emulator minted.
    crate::caller::verify(state, presented, crate::caller::Surface::Graph)
        .ok()
        .map(|caller| Access::Tenant(caller.tenant_id))
}

#[derive(Clone, Copy)]
enum Parent {
    Application,
    Identity,
}

/// The credentials of the parent named `id` in `config`: an application by object id or app
/// id, or an identity by name, client id or principal id.
fn credentials_of<'c>(
    config: &'c mut DirectoryConfig,
    access: &Access,
    parent: Parent,
    id: &str,
) -> Option<(String, &'c mut Vec<FederatedCredential>)> {
    for tenant in config.tenants.iter_mut().filter(|t| access.reaches(&t.tenant_id)) {
        match parent {
            Parent::Application => {
                for app in &mut tenant.applications {
                    let object_id = app
                        .object_id
                        .clone()
                        .unwrap_or_else(|| derived_guid(&format!("object:{}", app.app_id.to_ascii_lowercase())));
                    if app.app_id.eq_ignore_ascii_case(id) || object_id.eq_ignore_ascii_case(id) {
                        return Some((app.app_id.to_ascii_lowercase(), &mut app.federated_identity_credentials));
                    }
                }
            }
            Parent::Identity => {
                for mi in &mut tenant.user_assigned_identities {
                    if mi.name == id
                        || mi.client_id.eq_ignore_ascii_case(id)
                        || mi.principal_id.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(id))
                    {
                        return Some((
                            mi.client_id.to_ascii_lowercase(),
                            &mut mi.federated_identity_credentials,
                        ));
                    }
                }
            }
        }
    }
    None
}

fn fic_id(parent_client_id: &str, name: &str) -> String {
    derived_guid(&format!("fic:{parent_client_id}:{name}"))
}

fn to_graph(parent_client_id: &str, fic: &FederatedCredential) -> Value {
    json!({
        "id": fic_id(parent_client_id, &fic.name),
        "name": fic.name,
        "issuer": fic.issuer,
        "subject": fic.subject,
        "audiences": fic.audiences,
        "description": fic.description,
    })
}

/// What a client may send on create and update (Graph's fields; `id` is ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FicBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    audiences: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "id")]
    _id: Option<String>,
    #[serde(default, rename = "@odata.type")]
    _odata_type: Option<String>,
}

fn commit_refused(error: crate::store::CommitError) -> GraphError {
    match error {
        crate::store::CommitError::Invalid(e) => graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", e.message),
        crate::store::CommitError::Persist(e) => {
            graph_error(StatusCode::INTERNAL_SERVER_ERROR, "Service_InternalServerError", e)
        }
    }
}

type Shared = Arc<StsState>;

fn management(state: &StsState, headers: &HeaderMap) -> Result<(Arc<Store>, Access), GraphError> {
    let Some(management) = state.store.clone() else {
        return Err(graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            "the management API is off: start wif sts with --admin-token-file",
        ));
    };
    match authorized(state, &management, headers) {
        Some(access) => Ok((management, access)),
        None => Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        )),
    }
}

async fn list(state: &StsState, headers: &HeaderMap, parent: Parent, id: &str) -> Response {
    let (management, access) = match management(state, headers) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let mut config = management.config.lock().await;
    match credentials_of(&mut config, &access, parent, id) {
        Some((client, fics)) => {
            Json200(json!({ "value": fics.iter().map(|f| to_graph(&client, f)).collect::<Vec<_>>() })).into_response()
        }
        None => graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
        .into_response(),
    }
}

async fn create(state: &StsState, headers: &HeaderMap, parent: Parent, id: &str, body: &[u8]) -> Response {
    let (management, access) = match management(state, headers) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let Ok(request) = serde_json::from_slice::<FicBody>(body) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "the body must be a JSON federatedIdentityCredential",
        )
        .into_response();
    };
    let mut config = management.config.lock().await;
    let mut candidate = config.clone();
    let Some((client, fics)) = credentials_of(&mut candidate, &access, parent, id) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist."),
        )
        .into_response();
    };
    let (Some(name), Some(issuer), Some(subject), Some(audiences)) =
        (request.name, request.issuer, request.subject, request.audiences)
    else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "name, issuer, subject and audiences are required",
        )
        .into_response();
    };
    let fic = FederatedCredential {
        name,
        issuer,
        subject,
        audiences,
        description: request.description,
    };
    fics.push(fic.clone());
    if let Err(error) = commit(state, &management, candidate.clone()).await {
        return commit_refused(error).into_response();
    }
    *config = candidate;
    let mut response = (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        to_graph(&client, &fic).to_string(),
    )
        .into_response();
    if let Ok(location) = format!("/v1.0/federatedIdentityCredentials/{}", fic_id(&client, &fic.name)).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn find(fics: &[FederatedCredential], client: &str, key: &str) -> Option<usize> {
    fics.iter()
        .position(|f| f.name == key || fic_id(client, &f.name).eq_ignore_ascii_case(key))
}

async fn one(
    state: &StsState,
    headers: &HeaderMap,
    method: &axum::http::Method,
    parent: Parent,
    id: &str,
    key: &str,
    body: &[u8],
) -> Response {
    let (management, access) = match management(state, headers) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let mut config = management.config.lock().await;
    let mut candidate = config.clone();
    let Some((client, fics)) = credentials_of(&mut candidate, &access, parent, id) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist."),
        )
        .into_response();
    };
    let Some(index) = find(fics, &client, key) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Federated identity credential '{key}' does not exist."),
        )
        .into_response();
    };
    match *method {
        axum::http::Method::GET => return Json200(to_graph(&client, &fics[index])).into_response(),
        axum::http::Method::DELETE => {
            fics.remove(index);
        }
        axum::http::Method::PATCH => {
            let Ok(patch) = serde_json::from_slice::<FicBody>(body) else {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "the body must be a JSON federatedIdentityCredential",
                )
                .into_response();
            };
            if patch.name.as_ref().is_some_and(|n| *n != fics[index].name) {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "Property 'name' is read-only and cannot be changed.",
                )
                .into_response();
            }
            let fic = &mut fics[index];
            if let Some(v) = patch.issuer {
                fic.issuer = v;
            }
            if let Some(v) = patch.subject {
                fic.subject = v;
            }
            if let Some(v) = patch.audiences {
                fic.audiences = v;
            }
            if let Some(v) = patch.description {
                fic.description = Some(v);
            }
        }
        _ => {
            return graph_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Request_BadRequest",
                "use GET, PATCH or DELETE",
            )
            .into_response();
        }
    }
    if let Err(error) = commit(state, &management, candidate.clone()).await {
        return commit_refused(error).into_response();
    }
    *config = candidate;
    StatusCode::NO_CONTENT.into_response()
}

struct Json200(Value);

impl IntoResponse for Json200 {
    fn into_response(self) -> Response {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            self.0.to_string(),
        )
            .into_response()
    }
}

fn parent_of(kind: &str) -> Option<Parent> {
    match kind {
        "applications" => Some(Parent::Application),
        "userAssignedIdentities" => Some(Parent::Identity),
        _ => None,
    }
}

async fn collection(
    State(state): State<Shared>,
    Path((kind, id)): Path<(String, String)>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(parent) = parent_of(&kind) else {
        return graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound", "unknown collection").into_response();
    };
    match method {
        axum::http::Method::GET => list(&state, &headers, parent, &id).await,
        axum::http::Method::POST => create(&state, &headers, parent, &id, &body).await,
        _ => graph_error(StatusCode::METHOD_NOT_ALLOWED, "Request_BadRequest", "use GET or POST").into_response(),
    }
}

async fn item(
    State(state): State<Shared>,
    Path((kind, id, key)): Path<(String, String, String)>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(parent) = parent_of(&kind) else {
        return graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound", "unknown collection").into_response();
    };
    one(&state, &headers, &method, parent, &id, &key, &body).await
}

/// The management routes (merged into the emulator's router).
pub fn routes() -> Router<Shared> {
    let any = |h| get(h).post(h).patch(h).delete(h).put(h);
    Router::new()
        .route("/v1.0/{kind}/{id}/federatedIdentityCredentials", any(collection))
        .route(
            "/v1.0/{kind}/{id}/federatedIdentityCredentials/{key}",
            get(item).patch(item).delete(item).post(item).put(item),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}
