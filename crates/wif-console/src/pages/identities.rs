//! App registrations and user-assigned identities with their ids and federated credentials,
//! and the portal's "Add credential" form (its scenarios, Entra's refusal shown inline).

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use wif_azure::AzureConfig;
use wif_azure::ops::PrincipalView;
use wif_core::fic::FederatedCredential;

use super::{answer, csrf, fic_anchor, frame, parent_anchor};
use crate::access::Session;
use crate::forms::{CredentialForm, DEFAULT_AUDIENCE, Scenario};

/// One parent of credentials as the page shows it.
struct Parent<'c> {
    kind: &'static str,
    view: PrincipalView,
    credentials: &'c [FederatedCredential],
}

fn parents(config: &AzureConfig) -> Vec<Parent<'_>> {
    let views = wif_azure::ops::principals(config);
    let view_of = |client: &str| views.iter().find(|v| v.app_id.eq_ignore_ascii_case(client)).cloned();
    let mut all = Vec::new();
    for tenant in &config.tenants {
        for app in &tenant.applications {
            if let Some(view) = view_of(&app.app_id) {
                all.push(Parent {
                    kind: "App registration",
                    view,
                    credentials: &app.federated_identity_credentials,
                });
            }
        }
        for mi in &tenant.user_assigned_identities {
            if let Some(view) = view_of(&mi.client_id) {
                all.push(Parent {
                    kind: "User-assigned managed identity",
                    view,
                    credentials: &mi.federated_identity_credentials,
                });
            }
        }
    }
    all
}

/// `/_console/identities`.
pub(crate) fn page(session: &Session, config: &AzureConfig) -> Response {
    let content = html! {
        h1 { "Identities" }
        p.hint { "Each app registration and user-assigned identity, with the federated credentials Entra matches a token against (issuer, subject and audience, exactly)." }
        @for parent in parents(config) {
            (parent_section(session, &parent))
        }
    };
    answer(
        StatusCode::OK,
        frame(Some(session), "Identities", "Identities", content),
    )
}

fn parent_section(session: &Session, parent: &Parent<'_>) -> Markup {
    let view = &parent.view;
    html! {
        section.card id=(parent_anchor(&view.app_id)) {
            h2 { (view.display_name) }
            dl.facts {
                dt { "Kind" } dd { (parent.kind) }
                dt { "Client ID" } dd.id { (view.app_id) }
                @if view.resource_id.is_some() {
                    dt { "Principal ID" } dd.id { (view.object_id) }
                } @else {
                    dt { "Object ID" } dd.id { (view.object_id) }
                }
                dt { "Tenant" } dd.id { (view.tenant_id) }
                @if let Some(id) = &view.resource_id { dt { "Resource ID" } dd.id { (id) } }
            }
            h3 { "Federated credentials (" (parent.credentials.len()) " of 20)" }
            @if parent.credentials.is_empty() {
                p.hint { "None yet: no token is exchanged for this identity." }
            } @else {
                div.table-wrap {
                    table.stack {
                        thead { tr { th { "Name" } th { "Issuer" } th { "Subject" } th { "Audiences" } th { "Description" } th { span { "Actions" } } } }
                        tbody {
                            @for fic in parent.credentials {
                                tr id=(fic_anchor(&view.app_id, &fic.name)) {
                                    td data-label="Name" { (fic.name) }
                                    td data-label="Issuer" { (fic.issuer) }
                                    td data-label="Subject" { (fic.subject) }
                                    td data-label="Audiences" { (fic.audiences.join(", ")) }
                                    td data-label="Description" { (fic.description.as_deref().unwrap_or("")) }
                                    td data-label="Actions" {
                                        form.inline method="post" action="/_console/credentials/delete" {
                                            (csrf(session))
                                            input type="hidden" name="parent" value=(view.app_id);
                                            input type="hidden" name="name" value=(fic.name);
                                            button.danger type="submit" aria-label={ "Delete credential " (fic.name) } { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p {
                a href={ "/_console/credentials/new?parent=" (super::fragment(&view.app_id)) }
                    aria-label={ "Add credential to " (view.display_name) } { "Add credential" }
            }
        }
    }
}

/// `/_console/credentials/new`, and the form again with Entra's refusal (`problem`).
pub(crate) fn credential_form(
    session: &Session,
    config: &AzureConfig,
    form: &CredentialForm,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let parent = parents(config)
        .into_iter()
        .find(|p| p.view.app_id.eq_ignore_ascii_case(&form.parent));
    let Some(parent) = parent else {
        return super::refused(
            StatusCode::NOT_FOUND,
            "no app registration or identity has this client id",
        );
    };
    let kubernetes = form.scenario == Scenario::Kubernetes;
    let audience = if form.audience.is_empty() {
        DEFAULT_AUDIENCE
    } else {
        form.audience.as_str()
    };
    let content = html! {
        h1 { "Add credential" }
        p { "For " strong { (parent.view.display_name) } " (" span.id { (parent.view.app_id) } "), as the portal's " em { "Certificates & secrets → Federated credentials → Add credential" } "." }
        @if let Some(problem) = problem {
            p role="alert" class="error" { (problem) }
        }
        form.stacked method="post" action="/_console/credentials" {
            (csrf(session))
            input type="hidden" name="parent" value=(parent.view.app_id);
            div.field {
                label for="scenario" { "Federated credential scenario" }
                select id="scenario" name="scenario" {
                    option value="kubernetes" selected[kubernetes] { "Kubernetes accessing Azure resources" }
                    option value="other" selected[!kubernetes] { "Other issuer" }
                }
            }
            div.field {
                // One label, its words the scenario's (the script switches them with it).
                label for="issuer" id="issuer-label" data-kubernetes="Cluster issuer URL" data-other="Issuer" {
                    @if kubernetes { "Cluster issuer URL" } @else { "Issuer" }
                }
                input id="issuer" name="issuer" type="url" value=(form.issuer) autocomplete="off";
            }
            fieldset data-scenario="kubernetes" hidden[!kubernetes] {
                legend { "Kubernetes" }
                div.field {
                    label for="namespace" { "Namespace" }
                    input id="namespace" name="namespace" value=(form.namespace) autocomplete="off";
                }
                div.field {
                    label for="service_account" { "Service account" }
                    input id="service_account" name="service_account" value=(form.service_account) autocomplete="off";
                }
            }
            div.field {
                label for="subject" { "Subject identifier" }
                // Built from namespace and service account in the Kubernetes scenario (read-only
                // there, as in the portal), typed for another issuer.
                input id="subject" name="subject" value=(form.subject()) readonly[kubernetes] autocomplete="off" aria-describedby="subject-hint";
                p.hint id="subject-hint" data-scenario="kubernetes" hidden[!kubernetes] { "system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT, as the cluster's tokens say it." }
            }
            div.field {
                label for="name" { "Name" }
                input id="name" name="name" value=(form.name) autocomplete="off" aria-describedby="name-hint";
                p.hint id="name-hint" { "3 to 120 characters: letters, digits, '-' and '_'; it cannot change later." }
            }
            div.field {
                label for="description" { "Description" }
                textarea id="description" name="description" rows="2" { (form.description) }
            }
            div.field {
                label for="audience" { "Audience" }
                input id="audience" name="audience" value=(audience);
            }
            div { button type="submit" { "Add" } " " a href="/_console/identities" { "Cancel" } }
        }
    };
    answer(status, frame(Some(session), "Add credential", "Identities", content))
}
