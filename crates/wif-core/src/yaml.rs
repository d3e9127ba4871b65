//! Multi-document YAML streams of Kubernetes objects, read with the rules kubectl applies
//! (go-yaml v2: `0644` is octal, `yes`/`on` are booleans) and within budgets that keep an
//! alias bomb or a runaway stream from exhausting memory; and written back. Pure: text in,
//! documents out. Reading files and naming the source is the CLI's.

use serde_json::Value;

/// A stream that is not YAML, or is over budget.
#[derive(Debug, thiserror::Error)]
#[error("{}invalid YAML", document.map(|n| format!("document {n}: ")).unwrap_or_default())]
pub struct YamlError {
    /// The 1-based document it happened in, when the parser says where.
    pub document: Option<usize>,
    /// The parser's error (boxed: it is large, and errors are the rare path).
    #[source]
    pub source: Box<serde_saphyr::Error>,
}

/// The parser's options: kubectl's rules, and budgets sized for large rendered platforms.
pub fn options() -> serde_saphyr::options::Options {
    let mut options = serde_saphyr::options::Options::default();
    options.legacy_octal_numbers = true;
    // The default budget (1,024 documents, 250k nodes) is too small for a rendered platform
    // or a ServiceAccounts file of a large cluster; these limits match a 64 MiB input. The
    // alias and anchor limits (billion-laughs protection) stay as they are.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 200_000;
    budget.max_nodes = 20_000_000;
    budget.max_events = 40_000_000;
    options.budget = Some(budget);
    options
}

/// Parses a stream into its documents; empty documents are dropped.
pub fn parse_stream(text: &str) -> Result<Vec<Value>, YamlError> {
    serde_saphyr::from_str_multiple_with_options::<Value, Vec<Value>>(text, options()).map_err(|source| YamlError {
        document: source.location().map(|l| document_number_at_line(text, l.line())),
        source: Box::new(source),
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
pub fn write_stream(documents: &[Value]) -> Result<String, serde_saphyr::ser::Error> {
    let mut out = String::new();
    for (i, doc) in documents.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let text = serde_saphyr::to_string(doc)?;
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
        let docs = parse_stream("a: 0644\nb: \"0644\"\nc: yes\n---\n---\nd: 1\n").unwrap();
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
        assert_eq!(parse_stream(&text).unwrap(), docs);
    }

    #[test]
    fn large_streams_parse() {
        let text: String = (0..5000)
            .map(|i| format!("---\nkind: ServiceAccount\nmetadata: {{name: sa-{i}}}\n"))
            .collect();
        assert_eq!(parse_stream(&text).unwrap().len(), 5000);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        let refused = parse_stream(bomb).unwrap_err();
        let words = crate::error_text::error_chain(&refused);
        assert!(words.contains("alias") || words.contains("budget"), "{words}");
    }

    #[test]
    fn errors_name_the_document_and_line() {
        let err = parse_stream("a: 1\n---\nb: 2\n---\nc: [\n").unwrap_err();
        assert_eq!(err.document, Some(3));
        let words = crate::error_text::error_chain(&err);
        assert!(words.starts_with("document 3: invalid YAML: "), "{words}");
        assert!(words.contains("line 5"), "{words}");
    }
}
