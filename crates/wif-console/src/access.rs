//! Who may use the console: one-time login links and the sessions they open, as pure state
//! over an explicit "now" (the server passes the emulator's clock).
//!
//! A login link carries `NONCE.EXPIRY.MAC`: a random nonce, the Unix second it expires, and an
//! HMAC-SHA256 over both under the console's key. The key is drawn at each start and kept only
//! in memory and, for `wif up`, in a file of the state directory readable by its owner alone,
//! so whoever may read the CA's private key may mint a link (`wif up --console-link`), and
//! nobody else. A link works once ([`LoginKeys::redeem`] remembers the nonces it took until
//! they expire) and within [`LINK_LIFETIME_S`]. Redeemed, it becomes a session: a random id in
//! an `HttpOnly; Secure; SameSite=Strict` cookie, with its own CSRF token for every form, ending
//! after [`SESSION_IDLE_S`] unused or [`SESSION_LIFETIME_S`] in all.
//!
//! ```
//! use wif_console::access::{LoginKeys, Sessions};
//!
//! let keys = LoginKeys::new([7u8; 32]);
//! let link = keys.mint([1u8; 16], 1_000);
//! assert!(keys.redeem(&link, 1_001).is_ok());
//! assert!(keys.redeem(&link, 1_002).is_err(), "a link works once");
//! let mut sessions = Sessions::default();
//! let (id, _csrf) = sessions.open([2u8; 32], [3u8; 32], 1_001);
//! assert!(sessions.check(&id, 1_002).is_some());
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How long a login link works.
pub const LINK_LIFETIME_S: i64 = 10 * 60;
/// How long a session lasts unused.
pub const SESSION_IDLE_S: i64 = 2 * 60 * 60;
/// How long a session lasts at most.
pub const SESSION_LIFETIME_S: i64 = 12 * 60 * 60;
/// How many sessions are open at once (the oldest goes first).
pub const MAX_SESSIONS: usize = 32;
/// The longest login token or cookie value looked at.
const MAX_TOKEN_CHARS: usize = 256;
const LABEL: &[u8] = b"wif-console-login\0";

/// Why a login link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkRefused {
    /// Not a link this console made (wrong shape or MAC).
    #[error("this login link was not made by this console (mistyped, or from an earlier run)")]
    Forged,
    /// Past its expiry.
    #[error("this login link has expired (links work for 10 minutes)")]
    Expired,
    /// Used before.
    #[error("this login link was used already (each works once)")]
    Used,
}

/// The console's key and the nonces of the links redeemed.
#[derive(Debug)]
pub struct LoginKeys {
    key: hmac::Key,
    used: Mutex<BTreeMap<Vec<u8>, i64>>,
}

impl LoginKeys {
    /// The keys under the 32 secret bytes `secret`.
    pub fn new(secret: [u8; 32]) -> Self {
        LoginKeys {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            used: Mutex::default(),
        }
    }

    fn mac(&self, nonce: &[u8], expiry: i64) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(LABEL);
        context.update(nonce);
        context.update(b".");
        context.update(expiry.to_string().as_bytes());
        context.sign()
    }

    /// A login token with the random `nonce`, working from `now` for [`LINK_LIFETIME_S`].
    pub fn mint(&self, nonce: [u8; 16], now: i64) -> String {
        let expiry = now.saturating_add(LINK_LIFETIME_S);
        let mac = self.mac(&nonce, expiry);
        format!(
            "{}.{expiry}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(mac.as_ref())
        )
    }

    /// Checks `token` and takes it: a link works once, before its expiry.
    pub fn redeem(&self, token: &str, now: i64) -> Result<(), LinkRefused> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(LinkRefused::Forged);
        }
        let mut parts = token.split('.');
        let (Some(nonce), Some(expiry), Some(mac), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkRefused::Forged);
        };
        let (Ok(nonce), Ok(expiry), Ok(mac)) = (
            URL_SAFE_NO_PAD.decode(nonce),
            expiry.parse::<i64>(),
            URL_SAFE_NO_PAD.decode(mac),
        ) else {
            return Err(LinkRefused::Forged);
        };
        if nonce.len() != 16 {
            return Err(LinkRefused::Forged);
        }
        let expected = self.mac(&nonce, expiry);
        if constant_time::verify_slices_are_equal(expected.as_ref(), &mac).is_err() {
            return Err(LinkRefused::Forged);
        }
        if now > expiry {
            return Err(LinkRefused::Expired);
        }
        let mut used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        used.retain(|_, until| *until >= now);
        if used.contains_key(&nonce) {
            return Err(LinkRefused::Used);
        }
        used.insert(nonce, expiry);
        Ok(())
    }
}

/// The session a request belongs to, as the pages see it: its id and CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub(crate) id: String,
    pub(crate) csrf: String,
}

/// An open session.
#[derive(Debug, Clone)]
struct Open {
    csrf: String,
    opened: i64,
    last_seen: i64,
}

/// The open sessions, by id.
#[derive(Debug, Default)]
pub struct Sessions {
    open: HashMap<String, Open>,
}

impl Sessions {
    /// Opens a session with the random `id` and `csrf` bytes at `now`; its id and CSRF token.
    pub fn open(&mut self, id: [u8; 32], csrf: [u8; 32], now: i64) -> (String, String) {
        self.open.retain(|_, s| live(s, now));
        if self.open.len() >= MAX_SESSIONS
            && let Some(oldest) = self.open.iter().min_by_key(|(_, s)| s.opened).map(|(k, _)| k.clone())
        {
            self.open.remove(&oldest);
        }
        let (id, csrf) = (URL_SAFE_NO_PAD.encode(id), URL_SAFE_NO_PAD.encode(csrf));
        self.open.insert(
            id.clone(),
            Open {
                csrf: csrf.clone(),
                opened: now,
                last_seen: now,
            },
        );
        (id, csrf)
    }

