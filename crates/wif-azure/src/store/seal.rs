//! The state file's frame: a header line first and a checksum trailer last, around the YAML,
//! so that a file cut short (at a line boundary or anywhere), emptied, or changed after wif
//! wrote it is told apart from one wif wrote whole. Pure: bytes in, a verdict out; reading and
//! writing the file is the rest of [`crate::store`]'s.
//!
//! ```text
//! # wif-state v1
//! tenants: ...
//! # wif-state end sha256=<hex of every byte before this line> bytes=<how many>
//! ```
//!
//! Both lines are YAML comments, so a sealed file is still the emulator's YAML as it was.

use aws_lc_rs::digest::{SHA256, digest};

/// The first line of a state file this version writes.
pub const HEADER: &str = "# wif-state v1";

/// What every header line starts with, whatever its version.
const HEADER_PREFIX: &str = "# wif-state v";

/// What the trailer line starts with.
const TRAILER_PREFIX: &str = "# wif-state end ";

/// Why a state file is not what wif wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// Nothing in it, or only blank lines and comments: wif never writes that.
    #[error("it is empty (no YAML in it)")]
    Empty,
    /// Its trailer line is missing: the file was cut short.
    #[error("its last line is not the `# wif-state end` trailer (the file was cut short)")]
    MissingTrailer,
    /// Its content does not match its trailer: changed, or cut and left with another last line.
    #[error(
        "its content does not match its trailer ({bytes} bytes before the trailer{}): it was changed after wif wrote it",
        recorded.map(|n| format!(", {n} recorded")).unwrap_or_default()
    )]
    Mismatch {
        /// The bytes before the trailer line.
        bytes: usize,
        /// The count the trailer records, when it can be read.
        recorded: Option<usize>,
    },
    /// A trailer without the header it goes with: the first line was changed.
    #[error("it ends with a `# wif-state end` trailer but does not start with `{HEADER}`")]
    MissingHeader,
    /// A header of another version (a newer wif's, or a damaged one).
    #[error("its first line is {line:?}, not `{HEADER}` (written by another wif version, or changed)")]
    UnknownHeader {
        /// The first line (at most 80 bytes of it).
        line: String,
    },
}

/// How a state file that is not damaged was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing {
    /// With header and matching trailer.
    Sealed,
    /// With neither: an older wif's file, read as it is.
    Legacy,
}

/// `body` (YAML) between the header and its trailer.
pub fn seal(body: &str) -> String {
    let mut text = String::with_capacity(body.len() + 128);
    text.push_str(HEADER);
    text.push('\n');
    text.push_str(body);
    if !body.is_empty() && !body.ends_with('\n') {
        text.push('\n');
    }
    let trailer = trailer_for(text.as_bytes());
    text.push_str(&trailer);
    text
}

/// The trailer line (with its newline) for the bytes before it.
fn trailer_for(before: &[u8]) -> String {
    let hex: String = digest(&SHA256, before)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{TRAILER_PREFIX}sha256={hex} bytes={}\n", before.len())
}

/// Whether `text` is a state file wif wrote whole: sealed and matching, or from before seals.
pub fn unseal(text: &[u8]) -> Result<Sealing, Damage> {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(Damage::Empty);
    }
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let (before, last) = split_last_line(text);
    if first == HEADER.as_bytes() {
        let Some(last) = last.filter(|l| l.starts_with(TRAILER_PREFIX.as_bytes())) else {
            return Err(Damage::MissingTrailer);
        };
        if last != trailer_for(before).as_bytes() {
            return Err(Damage::Mismatch {
                bytes: before.len(),
                recorded: recorded_bytes(last),
            });
        }
        return Ok(Sealing::Sealed);
    }
    if !first.is_empty() && HEADER.as_bytes().starts_with(first) {
        // Cut inside its first line.
        return Err(Damage::MissingTrailer);
    }
    if first.starts_with(HEADER_PREFIX.as_bytes()) {
        let line = String::from_utf8_lossy(&first[..first.len().min(80)]).into_owned();
        return Err(Damage::UnknownHeader { line });
    }
    if last.is_some_and(|l| l.starts_with(TRAILER_PREFIX.as_bytes())) {
        return Err(Damage::MissingHeader);
    }
    let no_yaml = text.split(|b| *b == b'\n').all(|line| {
        let line = line.trim_ascii_start();
        line.is_empty() || line.starts_with(b"#")
    });
    if no_yaml {
        return Err(Damage::Empty);
    }
    Ok(Sealing::Legacy)
}

