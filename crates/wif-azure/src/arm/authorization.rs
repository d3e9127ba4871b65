//! `Microsoft.Authorization` at any scope: the built-in role definitions (listed whole, or
//! filtered by `roleName eq '…'` as `az role assignment create --role NAME` asks), and role
//! assignments (create with ARM's 409 `RoleAssignmentExists`, get, delete, and the
//! `atScope()` / `principalId eq` lists the CLI's re-run path reads).

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use super::request::{ArmRequest, method_not_allowed, unknown_path};
use crate::config::RoleAssignmentConfig;
use crate::ops::{self, ArmError, AssignmentInput, arm_error};
use crate::rbac::{self, BUILT_IN_ROLES, RoleDefinition, Scope};
use crate::respond::answer;

/// The subscription part of a scope (`/subscriptions/S`, as the client spelled it), or `""`
/// at the root.
fn subscription_part(scope: &str) -> String {
    let mut segments = scope.split('/').filter(|s| !s.is_empty());
    match (segments.next(), segments.next()) {
        (Some(first), Some(sub)) if first.eq_ignore_ascii_case("subscriptions") => format!("/subscriptions/{sub}"),
        _ => String::new(),
    }
}

fn definition_json(scope: &str, role: &RoleDefinition) -> Value {
    let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    json!({
        "id": format!("{}/providers/Microsoft.Authorization/roleDefinitions/{}", subscription_part(scope), role.id),
        "name": role.id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": role.role_name,
            "type": "BuiltInRole",
            "description": role.description,
            "assignableScopes": ["/"],
            "permissions": [{
                "actions": strings(role.permission.actions),
                "notActions": strings(role.permission.not_actions),
                "dataActions": strings(role.permission.data_actions),
                "notDataActions": strings(role.permission.not_data_actions),
            }],
            "createdOn": "2015-02-02T21:55:09.8806423Z",
            "updatedOn": "2025-01-01T00:00:00.0000000Z",
            "createdBy": null,
            "updatedBy": null,
        },
    })
}

fn assignment_json(a: &RoleAssignmentConfig) -> Value {
    json!({
        "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", a.scope, a.name),
        "name": a.name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": a.role_definition_id,
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "scope": a.scope,
            "condition": null,
            "conditionVersion": null,
            "createdOn": a.created_on,
            "updatedOn": a.created_on,
            "createdBy": a.created_by,
            "updatedBy": a.created_by,
            "delegatedManagedIdentityResourceId": null,
            "description": null,
        },
    })
}

/// A quoted value after `prefix` (case-insensitive): `roleName eq 'X'` gives `X`.
fn quoted_after<'f>(filter: &'f str, prefix: &str) -> Option<&'f str> {
    let lower = filter.to_ascii_lowercase();
    let at = lower.find(&prefix.to_ascii_lowercase())? + prefix.len();
    let rest = filter.get(at..)?.trim_start();
    let rest = rest.strip_prefix('\'')?;
    rest.split('\'').next()
}

fn bad_filter(filter: &str) -> ArmError {
    arm_error(
        400,
        "InvalidFilterInQueryString",
        format!(
            "The filter '{filter}' is not supported. Supported filters: roleName eq '<name>' (role definitions), atScope(), principalId eq '<id>' and assignedTo('<id>') (role assignments)."
        ),
    )
}

