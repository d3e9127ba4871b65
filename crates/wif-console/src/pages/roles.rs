//! Role assignments by scope, and "Add role assignment" for the built-in roles (ARM's refusal
//! shown inline).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use wif_azure::AzureConfig;
use wif_azure::rbac::{BUILT_IN_ROLES, role_by_id};

use super::{answer, csrf, frame};
use crate::access::Session;
use crate::forms::RoleForm;

/// Every scope an assignment can name here: subscriptions, resource groups, and the
/// resources in them (vaults, storage accounts, identities, clusters).
pub fn known_scopes(config: &AzureConfig) -> Vec<String> {
    let mut scopes = Vec::new();
    for sub in &config.subscriptions {
        let sub_id = format!("/subscriptions/{}", sub.subscription_id);
        scopes.push(sub_id.clone());
        for group in &sub.resource_groups {
            let group_id = format!("{sub_id}/resourceGroups/{}", group.name);
            scopes.push(group_id.clone());
            for vault in &group.key_vaults {
                scopes.push(format!("{group_id}/providers/Microsoft.KeyVault/vaults/{}", vault.name));
            }
            for account in &group.storage_accounts {
                scopes.push(format!(
                    "{group_id}/providers/Microsoft.Storage/storageAccounts/{}",
                    account.name
                ));
            }
        }
    }
    for tenant in &config.tenants {
        for mi in &tenant.user_assigned_identities {
            if let Some(id) = &mi.resource_id {
                scopes.push(id.clone());
            }
        }
    }
    scopes.sort();
    scopes.dedup();
    scopes
}

/// `/_console/roles`, and the form again with ARM's refusal (`problem`).
pub(crate) fn page(
    session: &Session,
    config: &AzureConfig,
    form: &RoleForm,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let principals = wif_azure::ops::principals(config);
    let name_of = |object_id: &str| {
        principals
            .iter()
            .find(|p| p.object_id.eq_ignore_ascii_case(object_id))
            .map_or("(not in the directory)", |p| p.display_name.as_str())
    };
    let mut by_scope: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for assignment in &config.role_assignments {
        by_scope.entry(assignment.scope.as_str()).or_default().push(assignment);
    }
    let scopes = known_scopes(config);
    let content = html! {
        h1 { "Role assignments" }
        @if by_scope.is_empty() { p.hint { "No role assignments yet." } }
        @for (scope, assignments) in &by_scope {
            section.card {
                h2.id { (scope) }
                div.table-wrap {
                    table.stack {
                        thead { tr { th { "Role" } th { "Principal" } th { "Principal ID" } th { "Assignment" } } }
                        tbody {
                            @for a in assignments {
                                tr {
                                    td data-label="Role" { (role_by_id(&a.role_definition_id).map_or(a.role_definition_id.as_str(), |r| r.role_name)) }
                                    td data-label="Principal" { (name_of(&a.principal_id)) }
                                    td.id data-label="Principal ID" { (a.principal_id) }
                                    td.id data-label="Assignment" { (a.name) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 id="add" { "Add role assignment" }
        @if let Some(problem) = problem {
            p role="alert" class="error" { (problem) }
        }
        form.stacked method="post" action="/_console/roles" aria-labelledby="add" {
            (csrf(session))
            div.field {
                label for="scope" { "Scope" }
                select id="scope" name="scope" {
                    @for scope in &scopes {
                        option value=(scope) selected[*scope == form.scope] { (scope) }
                    }
                }
            }
            div.field {
                label for="role" { "Role" }
                select id="role" name="role" {
                    @for role in BUILT_IN_ROLES {
                        option value=(role.role_name) selected[role.role_name == form.role] { (role.role_name) }
                    }
                }
            }
            div.field {
                label for="principal" { "Principal" }
                select id="principal" name="principal" {
                    @for p in &principals {
                        option value=(p.object_id) selected[p.object_id == form.principal] { (p.display_name) " (" (p.object_id) ")" }
                    }
                }
            }
            div { button type="submit" { "Add role assignment" } }
        }
    };
    answer(
        status,
        frame(Some(session), "Role assignments", "Role assignments", content),
    )
}