/// The bytes before the last line, and the last line with its newline (`None` when the text
/// does not end with one: no line of it is whole).
fn split_last_line(text: &[u8]) -> (&[u8], Option<&[u8]>) {
    let Some(without_newline) = text.strip_suffix(b"\n") else {
        return (text, None);
    };
    let start = without_newline.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let (before, last) = text.split_at(start);
    (before, Some(last))
}

/// The `bytes=N` a trailer records.
fn recorded_bytes(trailer: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(trailer).ok()?;
    text.trim_end().rsplit_once(" bytes=")?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "tenants:\n- tenantId: t\n  applications: []\nroleAssignments:\n- name: r\n";

    #[test]
    fn a_sealed_body_reads_back_and_says_what_it_covers() {
        let sealed = seal(BODY);
        assert!(sealed.starts_with("# wif-state v1\ntenants:\n"));
        let trailer = sealed.lines().last().unwrap();
        let covered = "# wif-state v1\n".len() + BODY.len();
        assert!(trailer.starts_with("# wif-state end sha256="), "{trailer}");
        assert!(trailer.ends_with(&format!(" bytes={covered}")), "{trailer}");
        assert_eq!(unseal(sealed.as_bytes()), Ok(Sealing::Sealed));
        assert_eq!(unseal(seal("").as_bytes()), Ok(Sealing::Sealed));
        assert_eq!(
            unseal(seal("a: 1").as_bytes()),
            Ok(Sealing::Sealed),
            "a body without its last newline"
        );
    }

    #[test]
    fn every_cut_is_damage() {
        let sealed = seal(BODY);
        for (at, _) in sealed.match_indices('\n') {
            let cut = &sealed.as_bytes()[..=at];
            if cut.len() == sealed.len() {
                continue;
            }
            let found = unseal(cut);
            assert!(
                matches!(found, Err(Damage::MissingTrailer)),
                "cut after byte {at}: {found:?}"
            );
        }
        for at in 1..sealed.len() {
            let cut = &sealed.as_bytes()[..at];
            assert!(unseal(cut).is_err(), "cut at byte {at}");
        }
        assert_eq!(unseal(b""), Err(Damage::Empty));
        assert_eq!(unseal(b" \n\n"), Err(Damage::Empty));
        assert_eq!(unseal(b"# a comment\n  # another\n\n"), Err(Damage::Empty));
    }

    #[test]
    fn every_changed_byte_is_damage() {
        let sealed = seal(BODY);
        for at in 0..sealed.len() {
            for flip in [0x01, 0x20, 0x80] {
                let mut changed = sealed.clone().into_bytes();
                changed[at] ^= flip;
                let found = unseal(&changed);
                assert!(found.is_err(), "byte {at} ^ {flip:#x}: {found:?}");
            }
        }
        let mut body_changed = sealed.clone().into_bytes();
        body_changed[20] ^= 0x01;
        assert_eq!(
            unseal(&body_changed),
            Err(Damage::Mismatch {
                bytes: "# wif-state v1\n".len() + BODY.len(),
                recorded: Some("# wif-state v1\n".len() + BODY.len()),
            })
        );
    }

    #[test]
    fn a_file_without_header_or_trailer_is_an_older_wifs() {
        assert_eq!(unseal(BODY.as_bytes()), Ok(Sealing::Legacy));
        let sealed = seal(BODY);
        let headless = sealed.strip_prefix("# wif-state v1\n").unwrap();
        assert_eq!(unseal(headless.as_bytes()), Err(Damage::MissingHeader));
        assert!(matches!(
            unseal(b"# wif-state v2\ntenants: []\n"),
            Err(Damage::UnknownHeader { line }) if line == "# wif-state v2"
        ));
    }
}
