//! Integer parsing with Go's `strconv.ParseInt(s, 10, bits)` rules and error texts, because
//! upstream's denial messages embed them verbatim and users grep for them.

use std::fmt;

/// A parse failure, displayed exactly as Go's `*strconv.NumError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoParseIntError {
    input: String,
    out_of_range: bool,
}

impl fmt::Display for GoParseIntError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = if self.out_of_range {
            "value out of range"
        } else {
            "invalid syntax"
        };
        write!(f, "strconv.ParseInt: parsing {}: {reason}", go_quote(&self.input))
    }
}

impl std::error::Error for GoParseIntError {}

/// Parses a base-10 integer of `bits` bits (32 or 64) as Go does: an optional sign,
/// then at least one ASCII digit, nothing else (no spaces, no underscores in base 10).
pub fn parse_int(input: &str, bits: u32) -> Result<i64, GoParseIntError> {
    let fail = |out_of_range| GoParseIntError {
        input: input.to_owned(),
        out_of_range,
    };
    let (negative, digits) = match input.as_bytes().first() {
        Some(b'+') => (false, &input[1..]),
        Some(b'-') => (true, &input[1..]),
        _ => (false, input),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(false));
    }
    let bound: i128 = 1i128 << (bits.clamp(1, 64) - 1);
    let mut magnitude: i128 = 0;
    for b in digits.bytes() {
        magnitude = magnitude * 10 + i128::from(b - b'0');
        if magnitude > bound {
            return Err(fail(true));
        }
    }
    let value = if negative { -magnitude } else { magnitude };
    if value >= bound || value < -bound {
        return Err(fail(true));
    }
    i64::try_from(value).map_err(|_| fail(true))
}

/// Go's `strconv.Quote` for the inputs we see: printable text kept, the rest escaped.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_go() {
        assert_eq!(parse_int("3600", 64), Ok(3600));
        assert_eq!(parse_int("+8080", 32), Ok(8080));
        assert_eq!(parse_int("-1", 32), Ok(-1));
        assert_eq!(parse_int("2147483647", 32), Ok(i64::from(i32::MAX)));
        assert_eq!(parse_int("-2147483648", 32), Ok(i64::from(i32::MIN)));
        assert_eq!(parse_int("9223372036854775807", 64), Ok(i64::MAX));
        assert_eq!(parse_int("-9223372036854775808", 64), Ok(i64::MIN));
    }

    #[test]
    fn error_texts_are_gos() {
        let text = |s, bits| parse_int(s, bits).unwrap_err().to_string();
        assert_eq!(
            text("invalid", 32),
            r#"strconv.ParseInt: parsing "invalid": invalid syntax"#
        );
        assert_eq!(
            text("3600s", 64),
            r#"strconv.ParseInt: parsing "3600s": invalid syntax"#
        );
        assert_eq!(text("", 64), r#"strconv.ParseInt: parsing "": invalid syntax"#);
        assert_eq!(text(" 1", 64), r#"strconv.ParseInt: parsing " 1": invalid syntax"#);
        assert_eq!(
            text("1_000", 64),
            r#"strconv.ParseInt: parsing "1_000": invalid syntax"#
        );
        assert_eq!(text("+", 64), r#"strconv.ParseInt: parsing "+": invalid syntax"#);
        assert_eq!(
            text("2147483648", 32),
            r#"strconv.ParseInt: parsing "2147483648": value out of range"#
        );
        assert_eq!(
            text("99999999999999999999999999999", 64),
            r#"strconv.ParseInt: parsing "99999999999999999999999999999": value out of range"#
        );
        assert_eq!(
            text("a\"b\n", 64),
            r#"strconv.ParseInt: parsing "a\"b\n": invalid syntax"#
        );
    }
}
