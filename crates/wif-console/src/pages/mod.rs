//! The console's pages, rendered on the server with maud (every value escaped by
//! construction): the frame every page shares (navigation, the local-plane banner, the one
//! script and style sheet), the refusals, and one module per page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::access::Session;

pub mod assets;
pub mod exchanges;
pub mod identities;
pub mod overview;
pub mod resources;
pub mod roles;

/// What a request without a session is told.
pub const NO_SESSION: &str =
    "wif console: log in with the link wif up printed (or run `wif up --console-link` for a new one).";
/// How to get a new login link.
pub const NEW_LINK: &str = "run `wif up --console-link` for a new one";

/// The pages of the navigation, by path and name.
const NAV: [(&str, &str); 5] = [
    ("/_console/", "Overview"),
    ("/_console/identities", "Identities"),
    ("/_console/roles", "Role assignments"),
    ("/_console/resources", "Resources"),
    ("/_console/exchanges", "Token exchanges"),
];

/// A whole page: the frame around `content`, `current` marked in the navigation.
pub(crate) fn frame(session: Option<&Session>, title: &str, current: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · wif console" }
                link rel="stylesheet" href="/_console/console.css";
                script src="/_console/console.js" defer {}
            }
            body {
                header {
                    span.brand { "wif console" }
                    span.warning { "Local Entra ID and Azure plane: nothing here is Azure." }
                    @if session.is_some() {
                        nav aria-label="Console" {
                            ul {
                                @for (href, name) in NAV {
                                    li {
                                        @if name == current {
                                            a href=(href) aria-current="page" { (name) }
                                        } @else {
                                            a href=(href) { (name) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(session) = session {
                        form.inline method="post" action="/_console/logout" {
                            (csrf(session))
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main id="main" { (content) }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub(crate) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// An HTML answer with `status`.
pub(crate) fn answer(status: StatusCode, page: Markup) -> Response {
    (status, page).into_response()
}

/// A refusal: the status and what to do, and nothing of the plane.
pub(crate) fn refused(status: StatusCode, why: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Refused");
    answer(
        status,
        frame(
            None,
            title,
            "",
            html! {
                h1 { (title) }
                p role="alert" class="error" { (why) }
            },
        ),
    )
}

/// The page after logging out.
pub(crate) fn logged_out() -> Response {
    answer(
        StatusCode::OK,
        frame(None, "Logged out", "", html! { h1 { "Logged out" } p { (NO_SESSION) } }),
    )
}

/// The element id of a federated credential's row.
pub fn fic_anchor(parent_client_id: &str, name: &str) -> String {
    format!("fic-{}-{name}", parent_client_id.to_ascii_lowercase())
}

/// The element id of a parent's section.
pub fn parent_anchor(parent_client_id: &str) -> String {
    format!("parent-{}", parent_client_id.to_ascii_lowercase())
}

/// `text` percent-encoded for a URL's fragment or query value.
pub fn fragment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
