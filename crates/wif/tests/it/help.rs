//! What the command line tells people: every command's `--help` ends with examples a user can
//! copy, and an error reads as words.

use super::*;

#[test]
fn every_command_shows_an_example() {
    let commands: &[&[&str]] = &[
        &["demo"],
        &["doctor"],
        &["render"],
        &["jwks"],
        &["issuer", "keygen"],
        &["issuer", "discovery"],
        &["issuer", "mint"],
        &["issuer", "verify"],
        &["issuer", "serve"],
        &["sts"],
        &["proxy"],
        &["proxy", "init"],
        &["token", "get"],
        &["token", "inspect"],
        &["up"],
        &["webhook"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = wif(&args, b"");
        assert!(out.status.success(), "{command:?}: {}", stderr(&out));
        let help = stdout(&out);
        let examples = help.split("\nExamples:\n").nth(1).unwrap_or_default();
        assert!(
            examples
                .lines()
                .next()
                .is_some_and(|l| l.trim_start().starts_with("wif ") || l.contains(" wif ")),
            "{command:?} shows no example:\n{help}"
        );
        assert!(
            help.contains("\nGlobal options:\n"),
            "{command:?}: global flags under their own heading"
        );
    }
}

#[test]
fn a_missing_file_is_named_in_words_without_the_os_error_number() {
    let out = wif(
        &[
            "render",
            "-f",
            "/nonexistent/wif-input.yaml",
            "--tenant-id",
            "aaaaaaaa-0000-4000-8000-00000000000a",
        ],
        b"",
    );
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "wif: cannot open /nonexistent/wif-input.yaml: No such file or directory\n"
    );
}
