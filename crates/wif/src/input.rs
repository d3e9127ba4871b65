//! Reading manifest files and streams for the CLI: size limits, UTF-8, and errors that name
//! the source, the document and the line. The YAML rules themselves are `wif_core::yaml`'s.

use std::io::Read;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The largest manifest stream we read (kube-apiserver's own request limit is 3 MiB per
/// object; a rendered chart of a few hundred objects stays far below this).
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Reads `path` (`-` for standard input) as UTF-8 text.
pub fn read_source(path: &str) -> Result<String> {
    let mut bytes = Vec::new();
    let limited = |reader: &mut dyn Read, bytes: &mut Vec<u8>| reader.take(MAX_INPUT_BYTES + 1).read_to_end(bytes);
    if path == "-" {
        limited(&mut std::io::stdin().lock(), &mut bytes).context("cannot read standard input")?;
    } else {
        let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
        limited(&mut file, &mut bytes).with_context(|| format!("cannot read {path}"))?;
    }
    let name = display_name(path);
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        bail!("{name} is larger than {} MiB", MAX_INPUT_BYTES / (1024 * 1024));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset].iter().filter(|b| **b == b'\n').count() + 1;
        anyhow::anyhow!("{name} is not UTF-8 text (first bad byte at offset {offset}, line {line})")
    })
}

/// A token argument: the token itself when it is one (a JWT is never a file name: reading it
/// as one fails with "File name too long"), else the file (`-` for standard input) it names.
/// Returns what to call it in messages, and its text.
pub fn read_token_arg(arg: &str) -> Result<(String, String)> {
    let is_jwt = arg.starts_with("eyJ") && arg.matches('.').count() == 2 && !arg.contains('/');
    if is_jwt {
        Ok(("the token given".to_owned(), arg.to_owned()))
    } else {
        Ok((display_name(arg).to_owned(), read_source(arg)?))
    }
}

/// `stdin` for `-`, the path otherwise.
pub fn display_name(path: &str) -> &str {
    if path == "-" { "standard input" } else { path }
}

/// Parses a stream into its documents; empty documents are dropped. Errors name `source`,
/// in their first line and in the parser's snippet (`--> bad.yaml:5:11`).
pub fn parse_stream(text: &str, source: &str) -> Result<Vec<Value>> {
    wif_core::yaml::parse_named_stream(text, source).map_err(|e| {
        let document = e.document.map(|n| format!(", document {n}")).unwrap_or_default();
        anyhow::Error::new(e.source).context(format!("{source}{document}: invalid YAML"))
    })
}

/// Writes documents as one stream, `---` between them.
pub fn write_stream(documents: &[Value]) -> Result<String> {
    wif_core::yaml::write_stream(documents).context("cannot write YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_source_and_document() {
        let err = parse_stream("a: 1\n---\nb: 2\n---\nc: [\n", "in.yaml").unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.starts_with("in.yaml, document 3: invalid YAML: error: line 5"),
            "{err}"
        );
        assert!(err.contains("\n --> in.yaml:5:4\n"), "{err}");
    }
}