/// Routes `{scope}/providers/Microsoft.Authorization/{rest}`.
pub(super) async fn route(request: &ArmRequest<'_>, scope: &str, rest: &[&str]) -> Result<Response, ArmError> {
    let Some(kind) = rest.first() else {
        return Err(unknown_path(request));
    };
    if kind.eq_ignore_ascii_case("roleDefinitions") {
        if *request.method != Method::GET {
            return Err(arm_error(
                405,
                "MethodNotAllowed",
                "The local Azure plane serves the built-in role definitions only; custom roles cannot be written.",
            ));
        }
        request
            .authorize("Microsoft.Authorization/roleDefinitions/read", scope)
            .await?;
        return match rest.get(1) {
            Some(id) if rest.len() == 2 => {
                let role = rbac::role_by_id(id).ok_or_else(|| {
                    arm_error(
                        404,
                        "RoleDefinitionDoesNotExist",
                        format!("The specified role definition with ID '{id}' does not exist."),
                    )
                })?;
                Ok(answer(200, &definition_json(scope, role)))
            }
            None => {
                let roles: Vec<&RoleDefinition> = match request.param("$filter") {
                    None => BUILT_IN_ROLES.iter().collect(),
                    Some(filter) => {
                        let name = quoted_after(filter, "roleName eq").ok_or_else(|| bad_filter(filter))?;
                        rbac::role_by_name(name).into_iter().collect()
                    }
                };
                let values: Vec<Value> = roles.iter().map(|r| definition_json(scope, r)).collect();
                Ok(answer(200, &json!({ "value": values })))
            }
            Some(_) => Err(unknown_path(request)),
        };
    }
    if !kind.eq_ignore_ascii_case("roleAssignments") {
        return Err(unknown_path(request));
    }
    match (request.method.clone(), rest.get(1), rest.len()) {
        (Method::GET, None, 1) => {
            request
                .authorize("Microsoft.Authorization/roleAssignments/read", scope)
                .await?;
            let filter = request.param("$filter").map(str::to_owned);
            let (at_scope, principal) = match filter.as_deref() {
                None => (false, None),
                Some(f) => {
                    let principal = quoted_after(f, "principalId eq").or_else(|| quoted_after(f, "assignedTo("));
                    let at_scope = f.to_ascii_lowercase().contains("atscope()");
                    if !at_scope && principal.is_none() {
                        return Err(bad_filter(f));
                    }
                    (at_scope, principal.map(str::to_owned))
                }
            };
            let values: Vec<Value> = request
                .read(|c| {
                    ops::assignments_at(c, scope, at_scope)
                        .into_iter()
                        .filter(|a| {
                            principal
                                .as_deref()
                                .is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p))
                        })
                        .map(assignment_json)
                        .collect()
                })
                .await;
            Ok(answer(200, &json!({ "value": values })))
        }
        (Method::GET, Some(name), 2) => {
            request
                .authorize("Microsoft.Authorization/roleAssignments/read", scope)
                .await?;
            let found = request
                .read(|c| {
                    ops::assignments_at(c, scope, false)
                        .into_iter()
                        .find(|a| a.name.eq_ignore_ascii_case(name) && Scope::new(&a.scope) == Scope::new(scope))
                        .map(assignment_json)
                })
                .await;
            found.map(|body| answer(200, &body)).ok_or_else(|| {
                arm_error(
                    404,
                    "RoleAssignmentNotFound",
                    format!("The role assignment '{name}' is not found."),
                )
            })
        }
        (Method::PUT, Some(name), 2) => {
            request
                .authorize("Microsoft.Authorization/roleAssignments/write", scope)
                .await?;
            let body = request.json()?;
            let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
            // Read-only in ARM's schema, yet sent by some templates: never a relative one.
            if let Some(Err(e)) = text("/properties/scope").map(|s| Scope::parse(&s)) {
                return Err(ops::invalid_scope(&e));
            }
            let (Some(role_definition_id), Some(principal_id)) =
                (text("/properties/roleDefinitionId"), text("/properties/principalId"))
            else {
                return Err(arm_error(
                    400,
                    "InvalidRoleAssignmentRequest",
                    "The request must carry properties.roleDefinitionId and properties.principalId.",
                ));
            };
            let input = AssignmentInput {
                scope: scope.to_owned(),
                name: (*name).to_owned(),
                role_definition_id,
                principal_id,
                principal_type: text("/properties/principalType"),
            };
            let now = wif_core::clock::rfc3339(request.state.emulator.clock.now_s());
            let by = request.caller.object_id.clone();
            let created = request.change(|c| ops::create_assignment(c, input, now, &by)).await?;
            Ok(answer(201, &assignment_json(&created)))
        }
        (Method::DELETE, Some(name), 2) => {
            request
                .authorize("Microsoft.Authorization/roleAssignments/delete", scope)
                .await?;
            let removed = request
                .change(|c| Ok::<_, ArmError>(ops::delete_assignment(c, scope, name)))
                .await?;
            Ok(match removed {
                Some(a) => answer(200, &assignment_json(&a)),
                None => answer(204, &Value::Null).map(|_| axum::body::Body::empty()),
            })
        }
        _ => Err(method_not_allowed(request)),
    }
}
