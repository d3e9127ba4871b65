//! Federated identity credentials in Microsoft Graph's shape:
//! `/v1.0/applications/{id}/federatedIdentityCredentials[/{key}]` (list, get, create, update,
//! delete), and the same under `userAssignedIdentities/{name}` for the admin token, so
//! credentials can change while the emulator runs. Open to a bearer token of its own (`wif sts
//! --admin-token-file`), or to a Graph token the emulator minted, confined to its tenant and to
//! what its Graph permissions allow ([`super::permission`]). Every
//! change goes through the store's one commit ([`crate::store::Store::change`]): checked with
//! Entra's rules against the whole directory, written to the state file before it is
//! acknowledged, so a restart loses nothing that was answered with 2xx.

use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use wif_core::fic::FederatedCredential;
use wif_sts::directory::derived_guid;

use super::error::{GraphError, graph_error, json};
use super::permission::{Access, Denied, Intent};
use crate::config::AzureConfig;
use crate::state::AzureState;

/// Largest management request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn authorized(state: &AzureState, headers: &HeaderMap) -> Result<Access, GraphError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let refused = || {
        graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        )
    };
    let presented = presented.ok_or_else(refused)?;
    // Compare in constant time so the token cannot be guessed byte by byte.
    let admin = state.store.admin_token.as_deref().is_some_and(|token| {
        presented.len() == token.len()
            && presented
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if admin {
        return Ok(Access::Admin);
    }
    // Or, as in Graph, a Graph token this emulator minted, with the permissions it carries.
    crate::caller::verify(&state.emulator, presented, crate::caller::Surface::Graph)
        .map(Access::Principal)
        .map_err(|_| refused())
}

/// Refuses before any lookup unless the caller's permissions reach the parent at all, so a
/// caller without them learns nothing of what exists.
fn may_reach(access: &Access, parent: Parent, intent: Intent) -> Result<(), Denied> {
    match parent {
        Parent::Application => access.may_touch_applications(intent),
        Parent::Identity => access.may_use_identity(),
    }
}

/// Whose credentials: an application's or a user-assigned identity's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// An app registration (named by object id or app id).
    Application,
    /// A user-assigned managed identity (named by name, client id or principal id).
    Identity,
}

/// What a credentials path names: the parent, its id, and a credential's name or id.
#[derive(Debug, Clone, Copy)]
pub(super) struct Target<'s> {
    parent: Parent,
    id: &'s str,
    key: Option<&'s str>,
}

/// A credentials path under a collection that has no credentials.
#[derive(Debug, Clone, Copy)]
pub(super) struct UnknownCollection;

/// The credentials path a request names, when it names one (matched exactly, as Graph's
/// routes are).
pub(super) fn credentials_path<'s>(segments: &[&'s str]) -> Option<Result<Target<'s>, UnknownCollection>> {
    let (kind, id, key) = match segments {
        ["v1.0", kind, id, "federatedIdentityCredentials"] => (*kind, *id, None),
        ["v1.0", kind, id, "federatedIdentityCredentials", key] => (*kind, *id, Some(*key)),
        _ => return None,
    };
    let parent = match kind {
        "applications" => Parent::Application,
        "userAssignedIdentities" => Parent::Identity,
        _ => return Some(Err(UnknownCollection)),
    };
    Some(Ok(Target { parent, id, key }))
}

/// The credentials of the parent named `id` (an application by object id or app id, or an
/// identity by name, client id or principal id) with the parent's client id, when the caller
/// may do `intent` on them: Graph's 404 when its tenant holds no such parent, 403 when its
/// permissions do not reach it.
fn credentials_of<'c>(
    config: &'c mut AzureConfig,
    access: &Access,
    intent: Intent,
    parent: Parent,
    id: &str,
) -> Result<(String, &'c mut Vec<FederatedCredential>), GraphError> {
    may_reach(access, parent, intent)?;
    let (client, owners, fics) = find_parent(config, access, parent, id).ok_or_else(|| no_parent(id))?;
    if parent == Parent::Application
        && let Err(denied) = access.may_use_application(intent, &owners)
    {
        return Err(if access.sees_every_application() {
            denied.into()
        } else {
            no_parent(id)
        });
    }
    Ok((client, fics))
}

