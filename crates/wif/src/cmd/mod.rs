//! One module per command: its clap flags, what it prints and its exit code; the work itself is
//! the library crates'. Flag groups several commands share are [`service_args`] (listeners,
//! TLS, client limits) and [`settings_args`] (the webhook's settings).

/// A command's `help_template`: clap's own layout, then `Examples:` with one whole command a
/// line. Examples live in the template's literal text because clap wraps `after_help` to the
/// terminal, cutting a command in two and breaking copy-paste; the template is not wrapped.
macro_rules! help_with_examples {
    ($($line:literal),+ $(,)?) => {
        concat!(
            "{before-help}{about-with-newline}\n{usage-heading} {usage}\n\n{all-args}{after-help}\n\nExamples:",
            $("\n  ", $line),+
        )
    };
}
pub(crate) use help_with_examples;

pub mod demo;
pub mod doctor;
pub mod issuer;
pub mod jwks;
pub mod migrate;
pub mod proxy;
pub mod render;
pub mod service_args;
pub mod settings_args;
pub mod sts;
pub mod token;
pub mod up;
pub mod webhook;
