//! The console's HTTP shell: routes, the guard every page passes (loopback `Host`, session
//! cookie, CSRF and origin on writes), the security headers of every answer, and the handlers,
//! each reading the plane's state, calling one operation, and rendering a page.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use wif_azure::AzureState;
use wif_azure::graph::CredentialParent;
use wif_sts::journal::ExchangeRecord;

use crate::access::{LoginKeys, Session, Sessions, same_token};
use crate::entropy::random;
use crate::forms::{CredentialForm, RoleForm};
use crate::pages;

/// The session cookie's name.
pub const COOKIE: &str = "wif_console";
/// The largest form body read.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// How long one live-feed stream lasts before the browser reconnects.
const STREAM_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

/// What the handlers share.
#[derive(Debug)]
pub(crate) struct ConsoleState {
    pub(crate) plane: Arc<AzureState>,
    keys: Arc<LoginKeys>,
    sessions: Mutex<Sessions>,
}

type Shared = Arc<ConsoleState>;

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

async fn overview(State(console): State<Shared>, axum::Extension(session): axum::Extension<Session>) -> Response {
    let recorded = console.plane.emulator.journal.recent().len();
    let config = console.plane.store.config.lock().await;
    pages::overview::page(&session, &config, recorded)
}

async fn identities(State(console): State<Shared>, axum::Extension(session): axum::Extension<Session>) -> Response {
    let config = console.plane.store.config.lock().await;
    pages::identities::page(&session, &config)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct NewCredentialQuery {
    parent: String,
    issuer: String,
    subject: String,
}

async fn new_credential(
    State(console): State<Shared>,
    axum::Extension(session): axum::Extension<Session>,
    Query(query): Query<NewCredentialQuery>,
) -> Response {
    let mut form = CredentialForm::prefilled(&query.parent, &query.issuer, &query.subject);
    let config = console.plane.store.config.lock().await;
    if form.issuer.is_empty() {
        // The issuer the directory trusts already, when there is one: the portal's users paste it.
        form.issuer = config.issuers.first().map(|i| i.issuer.clone()).unwrap_or_default();
    }
    pages::identities::credential_form(&session, &config, &form, None, StatusCode::OK)
}

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

async fn add_credential(
    State(console): State<Shared>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(form): axum::Form<CredentialForm>,
) -> Response {
    let parent = {
        let config = console.plane.store.config.lock().await;
        parent_of(&config, &form.parent)
    };
    let Some(parent) = parent else {
        return pages::refused(
            StatusCode::NOT_FOUND,
            "no app registration or identity has this client id",
        );
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
struct DeleteCredential {
    parent: String,
    name: String,
}

async fn delete_credential(State(console): State<Shared>, axum::Form(form): axum::Form<DeleteCredential>) -> Response {
    let parent = {
        let config = console.plane.store.config.lock().await;
        parent_of(&config, &form.parent)
    };
    let Some(parent) = parent else {
        return pages::refused(
            StatusCode::NOT_FOUND,
            "no app registration or identity has this client id",
        );
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

async fn roles(State(console): State<Shared>, axum::Extension(session): axum::Extension<Session>) -> Response {
    let config = console.plane.store.config.lock().await;
    pages::roles::page(&session, &config, &RoleForm::default(), None, StatusCode::OK)
}

async fn add_role(
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

async fn resources(State(console): State<Shared>, axum::Extension(session): axum::Extension<Session>) -> Response {
    let accounts: Vec<String> = {
        let config = console.plane.store.config.lock().await;
        config
            .subscriptions
            .iter()
            .flat_map(|s| &s.resource_groups)
            .flat_map(|g| &g.storage_accounts)
            .map(|a| a.name.clone())
            .collect()
    };
    let mut blobs = BTreeMap::new();
    for account in accounts {
        let names = match wif_azure::blob::names(&console.plane, &account).await {
            Ok(names) => names.ok_or_else(|| "gone".to_owned()),
            Err(error) => Err(wif_core::error_text::error_chain(&error)),
        };
        blobs.insert(account, names);
    }
    let config = console.plane.store.config.lock().await;
    pages::resources::page(&session, &config, &blobs)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct SecretQuery {
    vault: String,
    name: String,
}

async fn secret_value(
    State(console): State<Shared>,
    axum::Extension(session): axum::Extension<Session>,
    Query(query): Query<SecretQuery>,
) -> Response {
    let config = console.plane.store.config.lock().await;
    let value = wif_azure::ops::find_vault(&config, &query.vault)
        .and_then(|(vault, _)| vault.secrets.get(&query.name, None).ok())
        .map(|(_, version)| version.value.clone());
    match value {
        Some(value) => {
            tracing::info!(vault = %query.vault, secret = %query.name, "console: a secret's value shown");
            pages::resources::secret(&session, &query.vault, &query.name, &value)
        }
        None => pages::refused(StatusCode::NOT_FOUND, "no such vault or secret"),
    }
}

async fn exchanges(State(console): State<Shared>, axum::Extension(session): axum::Extension<Session>) -> Response {
    let records = console.plane.emulator.journal.recent();
    pages::exchanges::page(&session, &records)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct EventsQuery {
    after: u64,
}

/// The exchanges after `after` (or the `Last-Event-ID` a reconnecting browser sends), then
/// each new one as it is recorded.
async fn exchange_events(
    State(console): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let after = query.after.max(last_id);
    // Subscribe first, then replay: nothing recorded in between is missed, and the seq
    // check drops what the replay already sent.
    let live = console.plane.emulator.journal.subscribe();
    let replay: Vec<Arc<ExchangeRecord>> = console
        .plane
        .emulator
        .journal
        .recent()
        .into_iter()
        .filter(|r| r.seq > after)
        .collect();
    let sent = replay.last().map_or(after, |r| r.seq);
    let replayed = futures_util::stream::iter(replay.into_iter().map(|r| Ok(event(&r))));
    let live = futures_util::stream::unfold((live, sent), |(mut live, sent)| async move {
        loop {
            match live.recv().await {
                Ok(record) if record.seq > sent => {
                    let seq = record.seq;
                    return Some((Ok(event(&record)), (live, seq)));
                }
                Ok(_) => {}
                // A reader that fell behind skips ahead; the page's next load shows the rest.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    // A stream lasts a minute: the browser reconnects (with `Last-Event-ID`, so nothing is
    // missed) through the session guard again, so a closed or expired session stops
    // receiving, and a stopping server is not kept waiting by an open page.
    let bounded = futures_util::StreamExt::take_until(
        futures_util::StreamExt::chain(replayed, live),
        tokio::time::sleep(STREAM_LIFETIME),
    );
    Sse::new(bounded).keep_alive(KeepAlive::default())
}

fn event(record: &ExchangeRecord) -> Event {
    let row = pages::exchanges::Row::of(record);
    Event::default()
        .event("exchange")
        .id(record.seq.to_string())
        .json_data(&row)
        .unwrap_or_else(|_| Event::default().event("exchange").data("{}"))
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
