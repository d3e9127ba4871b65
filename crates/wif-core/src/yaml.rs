//! Multi-document YAML streams of Kubernetes objects, read with the rules kubectl applies
//! (go-yaml v2: `0644` is octal, `yes`/`on` are booleans) and within budgets that keep an
//! alias bomb or a runaway stream from exhausting memory; and written back. Pure: text in,
//! documents out. Reading files is the CLI's; naming them in the parser's words is
//! [`NamedError`]'s, here, for every YAML file wif reads (manifests, credential files, the
//! emulator's config and state).

use serde_json::Value;

/// The name serde-saphyr gives a text it was not told the name of.
pub const UNNAMED: &str = "<input>";

/// A parser error that names the text it came from: the parser's words and snippet, the
/// snippet's header naming the file (`--> bad.yaml:5:11`) where serde-saphyr would write
/// `<input>`, through its own renderer (`source_name`), so nothing of its text is rewritten.
///
/// It stands for the parser's error in a chain: its text is that error's, and its cause is
/// that error's cause.
#[derive(Debug)]
pub struct NamedError {
    name: String,
    // Boxed: it is large, and errors are the rare path.
    error: Box<serde_saphyr::Error>,
}

impl NamedError {
    /// `error`, met while parsing the text called `name` (a path, `standard input`).
    pub fn new(name: impl Into<String>, error: serde_saphyr::Error) -> Self {
        NamedError {
            name: name.into(),
            error: Box::new(error),
        }
    }

    /// The name of the text.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parser's error itself (its location, its kind).
    pub fn parser_error(&self) -> &serde_saphyr::Error {
        &self.error
    }
}

impl std::fmt::Display for NamedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.render_to(
            f,
            serde_saphyr::render_options! {
                source_name: Some(self.name.as_str()),
            },
        )
    }
}

impl std::error::Error for NamedError {
    // The parser's error is this one's text, so the chain goes on from its cause.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.error.as_ref())
    }
}

/// A stream that is not YAML, or is over budget.
#[derive(Debug, thiserror::Error)]
#[error("{}invalid YAML", document.map(|n| format!("document {n}: ")).unwrap_or_default())]
pub struct YamlError {
    /// The 1-based document it happened in, when the parser says where.
    pub document: Option<usize>,
    /// The parser's error, naming the text.
    #[source]
    pub source: NamedError,
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

/// Parses a stream into its documents; empty documents are dropped. Errors call the text
/// `<input>`; [`parse_named_stream`] names it.
pub fn parse_stream(text: &str) -> Result<Vec<Value>, YamlError> {
    parse_named_stream(text, UNNAMED)
}

/// Parses the stream called `name` (a path, `standard input`) into its documents; empty
/// documents are dropped. Errors name it in the parser's snippet.
pub fn parse_named_stream(text: &str, name: &str) -> Result<Vec<Value>, YamlError> {
    serde_saphyr::from_str_multiple_with_options::<Value, Vec<Value>>(text, options()).map_err(|source| YamlError {
        document: source.location().map(|l| document_number_at_line(text, l.line())),
        source: NamedError::new(name, source),
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

    #[test]
    fn the_snippet_names_the_file() {
        let text = "kind: Pod\nmetadata:\n  name: x\n  labels:\n    a: [1, 2\n";
        let named = parse_named_stream(text, "bad.yaml").unwrap_err();
        assert_eq!(named.source.name(), "bad.yaml");
        assert_eq!(
            named.source.to_string(),
            "error: line 5 column 8: unclosed bracket '['\n --> bad.yaml:5:8\n  |\n3 |   name: x\n4 |   labels:\n5 |     a: [1, 2\n  |        ^ unclosed bracket '['"
        );
        // Unnamed, the parser's own words, unchanged.
        let unnamed = parse_stream(text).unwrap_err();
        assert_eq!(unnamed.source.to_string(), named.source.parser_error().to_string());
        assert!(unnamed.source.to_string().contains(" --> <input>:5:8\n"));
        // Typed documents too: the same wrapper around any of the parser's errors.
        let typed = serde_saphyr::from_str::<u16>("eighty\n").unwrap_err();
        let typed = NamedError::new("port.yaml", typed).to_string();
        assert!(typed.contains(" --> port.yaml:1:1"), "{typed}");
    }
}