    /// The session `id`'s CSRF token when it is open at `now` (and it counts as used now).
    pub fn check(&mut self, id: &str, now: i64) -> Option<String> {
        if id.len() > MAX_TOKEN_CHARS {
            return None;
        }
        let session = self.open.get_mut(id)?;
        if !live(session, now) {
            self.open.remove(id);
            return None;
        }
        session.last_seen = now;
        Some(session.csrf.clone())
    }

    /// Ends the session `id`.
    pub fn close(&mut self, id: &str) {
        self.open.remove(id);
    }
}

fn live(session: &Open, now: i64) -> bool {
    now - session.last_seen <= SESSION_IDLE_S && now - session.opened <= SESSION_LIFETIME_S
}

/// Whether `presented` is `expected`, compared in constant time.
pub fn same_token(presented: &str, expected: &str) -> bool {
    constant_time::verify_slices_are_equal(presented.as_bytes(), expected.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_works_once_before_its_expiry_and_only_under_its_key() {
        let keys = LoginKeys::new([7u8; 32]);
        let link = keys.mint([1u8; 16], 1_000);
        assert_eq!(
            keys.redeem(&link, 1_000 + LINK_LIFETIME_S + 1),
            Err(LinkRefused::Expired)
        );
        assert_eq!(keys.redeem(&link, 1_000), Ok(()));
        assert_eq!(keys.redeem(&link, 1_001), Err(LinkRefused::Used));
        let other = LoginKeys::new([8u8; 32]);
        assert_eq!(
            other.redeem(&keys.mint([2u8; 16], 1_000), 1_000),
            Err(LinkRefused::Forged)
        );
    }

    #[test]
    fn a_changed_expiry_nonce_or_mac_is_forged() {
        let keys = LoginKeys::new([7u8; 32]);
        let link = keys.mint([1u8; 16], 1_000);
        let parts: Vec<&str> = link.split('.').collect();
        let later = format!("{}.{}.{}", parts[0], 1_000 + 10 * LINK_LIFETIME_S, parts[2]);
        assert_eq!(
            keys.redeem(&later, 1_000),
            Err(LinkRefused::Forged),
            "the expiry is under the MAC"
        );
        let other_nonce = format!("{}.{}.{}", URL_SAFE_NO_PAD.encode([9u8; 16]), parts[1], parts[2]);
        assert_eq!(keys.redeem(&other_nonce, 1_000), Err(LinkRefused::Forged));
        for garbage in [
            "",
            "a.b",
            "a.b.c.d",
            "....",
            "AAAA.1.AAAA",
            &"x".repeat(10_000),
            "é.1.é",
        ] {
            assert_eq!(keys.redeem(garbage, 1_000), Err(LinkRefused::Forged), "{garbage:.20}");
        }
    }

    #[test]
    fn a_used_nonce_is_forgotten_only_once_its_link_expired() {
        let keys = LoginKeys::new([7u8; 32]);
        let link = keys.mint([1u8; 16], 1_000);
        assert_eq!(keys.redeem(&link, 1_000), Ok(()));
        keys.redeem(&keys.mint([2u8; 16], 1_000 + LINK_LIFETIME_S), 1_000 + LINK_LIFETIME_S)
            .expect("another link");
        assert_eq!(keys.redeem(&link, 1_000 + LINK_LIFETIME_S), Err(LinkRefused::Used));
    }

    #[test]
    fn sessions_end_when_idle_too_long_when_too_old_and_when_closed() {
        let mut sessions = Sessions::default();
        let (id, csrf) = sessions.open([1u8; 32], [2u8; 32], 0);
        assert_eq!(sessions.check(&id, SESSION_IDLE_S), Some(csrf.clone()));
        assert_eq!(sessions.check(&id, 2 * SESSION_IDLE_S), Some(csrf), "used, so not idle");
        assert_eq!(sessions.check(&id, 3 * SESSION_IDLE_S + 1), None, "idle too long");
        let (old, _) = sessions.open([3u8; 32], [4u8; 32], 0);
        let mut now = 0;
        while now < SESSION_LIFETIME_S {
            now += SESSION_IDLE_S;
            assert!(sessions.check(&old, now).is_some());
        }
        assert_eq!(sessions.check(&old, SESSION_LIFETIME_S + 1), None, "too old");
        let (closed, _) = sessions.open([5u8; 32], [6u8; 32], 0);
        sessions.close(&closed);
        assert_eq!(sessions.check(&closed, 1), None);
        assert_eq!(sessions.check("forged", 1), None);
    }

    #[test]
    fn past_the_cap_the_oldest_session_goes() {
        let mut sessions = Sessions::default();
        let ids: Vec<String> = (0..=MAX_SESSIONS)
            .map(|n| sessions.open([n as u8; 32], [0u8; 32], n as i64).0)
            .collect();
        assert_eq!(sessions.check(&ids[0], MAX_SESSIONS as i64), None, "the oldest went");
        assert!(sessions.check(&ids[MAX_SESSIONS], MAX_SESSIONS as i64).is_some());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("ab", "abc"));
    }
}
