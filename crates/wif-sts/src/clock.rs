//! UTC timestamps in the two forms Entra writes: `2025-10-13 14:54:34Z` in error bodies and
//! `2024-10-02T22:05:03.0000000Z` inside AADSTS700024's message.

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn parts(unix: i64) -> (i64, u32, u32, i64, i64, i64) {
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    (year, month, day, secs / 3600, secs % 3600 / 60, secs % 60)
}

/// `YYYY-MM-DD HH:MM:SSZ`.
pub fn error_timestamp(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = parts(unix);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}Z")
}

/// `YYYY-MM-DDTHH:MM:SS.0000000Z`.
pub fn assertion_time(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = parts(unix);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.0000000Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(error_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(error_timestamp(1_760_367_274), "2025-10-13 14:54:34Z");
        assert_eq!(assertion_time(951_782_400), "2000-02-29T00:00:00.0000000Z");
        assert_eq!(assertion_time(4_102_444_799), "2099-12-31T23:59:59.0000000Z");
    }
}
