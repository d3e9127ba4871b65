//! The one notion of "now" every wif crate uses, injected so that tests move time instead of
//! waiting for it: [`Clock`], the system's [`SystemClock`] and a [`ManualClock`] for tests;
//! and UTC timestamps in the forms the protocols write, through the `time` crate.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;
use time::macros::format_description;

/// Unix time, from a clock tests can move.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> i64;

    /// Now, in Unix seconds.
    fn now_s(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// The system clock (a clock before 1970 reads as 1970).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that moves only when told (tests and benchmarks).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Starting at `ms`.
    pub fn new(ms: i64) -> Self {
        ManualClock(AtomicI64::new(ms))
    }

    /// Moves it forward.
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Unix seconds now, from the system clock (for the few places with nothing injected).
pub fn unix_now() -> i64 {
    SystemClock.now_s()
}

fn utc(unix: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix).ok()
}

/// `YYYY-MM-DD HH:MM:SSZ`, as Entra writes the time of an error; out of the calendar's
/// range, the number itself.
pub fn error_timestamp(unix: i64) -> String {
    utc(unix)
        .and_then(|t| {
            t.format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z"))
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// RFC 3339 (`YYYY-MM-DDTHH:MM:SSZ`), for people; out of the calendar's range, the number.
pub fn rfc3339(unix: i64) -> String {
    utc(unix)
        .and_then(|t| {
            t.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// `YYYY-MM-DDTHH:MM:SS.0000000Z`, as Entra writes times inside AADSTS700024; out of the
/// calendar's range (an assertion may claim any `exp`), the number itself.
pub fn assertion_time(unix: i64) -> String {
    utc(unix)
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].0000000Z"
            ))
            .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(error_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(rfc3339(1_760_367_274), "2025-10-13T14:54:34Z");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
        assert_eq!(error_timestamp(1_760_367_274), "2025-10-13 14:54:34Z");
        assert_eq!(assertion_time(951_782_400), "2000-02-29T00:00:00.0000000Z");
        assert_eq!(assertion_time(4_102_444_799), "2099-12-31T23:59:59.0000000Z");
        assert_eq!(assertion_time(-1), "1969-12-31T23:59:59.0000000Z");
    }

    #[test]
    fn instants_out_of_the_calendar_are_written_as_numbers() {
        assert_eq!(assertion_time(i64::MAX), i64::MAX.to_string());
        assert_eq!(error_timestamp(i64::MIN), i64::MIN.to_string());
    }

    #[test]
    fn a_manual_clock_moves_when_told() {
        let clock = ManualClock::new(1_500);
        assert_eq!(clock.now_s(), 1);
        clock.advance_secs(2);
        assert_eq!((clock.now_ms(), clock.now_s()), (3_500, 3));
    }
}
