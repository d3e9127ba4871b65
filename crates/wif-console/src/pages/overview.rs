//! The overview: each tenant with what it holds, the issuers trusted, and where to go next.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use wif_azure::AzureConfig;

use super::{answer, frame};
use crate::access::Session;

/// `/_console/`.
pub(crate) fn page(session: &Session, config: &AzureConfig, recorded: usize) -> Response {
    let vaults = config
        .subscriptions
        .iter()
        .flat_map(|s| &s.resource_groups)
        .map(|g| g.key_vaults.len())
        .sum::<usize>();
    let accounts = config
        .subscriptions
        .iter()
        .flat_map(|s| &s.resource_groups)
        .map(|g| g.storage_accounts.len())
        .sum::<usize>();
    let content = html! {
        h1 { "Overview" }
        @for tenant in &config.tenants {
            section.card aria-label={ "Tenant " (tenant.tenant_id) } {
                h2 { "Tenant " span.id { (tenant.tenant_id) } }
                dl.facts {
                    @if let Some(domain) = &tenant.domain { dt { "Domain" } dd { (domain) } }
                    dt { "App registrations" } dd { (tenant.applications.len()) }
                    dt { "User-assigned identities" } dd { (tenant.user_assigned_identities.len()) }
                    dt { "Federated credentials" }
                    dd {
                        (tenant.applications.iter().map(|a| a.federated_identity_credentials.len()).sum::<usize>()
                            + tenant.user_assigned_identities.iter().map(|m| m.federated_identity_credentials.len()).sum::<usize>())
                    }
                    dt { "Subscriptions" }
                    dd { (config.subscriptions.iter().filter(|s| s.tenant_id.eq_ignore_ascii_case(&tenant.tenant_id)).count()) }
                }
            }
        }
        section.card aria-label="The plane" {
            h2 { "The plane" }
            dl.facts {
                dt { "Issuers trusted" }
                dd {
                    @if config.issuers.is_empty() { "none configured" }
                    @for issuer in &config.issuers { div.id { (issuer.issuer) } }
                }
                dt { "Role assignments" } dd { (config.role_assignments.len()) }
                dt { "Key vaults" } dd { (vaults) }
                dt { "Storage accounts" } dd { (accounts) }
                dt { "Token exchanges recorded" } dd { a href="/_console/exchanges" { (recorded) } }
            }
        }
    };
    answer(StatusCode::OK, frame(Some(session), "Overview", "Overview", content))
}
