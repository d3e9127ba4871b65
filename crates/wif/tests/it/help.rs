//! What the command line tells people: every command's `--help` ends with examples a user can
//! copy, one whole command a line, and an error reads as words, a YAML error naming its file
//! down to the parser's snippet.

use super::*;

/// How an example line starts: a command a user can paste, or a comment.
const COMMAND_STARTS: &[&str] = &[
    "wif ",
    "export ",
    "eval ",
    "kubectl ",
    "helm ",
    "kustomize ",
    "IDENTITY_HEADER=",
    "#",
];

#[test]
fn every_command_shows_an_example() {
    let commands: &[&[&str]] = &[
        &["demo"],
        &["doctor"],
        &["render"],
        &["jwks"],
        &["migrate", "pod-identity"],
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
        for line in examples.lines() {
            let whole = line
                .strip_prefix("  ")
                .is_some_and(|l| COMMAND_STARTS.iter().any(|start| l.starts_with(start)));
            assert!(
                whole,
                "{command:?}: example line {line:?} is not a whole command (wrapped?):\n{examples}"
            );
        }
    }
}

#[test]
fn yaml_errors_name_the_file_in_the_parsers_snippet_too() {
    let dir = super::issuer::TempDir::new("yaml-names");
    let manifests = dir.path("bad.yaml");
    std::fs::write(&manifests, "kind: Pod\nmetadata:\n  name: x\n  labels:\n    a: [1, 2\n").unwrap();
    let snippet = format!(
        "error: line 5 column 8: unclosed bracket '['\n --> {manifests}:5:8\n  |\n3 |   name: x\n4 |   labels:\n5 |     a: [1, 2\n  |        ^ unclosed bracket '['\n"
    );
    let render = wif(
        &[
            "render",
            "-f",
            &manifests,
            "--tenant-id",
            "aaaaaaaa-0000-4000-8000-00000000000a",
        ],
        b"",
    );
    assert_eq!(
        stderr(&render),
        format!("wif: {manifests}, document 1: invalid YAML: {snippet}")
    );
    let doctor = wif(&["doctor", "-f", &manifests], b"");
    assert_eq!(
        stderr(&doctor),
        format!("wif doctor: {manifests}, document 1: invalid YAML: {snippet}")
    );
    let stdin = wif(
        &["doctor", "-f", "-"],
        b"kind: Pod\nmetadata:\n  name: x\n  labels:\n    a: [1, 2\n",
    );
    assert!(
        stderr(&stdin).contains("\n --> standard input:5:8\n"),
        "{}",
        stderr(&stdin)
    );
    let config = dir.path("directory.yaml");
    std::fs::write(&config, "tenants:\n  - tenantId: [\n").unwrap();
    let sts = wif(&["sts", "--config", &config], b"");
    assert_eq!(
        stderr(&sts),
        format!(
            "wif: {config}: error: line 2 column 15: expected string scalar\n --> {config}:2:15\n  |\n1 | tenants:\n2 |   - tenantId: [\n  |               ^ expected string scalar\n"
        )
    );
    for out in [&render, &doctor, &sts] {
        assert!(!stderr(out).contains("<input>"), "{}", stderr(out));
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
