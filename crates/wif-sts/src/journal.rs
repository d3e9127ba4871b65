//! The emulator's journal of token exchanges: the last [`JOURNAL_CAPACITY`] token requests
//! (time, tenant, client, the assertion's `iss`/`sub`/`aud` as sent, the outcome with Entra's
//! code, the plain-words diagnosis and the closest credential), and a live feed of new ones,
//! for the operator's console. It holds what the emulator's log holds, never more: the
//! assertion's claims are read unverified and kept as text, cut to [`MAX_FIELD_CHARS`]
//! characters, and nothing of the assertion's signature or of the issued token is kept.
//!
//! ```
//! use wif_sts::journal::{Journal, Outcome, Seen};
//!
//! let journal = Journal::default();
//! let mut live = journal.subscribe();
//! let seen = Seen { tenant: "t".into(), client_id: Some("c".into()), ..Seen::default() };
//! journal.record(seen, 1_700_000_000, Outcome::Issued { credential: "fic".into(), resource: "https://vault.azure.net".into() });
//! assert_eq!(journal.recent().len(), 1);
//! assert_eq!(live.try_recv().expect("a live record").seq, 1);
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::broadcast;

/// How many exchanges the journal keeps.
pub const JOURNAL_CAPACITY: usize = 200;
/// The longest text kept of any field taken from a request (a claim, a client id).
pub const MAX_FIELD_CHARS: usize = 600;
/// The longest message or diagnosis kept (an oversized claim is quoted in them).
pub const MAX_TEXT_CHARS: usize = 4_000;
/// How many records a slow live reader may fall behind before it skips ahead.
const LIVE_BACKLOG: usize = 64;

/// What the token request showed of itself, as far as it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Seen {
    /// The tenant segment of the URL, as sent.
    pub tenant: String,
    /// `v1` or `v2`.
    pub endpoint: &'static str,
    /// `client_id`, when the form carried one.
    pub client_id: Option<String>,
    /// The assertion's `iss`, when it decoded.
    pub issuer: Option<String>,
    /// The assertion's `sub`.
    pub subject: Option<String>,
    /// The assertion's `aud` values.
    pub audiences: Vec<String>,
    /// Whether the assertion's signature verified with a trusted issuer's key: until then its
    /// claims are whatever the caller typed, and nothing may be built from them.
    pub verified: bool,
}

impl Seen {
    /// Fills the assertion's claims from `assertion` (a compact JWT, not verified here: the
    /// journal shows what was sent, the exchange decides what it is worth).
    pub fn read_assertion(&mut self, assertion: &str) {
        if let Ok(token) = wif_jose::decode_unverified(assertion) {
            self.issuer = token.claim_str("iss").map(cut);
            self.subject = token.claim_str("sub").map(cut);
            self.audiences = token.audiences().iter().take(8).map(|a| cut(a)).collect();
        }
    }
}

/// How a token request ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// A token was issued.
    Issued {
        /// The federated credential that matched.
        credential: String,
        /// The resource the token is for.
        resource: String,
    },
    /// Refused, with Entra's error.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The OAuth 2.0 `error`.
        error: String,
        /// The AADSTS number.
        code: u32,
        /// Entra's text.
        message: String,
        /// The plain-words diagnosis, with what only the operator may see (the directory's
        /// contents for a caller that proved nothing).
        diagnosis: Option<String>,
        /// The credential of the principal that came closest, when one was compared.
        closest_credential: Option<String>,
    },
}

/// One token request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeRecord {
    /// Its number, from 1, in the order recorded.
    pub seq: u64,
    /// When (Unix seconds, the emulator's clock).
    pub at: i64,
    /// What it showed of itself.
    #[serde(flatten)]
    pub seen: Seen,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The last exchanges and the live feed.
#[derive(Debug)]
pub struct Journal {
    kept: Mutex<(u64, VecDeque<Arc<ExchangeRecord>>)>,
    live: broadcast::Sender<Arc<ExchangeRecord>>,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            kept: Mutex::new((0, VecDeque::with_capacity(JOURNAL_CAPACITY))),
            live: broadcast::channel(LIVE_BACKLOG).0,
        }
    }
}

