//! The token exchanges the emulator recorded, newest first, each with its outcome, Entra's code
//! and the diagnosis, and from a refusal a link to the credential to fix or the form to add the
//! one the token needs; the script adds new rows as the emulator records them.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Serialize;
use wif_sts::journal::{ExchangeRecord, Outcome};

use super::{answer, fic_anchor, fragment, frame};
use crate::access::Session;

/// Entra's codes for an assertion no credential matched: issuer (700211), audience (700212),
/// subject (700213), and subject differing in case only (7002138).
const CREDENTIAL_CODES: [u32; 4] = [700_211, 700_212, 700_213, 7_002_138];

/// One exchange as the page and the live feed show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The record's number.
    pub seq: u64,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The tenant as sent.
    pub tenant: String,
    /// The client id as sent.
    pub client_id: String,
    /// The assertion's issuer.
    pub issuer: String,
    /// The assertion's subject.
    pub subject: String,
    /// The assertion's audiences.
    pub audience: String,
    /// Whether the assertion's signature verified (else its claims are the caller's words).
    pub verified: bool,
    /// `issued` or `refused`.
    pub outcome: &'static str,
    /// `issued`, or `AADSTS<code>`.
    pub outcome_label: String,
    /// The plain-words diagnosis (or the credential that matched).
    pub diagnosis: String,
    /// The closest credential's row, for a refusal that names one.
    pub fix_href: Option<String>,
    /// The form prefilled with what the token needs, for a refusal with a client and a subject.
    pub add_href: Option<String>,
}

impl Row {
    /// The row of `record`.
    pub fn of(record: &ExchangeRecord) -> Self {
        let seen = &record.seen;
        let client = seen.client_id.clone().unwrap_or_default();
        let (outcome, outcome_label, diagnosis, fix_href, add_href) = match &record.outcome {
            Outcome::Issued { credential, resource } => (
                "issued",
                "issued".to_owned(),
                format!("matched credential '{credential}'; a token for {resource}"),
                None,
                None,
            ),
            Outcome::Refused {
                code,
                message,
                diagnosis,
                closest_credential,
                ..
            } => {
                let fix = closest_credential
                    .as_ref()
                    .filter(|_| !client.is_empty())
                    .map(|name| format!("/_console/identities#{}", fragment(&fic_anchor(&client, name))));
                // Only a refusal about the credentials (no issuer, audience or subject matched)
                // is fixed by adding one.
                // And only from claims a trusted key signed: an unverified assertion's issuer
                // and subject are a caller's words, and a credential made from them would let
                // that caller in.
                let about_credentials = CREDENTIAL_CODES.contains(code);
                let whole_subject = seen
                    .subject
                    .as_deref()
                    .is_some_and(|s| s.chars().count() <= wif_sts::journal::MAX_FIELD_CHARS);
                let add = (about_credentials && seen.verified && !client.is_empty() && whole_subject).then(|| {
                    format!(
                        "/_console/credentials/new?parent={}&issuer={}&subject={}",
                        fragment(&client),
                        fragment(seen.issuer.as_deref().unwrap_or_default()),
                        fragment(seen.subject.as_deref().unwrap_or_default())
                    )
                });
                (
                    "refused",
                    format!("AADSTS{code}"),
                    diagnosis.clone().unwrap_or_else(|| message.clone()),
                    fix,
                    add,
                )
            }
        };
        Row {
            seq: record.seq,
            time: wif_core::clock::rfc3339(record.at),
            tenant: seen.tenant.clone(),
            client_id: client,
            issuer: seen.issuer.clone().unwrap_or_default(),
            subject: seen.subject.clone().unwrap_or_default(),
            audience: seen.audiences.join(", "),
            verified: seen.verified,
            outcome,
            outcome_label,
            diagnosis,
            fix_href,
            add_href,
        }
    }
}

