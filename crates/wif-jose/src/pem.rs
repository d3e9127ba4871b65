//! PEM: the `-----BEGIN X-----` blocks of key and certificate files, several per file.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// One block: its label (`PUBLIC KEY`, `CERTIFICATE`, ...) and DER contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label between `BEGIN ` and the dashes.
    pub label: String,
    /// The decoded contents.
    pub der: Vec<u8>,
}

/// A PEM file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// No `-----BEGIN` line at all.
    #[error("no PEM block found")]
    NoBlocks,
    /// A block without its END line.
    #[error("PEM block {label:?} starting at line {line} has no END line")]
    Unterminated {
        /// Its label.
        label: String,
        /// Line of its BEGIN.
        line: usize,
    },
    /// Bad base64 inside a block.
    #[error("PEM block {label:?} starting at line {line} is not valid base64")]
    Base64 {
        /// Its label.
        label: String,
        /// Line of its BEGIN.
        line: usize,
    },
}

/// Parses every block; text outside blocks (comments, explanations) is ignored.
pub fn parse_pem(text: &[u8]) -> Result<Vec<PemBlock>, PemError> {
    let text = String::from_utf8_lossy(text);
    let mut blocks = Vec::new();
    let mut current: Option<(String, usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        match &mut current {
            None => {
                if let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
                    current = Some((label.to_owned(), i + 1, String::new()));
                }
            }
            Some((label, start, body)) => {
                if line.strip_prefix("-----END ").and_then(|l| l.strip_suffix("-----")) == Some(label.as_str()) {
                    let der = STANDARD.decode(body.as_bytes()).map_err(|_| PemError::Base64 {
                        label: label.clone(),
                        line: *start,
                    })?;
                    blocks.push(PemBlock {
                        label: label.clone(),
                        der,
                    });
                    current = None;
                } else if line.contains(':') {
                    // RFC 1421 headers (Proc-Type, DEK-Info): an encrypted key, which is reported
                    // by its label's parser; the header itself carries no base64.
                } else {
                    body.push_str(line);
                }
            }
        }
    }
    if let Some((label, line, _)) = current {
        return Err(PemError::Unterminated { label, line });
    }
    if blocks.is_empty() {
        return Err(PemError::NoBlocks);
    }
    Ok(blocks)
}

/// Encodes one block, 64 characters a line.
pub fn encode_pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_several_blocks() {
        let text = format!(
            "comment\n{}between\n{}",
            encode_pem("A", &[1, 2, 3]),
            encode_pem("B", &[0; 100])
        );
        let blocks = parse_pem(text.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks[0],
            PemBlock {
                label: "A".into(),
                der: vec![1, 2, 3]
            }
        );
        assert_eq!(blocks[1].der.len(), 100);
    }

    #[test]
    fn errors() {
        assert_eq!(parse_pem(b"nothing here"), Err(PemError::NoBlocks));
        assert!(matches!(
            parse_pem(b"-----BEGIN X-----\nAAAA\n"),
            Err(PemError::Unterminated { line: 1, .. })
        ));
        assert!(matches!(
            parse_pem(b"-----BEGIN X-----\n!!!\n-----END X-----\n"),
            Err(PemError::Base64 { .. })
        ));
    }
}
