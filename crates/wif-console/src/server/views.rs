//! The console's pages as handlers: each reads the plane's state (or the emulator's journal)
//! and renders; and the live feed of token exchanges.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use wif_sts::journal::ExchangeRecord;

use super::shared::Shared;

/// How long one live-feed stream lasts before the browser reconnects.
const STREAM_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);
use crate::access::Session;
use crate::forms::{CredentialForm, RoleForm};
use crate::pages;

pub(super) async fn overview(
    State(console): State<Shared>,
    axum::Extension(session): axum::Extension<Session>,
) -> Response {
    let recorded = console.plane.emulator.journal.recent().len();
    let config = console.plane.store.config.lock().await;
    pages::overview::page(&session, &config, recorded)
}

pub(super) async fn identities(
    State(console): State<Shared>,
    axum::Extension(session): axum::Extension<Session>,
) -> Response {
    let config = console.plane.store.config.lock().await;
    pages::identities::page(&session, &config)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct NewCredentialQuery {
    parent: String,
    issuer: String,
    subject: String,
}

pub(super) async fn new_credential(
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

pub(super) async fn roles(
    State(console): State<Shared>,
    axum::Extension(session): axum::Extension<Session>,
) -> Response {
    let config = console.plane.store.config.lock().await;
    pages::roles::page(&session, &config, &RoleForm::default(), None, StatusCode::OK)
}

pub(super) async fn resources(
    State(console): State<Shared>,
    axum::Extension(session): axum::Extension<Session>,
) -> Response {
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
pub(super) struct SecretQuery {
    vault: String,
    name: String,
}

pub(super) async fn secret_value(
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

pub(super) async fn exchanges(
    State(console): State<Shared>,
    axum::Extension(session): axum::Extension<Session>,
) -> Response {
    let records = console.plane.emulator.journal.recent();
    pages::exchanges::page(&session, &records)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct EventsQuery {
    after: u64,
}

/// The exchanges after `after` (or the `Last-Event-ID` a reconnecting browser sends), then
/// each new one as it is recorded.
pub(super) async fn exchange_events(
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
