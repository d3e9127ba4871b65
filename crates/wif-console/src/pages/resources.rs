//! Key vaults with their secrets' names and storage accounts with their containers' blobs: names
//! only, a secret's value on its own page when asked for.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use wif_azure::AzureConfig;

use super::{answer, fragment, frame};
use crate::access::Session;

/// Each storage account's containers and blob names, or why they could not be read.
pub(crate) type BlobNames = BTreeMap<String, Result<Vec<(String, Vec<String>)>, String>>;

/// `/_console/resources`.
pub(crate) fn page(session: &Session, config: &AzureConfig, blobs: &BlobNames) -> Response {
    let groups: Vec<_> = config
        .subscriptions
        .iter()
        .flat_map(|s| s.resource_groups.iter().map(move |g| (s, g)))
        .collect();
    let content = html! {
        h1 { "Resources" }
        h2 { "Key vaults" }
        @if groups.iter().all(|(_, g)| g.key_vaults.is_empty()) { p.hint { "No key vaults." } }
        @for (sub, group) in &groups {
            @for vault in &group.key_vaults {
                section.card aria-label={ "Key vault " (vault.name) } {
                    h3 { (vault.name) }
                    dl.facts {
                        dt { "Resource group" } dd { (group.name) }
                        dt { "Subscription" } dd.id { (sub.subscription_id) }
                        dt { "Permission model" } dd { @if vault.enable_rbac_authorization { "Azure RBAC" } @else { "access policies" } }
                    }
                    @let secrets = vault.secrets.list();
                    @if secrets.is_empty() { p.hint { "No secrets." } }
                    ul {
                        @for (secret, _) in &secrets {
                            li {
                                (secret.name) " · "
                                a href={ "/_console/resources/secret?vault=" (fragment(&vault.name)) "&name=" (fragment(&secret.name)) }
                                    aria-label={ "Show value of " (secret.name) } { "Show value" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Storage accounts" }
        @if blobs.is_empty() { p.hint { "No storage accounts." } }
        @for (account, containers) in blobs {
            section.card aria-label={ "Storage account " (account) } {
                h3 { (account) }
                @match containers {
                    Err(why) => p role="alert" class="error" { "Its blobs could not be read: " (why) },
                    Ok(containers) => {
                        @if containers.is_empty() { p.hint { "No containers." } }
                        @for (container, names) in containers {
                            h4 { "Container " code { (container) } }
                            @if names.is_empty() { p.hint { "No blobs." } }
                            ul { @for name in names { li { code { (name) } } } }
                        }
                    }
                }
            }
        }
    };
    answer(StatusCode::OK, frame(Some(session), "Resources", "Resources", content))
}

/// `/_console/resources/secret`: one secret's current value, asked for.
pub(crate) fn secret(session: &Session, vault: &str, name: &str, value: &str) -> Response {
    let content = html! {
        h1 { "Secret " code { (name) } }
        p { "In key vault " strong { (vault) } ", its current version:" }
        pre.id { (value) }
        p { a href="/_console/resources" { "Back to resources" } }
    };
    answer(StatusCode::OK, frame(Some(session), "Secret", "Resources", content))
}
