//! The console's HTTP shell: routes, the guard every page passes (loopback `Host`, session
//! cookie, CSRF and origin on writes), the security headers of every answer, and the handlers,
//! each reading the plane's state, calling one operation, and rendering a page.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use wif_azure::AzureState;

use crate::access::{LoginKeys, Session, same_token};
use crate::entropy::random;
use crate::pages;

mod shared;
mod views;
mod writes;

use shared::{ConsoleState, Shared};

use views::{exchange_events, exchanges, identities, new_credential, overview, resources, roles, secret_value};
use writes::{add_credential, add_role, delete_credential};

/// The session cookie's name.
pub const COOKIE: &str = "wif_console";
/// The largest form body read.
const MAX_FORM_BYTES: usize = 64 * 1024;

pub(crate) fn router(plane: Arc<AzureState>, keys: Arc<LoginKeys>) -> Router {
    let state = Arc::new(ConsoleState {
        plane,
        keys,
        sessions: Mutex::default(),
    });
    let guarded = Router::new()
        .route("/_console", get(overview))
        .route("/_console/", get(overview))
        .route("/_console/identities", get(identities))
        .route("/_console/credentials/new", get(new_credential))
        .route("/_console/credentials", post(add_credential))
        .route("/_console/credentials/delete", post(delete_credential))
        .route("/_console/roles", get(roles).post(add_role))
        .route("/_console/resources", get(resources))
        .route("/_console/resources/secret", get(secret_value))
        .route("/_console/exchanges", get(exchanges))
        .route("/_console/exchanges/events", get(exchange_events))
        .route("/_console/logout", post(logout))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), session_guard));
    Router::new()
        .route("/_console/login", get(login))
        .route("/_console/logged-out", get(|| async { pages::logged_out() }))
        .route("/_console/console.css", get(pages::assets::css))
        .route("/_console/console.js", get(pages::assets::js))
        .merge(guarded)
        .route_layer(middleware::from_fn(loopback_only))
        .with_state(state)
}

/// The authority a request names: HTTP/2's `:authority`, else `Host`.
fn authority_of(request: &Request) -> Option<String> {
    request.uri().authority().map(|a| a.as_str().to_owned()).or_else(|| {
        request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    })
}

/// Whether the authority names this machine: `localhost`, or a loopback address (127/8, ::1).
fn is_loopback_authority(authority: &str) -> bool {
    let Ok(authority) = authority.parse::<axum::http::uri::Authority>() else {
        return false;
    };
    let host = authority.host();
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Answers only for a loopback `Host` (a page reached through another name, or a rebound DNS
/// name, gets nothing), and puts the console's headers on every answer. The referrer policy is
/// `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends `Origin: null` with a
/// form's POST, which the origin check must refuse.
async fn loopback_only(request: Request, next: Next) -> Response {
    let loopback = authority_of(&request).is_some_and(|a| is_loopback_authority(&a));
    let mut response = if loopback {
        next.run(request).await
    } else {
        (StatusCode::NOT_FOUND, "not found\n").into_response()
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn cookie_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// A page needs an open session; a write needs its CSRF token and, when the browser names
/// one, this origin.
async fn session_guard(State(console): State<Shared>, request: Request, next: Next) -> Response {
    let now = console.plane.emulator.clock.now_s();
    let session = cookie_of(request.headers()).and_then(|id| {
        let csrf = console
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .check(id, now)?;
        Some(Session {
            id: id.to_owned(),
            csrf,
        })
    });
    let Some(session) = session else {
        return pages::refused(StatusCode::UNAUTHORIZED, pages::NO_SESSION);
    };
    if request.method() != Method::POST {
        let mut request = request;
        request.extensions_mut().insert(session);
        return next.run(request).await;
    }
    if let Some(refused) = foreign_origin(&request) {
        return refused;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return pages::refused(StatusCode::PAYLOAD_TOO_LARGE, "the form is larger than 64 KiB");
    };
    let csrf = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
    if !csrf.is_some_and(|c| same_token(&c, &session.csrf)) {
        tracing::warn!("console write refused: no or wrong CSRF token");
        return pages::refused(
            StatusCode::FORBIDDEN,
            "this form is not from this console session (CSRF token missing or wrong): reload the page and try again",
        );
    }
    parts.extensions.insert(session);
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// A write whose `Origin` (or `Sec-Fetch-Site`) says it came from another site.
fn foreign_origin(request: &Request) -> Option<Response> {
    let headers = request.headers();
    let own = authority_of(request).map(|a| format!("https://{a}"));
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let site = headers.get("sec-fetch-site").and_then(|s| s.to_str().ok());
    let foreign = origin.is_some_and(|o| Some(o) != own.as_deref() && o != "null")
        || origin == Some("null")
        || site.is_some_and(|s| s != "same-origin" && s != "none");
    foreign.then(|| {
        tracing::warn!(origin = ?origin, site = ?site, "console write refused: another origin");
        pages::refused(StatusCode::FORBIDDEN, "this write came from another site")
    })
}

#[derive(Debug, serde::Deserialize)]
struct LoginQuery {
    #[serde(default)]
    token: String,
}

async fn login(State(console): State<Shared>, Query(query): Query<LoginQuery>) -> Response {
    let now = console.plane.emulator.clock.now_s();
    if let Err(refused) = console.keys.redeem(&query.token, now) {
        tracing::warn!(reason = %refused, "console login refused");
        return pages::refused(StatusCode::UNAUTHORIZED, &format!("{refused}: {}", pages::NEW_LINK));
    }
    let (Ok(id), Ok(csrf)) = (random::<32>(), random::<32>()) else {
        return pages::refused(StatusCode::INTERNAL_SERVER_ERROR, "the system's random source failed");
    };
    let (id, _) = console
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .open(id, csrf, now);
    tracing::info!("console session opened");
    let cookie = format!("{COOKIE}={id}; Path=/_console; HttpOnly; Secure; SameSite=Strict");
    let mut response = Redirect::to("/_console/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn logout(State(console): State<Shared>, axum::Extension(session): axum::Extension<Session>) -> Response {
    console
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .close(&session.id);
    let mut response = Redirect::to("/_console/logged-out").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("wif_console=; Path=/_console; HttpOnly; Secure; SameSite=Strict; Max-Age=0"),
    );
    response
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod host_tests {
    use super::is_loopback_authority;

    #[test]
    fn only_this_machines_names_are_loopback() {
        for this in [
            "127.0.0.1:8443",
            "127.0.0.2",
            "localhost:1",
            "LOCALHOST",
            "[::1]:5",
            "[::1]",
        ] {
            assert!(is_loopback_authority(this), "{this}");
        }
        for other in [
            "example.com",
            "127.0.0.1.nip.io",
            "login.microsoftonline.com:443",
            "10.0.0.1:8443",
            "[::2]:1",
            "127.0.0.1:1@evil",
            "",
            "[::1",
        ] {
            assert!(!is_loopback_authority(other), "{other}");
        }
    }
}