fn row(row: &Row) -> Markup {
    html! {
        tr.(row.outcome) data-seq=(row.seq) data-outcome=(row.outcome) {
            td data-label="Time" { (row.time) }
            td.id data-label="Tenant" { (row.tenant) }
            td.id data-label="Client" { (row.client_id) }
            td data-label="Issuer" { (row.issuer) }
            td data-label="Subject" {
                (row.subject)
                @if !row.verified && !row.subject.is_empty() { " " span.hint { "(unverified)" } }
            }
            td data-label="Audience" { (row.audience) }
            td.outcome data-label="Outcome" { (row.outcome_label) }
            td data-label="Diagnosis" {
                (row.diagnosis)
                @if let Some(href) = &row.fix_href { div { a href=(href) { "Fix the credential" } } }
                @if let Some(href) = &row.add_href { div { a href=(href) { "Add the credential this token needs" } } }
            }
        }
    }
}

/// `/_console/exchanges`.
pub(crate) fn page(session: &Session, records: &[Arc<ExchangeRecord>]) -> Response {
    let last = records.last().map_or(0, |r| r.seq);
    let content = html! {
        h1 { "Token exchanges" }
        p.live id="live-status" role="status" aria-live="polite" { "Live updates start once the page has loaded." }
        p.hint id="no-exchanges" hidden[!records.is_empty()] { "No token requests yet: run a workload, and they appear here as they happen." }
        div.table-wrap {
            table.stack id="exchanges" data-last-seq=(last) {
                caption { "The last " (wif_sts::journal::JOURNAL_CAPACITY) " token requests, newest first" }
                thead { tr { th { "Time" } th { "Tenant" } th { "Client" } th { "Issuer" } th { "Subject" } th { "Audience" } th { "Outcome" } th { "Diagnosis" } } }
                tbody {
                    @for record in records.iter().rev() { (row(&Row::of(record))) }
                }
            }
        }
    };
    answer(
        StatusCode::OK,
        frame(Some(session), "Token exchanges", "Token exchanges", content),
    )
}

#[cfg(test)]
mod tests {
    use wif_sts::journal::{Journal, Seen};

    use super::*;

    fn refused(code: u32, verified: bool, subject: &str) -> Row {
        let journal = Journal::default();
        let seen = Seen {
            tenant: "t".into(),
            endpoint: "v2",
            client_id: Some("c".into()),
            issuer: Some("https://evil.example/".into()),
            subject: Some(subject.into()),
            audiences: vec!["api://AzureADTokenExchange".into()],
            verified,
        };
        let outcome = Outcome::Refused {
            status: 400,
            error: "invalid_request".into(),
            code,
            message: "m".into(),
            diagnosis: None,
            closest_credential: (code == 700_213).then(|| "app-typo".to_owned()),
        };
        journal.record(seen, 0, outcome);
        Row::of(&journal.recent()[0])
    }

    #[test]
    fn only_a_verified_assertion_offers_the_credential_it_needs() {
        let sub = "system:serviceaccount:prod:app";
        let row = refused(700_213, true, sub);
        assert_eq!(
            row.add_href.as_deref(),
            Some(
                "/_console/credentials/new?parent=c&issuer=https%3A%2F%2Fevil.example%2F&subject=system%3Aserviceaccount%3Aprod%3Aapp"
            )
        );
        assert_eq!(row.fix_href.as_deref(), Some("/_console/identities#fic-c-app-typo"));
        // A caller's unverified claims: no form prefilled from them, and the page says so.
        let planted = refused(700_211, false, sub);
        assert_eq!(planted.add_href, None);
        assert!(!planted.verified);
        // Not about credentials (no such application): nothing to add.
        assert_eq!(refused(700_016, true, sub).add_href, None);
        // A subject cut short is not the token's.
        let long = "s".repeat(wif_sts::journal::MAX_FIELD_CHARS + 1);
        assert_eq!(refused(700_213, true, &long).add_href, None);
    }
}
