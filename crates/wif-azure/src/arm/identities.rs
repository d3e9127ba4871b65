//! ARM's `Microsoft.ManagedIdentity`: user-assigned identities (ids made once, kept across
//! PUTs) and their federated identity credentials.

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use super::request::{ArmRequest, method_not_allowed};
use super::request::{list, new_id, tags_of, text_of};
use crate::ops::{self, ArmError, CredentialInput, IdentityView, arm_error};
use crate::respond::answer;

pub(super) fn identity_json(mi: &IdentityView) -> Value {
    json!({
        "id": mi.id,
        "name": mi.name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": mi.location,
        "tags": mi.tags,
        "properties": {"tenantId": mi.tenant_id, "principalId": mi.principal_id, "clientId": mi.client_id, "isolationScope": "None"},
    })
}

fn credential_json(identity_id: &str, fic: &wif_core::fic::FederatedCredential) -> Value {
    json!({
        "id": format!("{identity_id}/federatedIdentityCredentials/{}", fic.name),
        "name": fic.name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
        "properties": {"issuer": fic.issuer, "subject": fic.subject, "audiences": fic.audiences},
    })
}

pub(super) async fn identity(
    request: &ArmRequest<'_>,
    sub: &str,
    group: &str,
    name: &str,
) -> Result<Response, ArmError> {
    let scope = ops::identity_id(sub, group, name);
    match *request.method {
        Method::GET => {
            request
                .authorize("Microsoft.ManagedIdentity/userAssignedIdentities/read", &scope)
                .await?;
            let found = request.read(|c| ops::identity(c, sub, group, name)).await?;
            Ok(answer(200, &identity_json(&found)))
        }
        Method::PUT | Method::PATCH => {
            request
                .authorize("Microsoft.ManagedIdentity/userAssignedIdentities/write", &scope)
                .await?;
            let body = request.json()?;
            let tags = tags_of(&body)?;
            let ids = (new_id()?, new_id()?);
            let patch = *request.method == Method::PATCH;
            let (mi, created) = request
                .change(|c| {
                    if patch {
                        ops::identity(c, sub, group, name)?;
                    }
                    ops::put_identity(c, sub, group, name, text_of(&body, "/location"), tags, ids)
                })
                .await?;
            Ok(answer(if created { 201 } else { 200 }, &identity_json(&mi)))
        }
        Method::DELETE => {
            request
                .authorize("Microsoft.ManagedIdentity/userAssignedIdentities/delete", &scope)
                .await?;
            let existed = request.change(|c| ops::delete_identity(c, sub, group, name)).await?;
            Ok(answer(if existed { 200 } else { 204 }, &Value::Null).map(|_| axum::body::Body::empty()))
        }
        _ => Err(method_not_allowed(request)),
    }
}

pub(super) async fn credentials(
    request: &ArmRequest<'_>,
    sub: &str,
    group: &str,
    identity_name: &str,
    name: Option<&str>,
) -> Result<Response, ArmError> {
    let identity_id = ops::identity_id(sub, group, identity_name);
    let scope = match name {
        Some(n) => format!("{identity_id}/federatedIdentityCredentials/{n}"),
        None => identity_id.clone(),
    };
    let action =
        |verb: &str| format!("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/{verb}");
    match (request.method.clone(), name) {
        (Method::GET, None) => {
            request.authorize(&action("read"), &scope).await?;
            let mi = request.read(|c| ops::identity(c, sub, group, identity_name)).await?;
            Ok(answer(
                200,
                &list(mi.credentials.iter().map(|f| credential_json(&mi.id, f)).collect()),
            ))
        }
        (Method::GET, Some(name)) => {
            request.authorize(&action("read"), &scope).await?;
            let mi = request.read(|c| ops::identity(c, sub, group, identity_name)).await?;
            let fic = mi
                .credentials
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    arm_error(
                        404,
                        "NotFound",
                        format!("Federated Identity Credential '{name}' of identity '{identity_name}' was not found."),
                    )
                })?;
            Ok(answer(200, &credential_json(&mi.id, fic)))
        }
        (Method::PUT, Some(name)) => {
            request.authorize(&action("write"), &scope).await?;
            let body = request.json()?;
            let strings = |pointer: &str| -> Option<Vec<String>> {
                body.pointer(pointer)?
                    .as_array()?
                    .iter()
                    .map(|a| a.as_str().map(str::to_owned))
                    .collect()
            };
            let input = CredentialInput {
                issuer: text_of(&body, "/properties/issuer").map(str::to_owned),
                subject: text_of(&body, "/properties/subject").map(str::to_owned),
                audiences: strings("/properties/audiences"),
            };
            let (fic, created) = request
                .change(|c| ops::put_credential(c, sub, group, identity_name, name, input))
                .await?;
            let id = request
                .read(|c| ops::identity(c, sub, group, identity_name).map(|mi| mi.id))
                .await?;
            Ok(answer(if created { 201 } else { 200 }, &credential_json(&id, &fic)))
        }
        (Method::DELETE, Some(name)) => {
            request.authorize(&action("delete"), &scope).await?;
            let existed = request
                .change(|c| ops::delete_credential(c, sub, group, identity_name, name))
                .await?;
            Ok(answer(if existed { 200 } else { 204 }, &Value::Null).map(|_| axum::body::Body::empty()))
        }
        _ => Err(method_not_allowed(request)),
    }
}
