//! The local Microsoft Graph, as `az role assignment create --assignee` resolves a principal
//! (spec/azure-control-plane.md §5): `servicePrincipals` (filtered by
//! `servicePrincipalNames/any(c:c eq '…')`, `appId eq '…'` or `displayName eq '…'`, or by
//! object id) and `directoryObjects/getByIds`, over every application's and managed
//! identity's service principal in the caller's tenant; and applications' and identities'
//! federated credentials (`credentials`), under the same `/v1.0`. Callers present a Graph
//! token this emulator minted, carrying a Graph permission that reads the directory
//! ([`permission`]); errors are Graph's `{"error": {"code", "message"}}`.

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use crate::caller::{CallerError, Surface};
use crate::ops::{self, PrincipalView};
use crate::respond::answer;
use crate::state::AzureState;

mod credentials;
mod error;
pub mod permission;

pub use credentials::{Parent as CredentialParent, add_as_operator, remove_as_operator};
pub use error::GraphError;

/// Largest Graph request body (a `getByIds` of 1,000 ids is about 40 kB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn error(status: u16, code: &str, message: &str) -> Response {
    answer(
        status,
        &json!({"error": {"code": code, "message": message, "innerError": {"date": wif_core::clock::rfc3339(wif_core::clock::unix_now())}}}),
    )
}

/// Whether a path is Graph's.
pub fn claims(path: &str) -> bool {
    let first = path.split('/').find(|s| !s.is_empty()).unwrap_or_default();
    first.eq_ignore_ascii_case("v1.0") || first.eq_ignore_ascii_case("beta")
}

fn principal_json(p: &PrincipalView) -> Value {
    let mut names = vec![p.app_id.clone()];
    let mut alternative = Vec::new();
    let kind = match &p.resource_id {
        Some(resource_id) => {
            names.push(format!("https://identity.azure.net/{}", p.object_id));
            alternative.push("isExplicit=True".to_owned());
            alternative.push(resource_id.clone());
            "ManagedIdentity"
        }
        None => "Application",
    };
    json!({
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": p.object_id,
        "appId": p.app_id,
        "displayName": p.display_name,
        "servicePrincipalType": kind,
        "servicePrincipalNames": names,
        "alternativeNames": alternative,
        "accountEnabled": true,
        "appOwnerOrganizationId": p.tenant_id,
    })
}

/// What a `$filter` on servicePrincipals asks for.
fn matches_filter(filter: &str, p: &PrincipalView) -> Option<bool> {
    let quoted = |prefix: &str| {
        let lower = filter.to_ascii_lowercase();
        let at = lower.find(prefix)? + prefix.len();
        filter.get(at..)?.trim_start().strip_prefix('\'')?.split('\'').next()
    };
    if let Some(name) = quoted("c:c eq") {
        return Some(
            p.app_id.eq_ignore_ascii_case(name)
                || principal_json(p)["servicePrincipalNames"].as_array().is_some_and(|n| {
                    n.iter()
                        .any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(name)))
                }),
        );
    }
    if let Some(app) = quoted("appid eq") {
        return Some(p.app_id.eq_ignore_ascii_case(app));
    }
    quoted("displayname eq").map(|name| p.display_name == name)
}