/// The parent named `id` in a tenant the caller reaches: its client id, owners and credentials.
fn find_parent<'c>(
    config: &'c mut AzureConfig,
    access: &Access,
    parent: Parent,
    id: &str,
) -> Option<(String, Vec<String>, &'c mut Vec<FederatedCredential>)> {
    for tenant in config.tenants.iter_mut().filter(|t| access.reaches(&t.tenant_id)) {
        match parent {
            Parent::Application => {
                for app in &mut tenant.applications {
                    let object_id = app
                        .object_id
                        .clone()
                        .unwrap_or_else(|| derived_guid(&format!("object:{}", app.app_id.to_ascii_lowercase())));
                    if app.app_id.eq_ignore_ascii_case(id) || object_id.eq_ignore_ascii_case(id) {
                        return Some((
                            app.app_id.to_ascii_lowercase(),
                            app.owners.clone(),
                            &mut app.federated_identity_credentials,
                        ));
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
                            Vec::new(),
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

fn parse(body: &[u8]) -> Result<FicBody, GraphError> {
    serde_json::from_slice::<FicBody>(body).map_err(|_| {
        graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "the body must be a JSON federatedIdentityCredential",
        )
    })
}

fn no_parent(id: &str) -> GraphError {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

/// Answers a request on a credentials path.
pub(super) async fn handle(
    state: &AzureState,
    method: &Method,
    Target { parent, id, key }: Target<'_>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Response {
    let answer = async {
        let access = authorized(state, headers)?;
        let body = match wif_server::body::read_limited(body, MAX_BODY_BYTES).await {
            Ok(body) => body,
            Err(e) => {
                return Err(graph_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request_BadRequest",
                    e.to_string(),
                ));
            }
        };
        match (key, method) {
            (None, &Method::GET) => list(state, &access, parent, id).await,
            (None, &Method::POST) => create(state, &access, parent, id, &body).await,
            (None, _) => Err(graph_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Request_BadRequest",
                "use GET or POST",
            )),
            (Some(key), _) => one(state, &access, method, parent, id, key, &body).await,
        }
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

async fn list(state: &AzureState, access: &Access, parent: Parent, id: &str) -> Result<Response, GraphError> {
    let mut config = state.store.config.lock().await;
    let (client, fics) = credentials_of(&mut config, access, Intent::Read, parent, id)?;
    let values: Vec<Value> = fics.iter().map(|f| to_graph(&client, f)).collect();
    Ok(json(StatusCode::OK, &json!({ "value": values })))
}

async fn create(
    state: &AzureState,
    access: &Access,
    parent: Parent,
    id: &str,
    body: &[u8],
) -> Result<Response, GraphError> {
    let request = parse(body)?;
    let (Some(name), Some(issuer), Some(subject), Some(audiences)) =
        (request.name, request.issuer, request.subject, request.audiences)
    else {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "name, issuer, subject and audiences are required",
        ));
    };
    let fic = FederatedCredential {
        name,
        issuer,
        subject,
        audiences,
        description: request.description,
    };
    let client = add(state, access, parent, id, fic.clone()).await?;
    let mut response = json(StatusCode::CREATED, &to_graph(&client, &fic));
    if let Ok(location) = format!("/v1.0/federatedIdentityCredentials/{}", fic_id(&client, &fic.name)).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Adds `fic` to the parent named `id`, through the store's commit (Entra's rules checked
/// against the whole directory); the parent's client id.
async fn add(
    state: &AzureState,
    access: &Access,
    parent: Parent,
    id: &str,
    fic: FederatedCredential,
) -> Result<String, GraphError> {
    state
        .store
        .change(|config| {
            let (client, fics) = credentials_of(config, access, Intent::Write, parent, id)?;
            fics.push(fic);
            Ok(client)
        })
        .await
}

/// Removes the credential `key` (name or id) of the parent named `id`.
async fn remove(state: &AzureState, access: &Access, parent: Parent, id: &str, key: &str) -> Result<(), GraphError> {
    state
        .store
        .change(|config| {
            let (client, fics) = credentials_of(config, access, Intent::Write, parent, id)?;
            let index = find(fics, &client, key).ok_or_else(|| no_credential(key))?;
            fics.remove(index);
            Ok(())
        })
        .await
}

/// Adds `fic` to the parent named `id` as the operator of the plane (the admin token's holder)
/// would through `POST .../federatedIdentityCredentials`: the same commit, the same checks,
/// the same refusals. The console's "Add credential".
pub async fn add_as_operator(
    state: &AzureState,
    parent: Parent,
    id: &str,
    fic: FederatedCredential,
) -> Result<(), GraphError> {
    add(state, &Access::Admin, parent, id, fic).await.map(drop)
}

/// Removes the credential `name` of the parent named `id`, as the operator would through
/// `DELETE .../federatedIdentityCredentials/{name}`.
pub async fn remove_as_operator(state: &AzureState, parent: Parent, id: &str, name: &str) -> Result<(), GraphError> {
    remove(state, &Access::Admin, parent, id, name).await
}

fn find(fics: &[FederatedCredential], client: &str, key: &str) -> Option<usize> {
    fics.iter()
        .position(|f| f.name == key || fic_id(client, &f.name).eq_ignore_ascii_case(key))
}

fn no_credential(key: &str) -> GraphError {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("Federated identity credential '{key}' does not exist."),
    )
}

async fn one(
    state: &AzureState,
    access: &Access,
    method: &Method,
    parent: Parent,
    id: &str,
    key: &str,
    body: &[u8],
) -> Result<Response, GraphError> {
    match *method {
        Method::GET => {
            let mut config = state.store.config.lock().await;
            let (client, fics) = credentials_of(&mut config, access, Intent::Read, parent, id)?;
            let index = find(fics, &client, key).ok_or_else(|| no_credential(key))?;
            Ok(json(StatusCode::OK, &to_graph(&client, &fics[index])))
        }
        Method::DELETE => {
            remove(state, access, parent, id, key).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Method::PATCH => {
            state
                .store
                .change(|config| {
                    let (client, fics) = credentials_of(config, access, Intent::Write, parent, id)?;
                    let index = find(fics, &client, key).ok_or_else(|| no_credential(key))?;
                    update(&mut fics[index], parse(body)?)
                })
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "use GET, PATCH or DELETE",
        )),
    }
}

fn update(fic: &mut FederatedCredential, patch: FicBody) -> Result<(), GraphError> {
    if patch.name.as_ref().is_some_and(|n| *n != fic.name) {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Property 'name' is read-only and cannot be changed.",
        ));
    }
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
    Ok(())
}
