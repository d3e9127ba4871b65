//! How an error and its causes read as one line, for logs and diagnoses
//! (`outer: cause: root cause`); HTTP clients hide the useful part in the causes.

/// The error's message followed by each cause's, separated by `": "`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_follow_the_message() {
        let error = Outer(std::io::Error::other("refused"));
        assert_eq!(error_chain(&error), "outer: refused");
    }
}