/// Answers a Graph request.
pub async fn handle(state: &AzureState, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    match credentials::credentials_path(&segments) {
        Some(Ok(target)) => return credentials::handle(state, &method, target, &headers, body).await,
        Some(Err(credentials::UnknownCollection)) => {
            return error(404, "Request_ResourceNotFound", "unknown collection");
        }
        None => {}
    }
    let store = &state.store;
    let caller = match crate::caller::of_request(&state.emulator, &headers, Surface::Graph) {
        Ok(caller) => caller,
        Err(e) => {
            let message = match &e {
                CallerError::Missing => "Access token is empty.".to_owned(),
                CallerError::WrongAudience { .. } => format!("Access token validation failure. Invalid audience: {e}."),
                CallerError::Expired(_) => format!("Lifetime validation failed, the token is expired: {e}."),
                _ => format!("Access token validation failure: {e}."),
            };
            return error(401, "InvalidAuthenticationToken", &message);
        }
    };
    let tenant = caller.tenant_id.clone();
    // Every route below reads the directory: Graph asks for a permission that reads it.
    if let Err(denied) = permission::Access::Principal(caller).may_read_directory() {
        return error(403, "Authorization_RequestDenied", &denied.to_string());
    }
    let query: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let filter = query.iter().find(|(k, _)| k == "$filter").map(|(_, v)| v.as_str());
    let is = |i: usize, word: &str| segments.get(i).is_some_and(|s| s.eq_ignore_ascii_case(word));
    let in_tenant = |config: &crate::config::AzureConfig| -> Vec<PrincipalView> {
        ops::principals(config)
            .into_iter()
            .filter(|p| p.tenant_id.eq_ignore_ascii_case(&tenant))
            .collect()
    };
    let context = format!("{}/v1.0/$metadata", state.graph_url());
    match (&method, segments.len()) {
        (&Method::GET, 2) if is(1, "servicePrincipals") => {
            let all = in_tenant(&*store.config.lock().await);
            let mut values = Vec::new();
            for p in &all {
                match filter.map(|f| matches_filter(f, p)) {
                    None | Some(Some(true)) => values.push(principal_json(p)),
                    Some(Some(false)) => {}
                    Some(None) => {
                        return error(
                            400,
                            "Request_UnsupportedQuery",
                            "Unsupported query: the local Graph filters servicePrincipals by servicePrincipalNames/any(c:c eq '…'), appId eq '…' or displayName eq '…'.",
                        );
                    }
                }
            }
            answer(
                200,
                &json!({"@odata.context": format!("{context}#servicePrincipals"), "value": values}),
            )
        }
        (&Method::GET, 3) if is(1, "servicePrincipals") => {
            let all = in_tenant(&*store.config.lock().await);
            match all.iter().find(|p| p.object_id.eq_ignore_ascii_case(segments[2])) {
                Some(p) => answer(200, &principal_json(p)),
                None => error(
                    404,
                    "Request_ResourceNotFound",
                    &format!(
                        "Resource '{}' does not exist or one of its queried reference-property objects are not present.",
                        segments[2]
                    ),
                ),
            }
        }
        (&Method::POST, 3) if is(1, "directoryObjects") && is(2, "getByIds") => {
            let body = match wif_server::body::read_limited(body, MAX_BODY_BYTES).await {
                Ok(body) => body,
                Err(e) => return error(413, "Request_BadRequest", &e.to_string()),
            };
            let ids: Vec<String> = match serde_json::from_slice::<Value>(&body) {
                Ok(v) => match v.get("ids").and_then(Value::as_array) {
                    Some(ids) if ids.len() <= 1000 => {
                        ids.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect()
                    }
                    Some(_) => return error(400, "Request_BadRequest", "At most 1000 ids may be requested at once."),
                    None => return error(400, "Request_BadRequest", "Invalid request: the body must carry 'ids'."),
                },
                Err(e) => return error(400, "BadRequest", &format!("Unable to read JSON request payload: {e}.")),
            };
            let all = in_tenant(&*store.config.lock().await);
            let values: Vec<Value> = all
                .iter()
                .filter(|p| ids.iter().any(|id| id.eq_ignore_ascii_case(&p.object_id)))
                .map(principal_json)
                .collect();
            answer(
                200,
                &json!({"@odata.context": format!("{context}#directoryObjects"), "value": values}),
            )
        }
        _ => error(
            400,
            "BadRequest",
            &format!(
                "Resource not found for the segment '{}'. The local Graph serves servicePrincipals, directoryObjects/getByIds and applications/{{id}}/federatedIdentityCredentials.",
                segments.get(1).copied().unwrap_or_default()
            ),
        ),
    }
}