impl Journal {
    /// Records a token request; the oldest record goes once [`JOURNAL_CAPACITY`] are kept.
    pub fn record(&self, seen: Seen, at: i64, outcome: Outcome) {
        let record = {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            kept.0 += 1;
            let record = Arc::new(ExchangeRecord {
                seq: kept.0,
                at,
                seen,
                outcome,
            });
            if kept.1.len() == JOURNAL_CAPACITY {
                kept.1.pop_front();
            }
            kept.1.push_back(Arc::clone(&record));
            record
        };
        // No reader is no error: the console may not be open.
        let _ = self.live.send(record);
    }

    /// The kept records, oldest first.
    pub fn recent(&self) -> Vec<Arc<ExchangeRecord>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.1.iter().cloned().collect()
    }

    /// The records from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ExchangeRecord>> {
        self.live.subscribe()
    }
}

/// `text` cut to [`MAX_FIELD_CHARS`] characters (on a character boundary).
pub fn cut(text: &str) -> String {
    cut_to(text, MAX_FIELD_CHARS)
}

/// `text` cut to `max` characters (on a character boundary), marked with `…` when cut.
pub fn cut_to(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: u32) -> Outcome {
        Outcome::Refused {
            status: 400,
            error: "invalid_request".into(),
            code,
            message: "m".into(),
            diagnosis: None,
            closest_credential: None,
        }
    }

    #[test]
    fn the_journal_keeps_the_last_records_in_order_and_numbers_them() {
        let journal = Journal::default();
        for n in 0..(JOURNAL_CAPACITY as u32 + 5) {
            journal.record(Seen::default(), i64::from(n), refused(n));
        }
        let recent = journal.recent();
        assert_eq!(recent.len(), JOURNAL_CAPACITY);
        assert_eq!(recent[0].seq, 6, "the five oldest went");
        assert_eq!(recent.last().map(|r| r.seq), Some(JOURNAL_CAPACITY as u64 + 5));
    }

    #[test]
    fn a_live_reader_sees_each_record_once_and_a_late_one_none_before_it() {
        let journal = Journal::default();
        journal.record(Seen::default(), 1, refused(1));
        let mut live = journal.subscribe();
        journal.record(Seen::default(), 2, refused(2));
        assert_eq!(live.try_recv().map(|r| r.seq).ok(), Some(2));
        assert!(live.try_recv().is_err(), "nothing more");
    }

    #[test]
    fn claims_are_read_unverified_and_cut() {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let long_sub = "s".repeat(MAX_FIELD_CHARS + 50);
        let claims =
            format!(r#"{{"iss":"https://issuer.example/","sub":"{long_sub}","aud":["api://AzureADTokenExchange"]}}"#);
        let token = format!("{}.{}.{}", b64(r#"{"alg":"RS256"}"#), b64(&claims), b64("sig"));
        let mut seen = Seen::default();
        seen.read_assertion(&token);
        assert_eq!(seen.issuer.as_deref(), Some("https://issuer.example/"));
        assert_eq!(
            seen.subject.as_ref().map(|s| s.chars().count()),
            Some(MAX_FIELD_CHARS + 1)
        );
        assert_eq!(seen.audiences, ["api://AzureADTokenExchange"]);
        let mut garbage = Seen::default();
        garbage.read_assertion("not a token");
        assert_eq!(garbage, Seen::default(), "nothing read from garbage");
    }

    #[test]
    fn a_record_serializes_flat_for_the_console() {
        let journal = Journal::default();
        journal.record(
            Seen {
                tenant: "t".into(),
                endpoint: "v2",
                ..Seen::default()
            },
            5,
            refused(700213),
        );
        let json = serde_json::to_value(&*journal.recent()[0]).expect("serializes");
        assert_eq!(json["outcome"], "refused");
        assert_eq!(json["code"], 700213);
        assert_eq!(json["tenant"], "t");
        assert_eq!(json["seq"], 1);
    }
}
