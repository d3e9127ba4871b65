//! The console's writes: the portal's "Add credential" and its removal (Graph's own operation,
//! as the operator), and "Add role assignment" (ARM's), each refusal shown in its form.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use wif_azure::graph::CredentialParent;

use super::shared::Shared;
use crate::access::Session;
use crate::entropy::random;
use crate::forms::{CredentialForm, RoleForm};
use crate::pages;

/// Which parent a client id names, and its kind.
fn parent_of(config: &wif_azure::AzureConfig, client_id: &str) -> Option<CredentialParent> {
    config.tenants.iter().find_map(|t| {
        if t.applications.iter().any(|a| a.app_id.eq_ignore_ascii_case(client_id)) {
            Some(CredentialParent::Application)
        } else if t
            .user_assigned_identities
            .iter()
            .any(|m| m.client_id.eq_ignore_ascii_case(client_id))
        {
            Some(CredentialParent::Identity)
        } else {
            None
        }
    })
}

/// The parent a form names, or the page saying there is none.
async fn parent(console: &Shared, client_id: &str) -> Result<CredentialParent, Response> {
    let config = console.plane.store.config.lock().await;
    parent_of(&config, client_id).ok_or_else(|| {
        pages::refused(
            StatusCode::NOT_FOUND,
            "no app registration or identity has this client id",
        )
    })
}

pub(super) async fn add_credential(
    State(console): State<Shared>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(form): axum::Form<CredentialForm>,
) -> Response {
    let parent = match parent(&console, &form.parent).await {
        Ok(parent) => parent,
        Err(refused) => return refused,
    };
    let problem = match form.credential() {
        Err(problem) => problem.to_string(),
        Ok(fic) => {
            let name = fic.name.clone();
            match wif_azure::graph::add_as_operator(&console.plane, parent, &form.parent, fic).await {
                Ok(()) => {
                    tracing::info!(parent = %form.parent, credential = %name, "console: federated credential added");
                    let anchor = pages::fic_anchor(&form.parent, &name);
                    return Redirect::to(&format!("/_console/identities#{}", pages::fragment(&anchor))).into_response();
                }
                Err(refused) => refused.message().to_owned(),
            }
        }
    };
    let config = console.plane.store.config.lock().await;
    pages::identities::credential_form(&session, &config, &form, Some(&problem), StatusCode::BAD_REQUEST)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct DeleteCredential {
    parent: String,
    name: String,
}

pub(super) async fn delete_credential(
    State(console): State<Shared>,
    axum::Form(form): axum::Form<DeleteCredential>,
) -> Response {
    let parent = match parent(&console, &form.parent).await {
        Ok(parent) => parent,
        Err(refused) => return refused,
    };
    match wif_azure::graph::remove_as_operator(&console.plane, parent, &form.parent, &form.name).await {
        Ok(()) => {
            tracing::info!(parent = %form.parent, credential = %form.name, "console: federated credential removed");
            Redirect::to("/_console/identities").into_response()
        }
        Err(refused) => pages::refused(
            StatusCode::from_u16(refused.status()).unwrap_or(StatusCode::BAD_REQUEST),
            refused.message(),
        ),
    }
}

pub(super) async fn add_role(
    State(console): State<Shared>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(form): axum::Form<RoleForm>,
) -> Response {
    let plane = &console.plane;
    let problem = match wif_azure::rbac::role_by_name(&form.role) {
        None => format!("Role '{}' doesn't exist.", form.role),
        Some(role) => match random::<16>() {
            Err(failed) => failed.to_string(),
            Ok(bytes) => {
                let input = wif_azure::ops::AssignmentInput {
                    scope: form.scope.trim().to_owned(),
                    name: guid(bytes),
                    role_definition_id: role.id.to_owned(),
                    principal_id: form.principal.trim().to_owned(),
                    principal_type: Some("ServicePrincipal".to_owned()),
                };
                let now = wif_core::clock::rfc3339(plane.emulator.clock.now_s());
                match plane
                    .store
                    .change(|c| wif_azure::ops::create_assignment(c, input, now, "wif-console"))
                    .await
                {
                    Ok(created) => {
                        tracing::info!(scope = %created.scope, role = role.role_name, principal = %created.principal_id, "console: role assigned");
                        return Redirect::to("/_console/roles").into_response();
                    }
                    Err(refused) => refused.message,
                }
            }
        },
    };
    let config = plane.store.config.lock().await;
    pages::roles::page(&session, &config, &form, Some(&problem), StatusCode::BAD_REQUEST)
}

/// A version-4 GUID from 16 random bytes (a role assignment's name, as azure-cli draws one).
fn guid(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
