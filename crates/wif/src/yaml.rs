//! Reading and writing multi-document YAML streams of Kubernetes objects, with the YAML
//! rules kubectl applies (go-yaml v2: `0644` is octal, `yes`/`on` are booleans), limits on
//! input size, and errors that name the source, the document and the line.

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

/// `stdin` for `-`, the path otherwise.
pub fn display_name(path: &str) -> &str {
    if path == "-" { "standard input" } else { path }
}

fn options() -> serde_saphyr::options::Options {
    let mut options = serde_saphyr::options::Options::default();
    options.legacy_octal_numbers = true;
    // The default budget (1,024 documents, 250k nodes) is too small for a rendered platform
    // or a ServiceAccounts file of a large cluster; these limits match MAX_INPUT_BYTES. The
    // alias and anchor limits (billion-laughs protection) stay as they are.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 200_000;
    budget.max_nodes = 20_000_000;
    budget.max_events = 40_000_000;
    options.budget = Some(budget);
    options
}

/// Parses a stream into its documents; empty documents are dropped.
pub fn parse_stream(text: &str, source: &str) -> Result<Vec<Value>> {
    serde_saphyr::from_str_multiple_with_options::<Value, Vec<Value>>(text, options()).map_err(|e| {
        let document = e
            .location()
            .map(|l| document_number_at_line(text, l.line()))
            .map(|n| format!(", document {n}"))
            .unwrap_or_default();
        anyhow::anyhow!("{source}{document}: invalid YAML: {e}")
    })
}

/// The 1-based number of the document that contains `line` (1-based), counting `---`
/// markers at the start of a line; a marker on the first content line opens document 1.
fn document_number_at_line(text: &str, line: u64) -> usize {
    let mut document = 1;
    let mut seen_content = false;
    for (i, l) in text.lines().enumerate() {
        if (i as u64) + 1 >= line {
            break;
        }
        if l == "---" || l.starts_with("--- ") {
            if seen_content {
                document += 1;
            }
            seen_content = true;
        } else if !l.trim().is_empty() && !l.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    document
}

/// Writes documents as one stream, `---` between them.
pub fn write_stream(documents: &[Value]) -> Result<String> {
    let mut out = String::new();
    for (i, doc) in documents.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let text = serde_saphyr::to_string(doc).context("cannot write YAML")?;
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kubectl_yaml_rules() {
        let docs = parse_stream("a: 0644\nb: \"0644\"\nc: yes\n---\n---\nd: 1\n", "t").unwrap();
        assert_eq!(
            docs,
            vec![json!({ "a": 420, "b": "0644", "c": true }), json!({ "d": 1 })]
        );
    }

    #[test]
    fn round_trip_keeps_ambiguous_strings_strings() {
        let docs = vec![
            json!({ "use": "true", "port": "8080", "mode": "0644", "on": "on", "empty": "", "multi": "a\nb\n" }),
            json!({ "x": 1 }),
        ];
        let text = write_stream(&docs).unwrap();
        assert_eq!(parse_stream(&text, "t").unwrap(), docs);
    }

    #[test]
    fn large_streams_parse() {
        let text: String = (0..5000)
            .map(|i| format!("---\nkind: ServiceAccount\nmetadata: {{name: sa-{i}}}\n"))
            .collect();
        assert_eq!(parse_stream(&text, "t").unwrap().len(), 5000);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        assert!(parse_stream(bomb, "t").is_err());
    }

    #[test]
    fn errors_name_source_and_document() {
        let err = parse_stream("a: 1\n---\nb: 2\n---\nc: [\n", "in.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("in.yaml, document 3: invalid YAML"), "{err}");
        assert!(err.contains("line 5"), "{err}");
    }
}
