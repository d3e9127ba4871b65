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

/// [`error_chain`] for a person at a terminal: the operating system's error numbers are left
/// out (`No such file or directory`, not `No such file or directory (os error 2)`), since the
/// words already say it and the number only sends the reader to a table.
pub fn for_people(error: &dyn std::error::Error) -> String {
    let mut text = without_os_error(&error.to_string());
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&without_os_error(&inner.to_string()));
        source = inner.source();
    }
    text
}

/// `message` without a trailing ` (os error N)`, as `std::io::Error` writes it.
fn without_os_error(message: &str) -> String {
    match message.rsplit_once(" (os error ") {
        Some((words, code))
            if code
                .strip_suffix(')')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            words.to_owned()
        }
        _ => message.to_owned(),
    }
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

    #[test]
    fn people_read_the_words_without_the_os_error_number() {
        let missing = Outer(std::io::Error::from_raw_os_error(2));
        assert!(
            error_chain(&missing).ends_with("(os error 2)"),
            "{}",
            error_chain(&missing)
        );
        assert_eq!(for_people(&missing), "outer: No such file or directory");
        // Only the io::Error's own suffix goes: words that merely mention it stay.
        let quoted = Outer(std::io::Error::other("a message about (os error x)"));
        assert_eq!(for_people(&quoted), "outer: a message about (os error x)");
    }
}
