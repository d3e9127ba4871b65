//! `wif doctor` as users run it: files, directories and standard input; exit 0, 1 and 2; the
//! JSON report's schema pinned; every kind of unreadable input named with its file. A real
//! issuer fetched for `--check-issuer` is [`issuer`]'s, what was not checked [`coverage`]'s.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::issuer::{TempDir, ok};
use super::*;

mod coverage;
mod issuer;
mod placement;

const CLIENT: &str = "11111111-0000-4000-8000-000000000001";

fn doctor(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    wif(&all, stdin)
}

#[test]
fn helm_output_with_unrelated_kinds_and_its_credentials_gives_no_finding() {
    let helm = std::fs::read(fixture("doctor/helm-output.yaml")).unwrap();
    let directory = fixture("doctor/directory.yaml");
    let out = doctor(
        &[
            "-f",
            "-",
            "--federated-credentials",
            &directory,
            "--issuer-url",
            "https://oidc.example/cluster/",
        ],
        &helm,
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    // Nothing found; the issuer was not fetched, and no webhook configuration was given.
    assert_eq!(
        stdout(&out),
        "no findings in what was checked; not checked:\n  \
the issuer's discovery document and keys, which Entra ID fetches (issuer-* rules): pass --check-issuer, with --issuer-url URL or --token FILE\n  \
whether the API server calls the webhook for these pods (webhook-* rules): pass --cluster, or the MutatingWebhookConfiguration with the manifests\n"
    );
    // A directory of manifests reads the same.
    let out = doctor(
        &[
            "-f",
            &fixture("doctor"),
            "--federated-credentials",
            &directory,
            "--issuer-url",
            "https://oidc.example/cluster/",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn the_json_report_has_a_stable_schema() {
    let helm = String::from_utf8(std::fs::read(fixture("doctor/helm-output.yaml")).unwrap())
        .unwrap()
        .replace("system:serviceaccount:payments:api-sa", "unused");
    let moved = std::fs::read_to_string(fixture("doctor/directory.yaml"))
        .unwrap()
        .replace(
            "system:serviceaccount:payments:api-sa",
            "system:serviceaccount:payment:api-sa",
        );
    let dir = TempDir::new("doctor-json");
    std::fs::write(dir.path("directory.yaml"), moved).unwrap();
    let out = doctor(
        &[
            "-f",
            "-",
            "--federated-credentials",
            &dir.path("directory.yaml"),
            "--issuer-url",
            "https://oidc.example/cluster/",
            "--output",
            "json",
        ],
        helm.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1), "an error finding: exit 1; {}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        report,
        json!({
            "schemaVersion": 1,
            "findings": [{
                "rule": "fic-subject",
                "severity": "error",
                "object": {
                    "kind": "FederatedIdentityCredential",
                    "namespace": "",
                    "name": format!("payments-api-sa (on managed identity 'payments-api' in tenant aaaaaaaa-0000-4000-8000-00000000000a, client id {CLIENT})"),
                    "source": null,
                    "document": null
                },
                "message": "Deployment payments/api: closest federated identity credential is 'payments-api-sa': its subject is 'system:serviceaccount:payment:api-sa' but the token's sub is 'system:serviceaccount:payments:api-sa' (the namespace is 'payment' in the credential but 'payments' in the token)",
                "why": "The credential's subject must be system:serviceaccount:NAMESPACE:NAME of the pod's ServiceAccount, exactly (AADSTS700213).",
                "fix": "in credential 'payments-api-sa', set the subject to `system:serviceaccount:payments:api-sa`"
            }],
            "summary": {"errors": 1, "warnings": 0}
        })
    );
    // The same in text, for a person.
    let text = doctor(
        &[
            "-f",
            "-",
            "--federated-credentials",
            &dir.path("directory.yaml"),
            "--issuer-url",
            "https://oidc.example/cluster/",
        ],
        helm.as_bytes(),
    );
    let text = stdout(&text);
    assert!(
        text.starts_with("error fic-subject: FederatedIdentityCredential payments-api-sa"),
        "{text}"
    );
    assert!(
        text.contains(
            "\n  fix:  in credential 'payments-api-sa', set the subject to `system:serviceaccount:payments:api-sa`\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "\n1 error(s), 0 warning(s) in what was checked; not checked:\n  the issuer's discovery document"
        ),
        "{text}"
    );
}

#[test]
fn warnings_alone_exit_0_and_name_file_and_document() {
    let manifests = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: ns, labels: {azure.workload.identity/use: \"true\"}}\n";
    let out = doctor(&["-f", "-"], manifests.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out)
            .starts_with("warning label-on-service-account: ServiceAccount ns/a [standard input, document 1]\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unreadable_input_exits_2_with_the_file_named() {
    let dir = TempDir::new("doctor-bad");
    std::fs::write(dir.path("bad.yaml"), "kind: Pod\nmetadata: [\n").unwrap();
    std::fs::write(dir.path("binary.yaml"), [0x6b, 0x3a, 0xff, 0xfe, 0x0a]).unwrap();
    std::fs::write(dir.path("fics.json"), r#"{"credentials": 3}"#).unwrap();
    // A cluster nobody serves: a loopback port with nothing listening.
    let nobody = format!(
        "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"https://127.0.0.1:{}\"}}}}]\nusers: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\n",
        free_port()
    );
    std::fs::write(dir.path("nobody.kubeconfig"), nobody).unwrap();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![
                "--cluster".into(),
                "--kubeconfig".into(),
                dir.path("missing.kubeconfig"),
            ],
            format!("cannot read the kubeconfig {}", dir.path("missing.kubeconfig")),
        ),
        (
            vec!["--cluster".into(), "--kubeconfig".into(), dir.path("nobody.kubeconfig")],
            format!(
                "cannot list ServiceAccounts at the cluster of {}",
                dir.path("nobody.kubeconfig")
            ),
        ),
        (
            vec!["-f".into(), dir.path("bad.yaml")],
            format!("{}, document 1: invalid YAML", dir.path("bad.yaml")),
        ),
        (
            vec!["-f".into(), dir.path("binary.yaml")],
            format!("{} is not UTF-8 text", dir.path("binary.yaml")),
        ),
        (
            vec!["-f".into(), dir.path("missing.yaml")],
            format!("cannot open {}", dir.path("missing.yaml")),
        ),
        (
            vec![
                "--federated-credentials".into(),
                format!("{CLIENT}={}", dir.path("fics.json")),
            ],
            format!(
                "{}: entry 1 is not a federated identity credential",
                dir.path("fics.json")
            ),
        ),
        (
            vec![
                "--federated-credentials".into(),
                format!("not-a-guid={}", dir.path("fics.json")),
            ],
            "\"not-a-guid\" is not a client id (a GUID); write CLIENT_ID=FILE".into(),
        ),
        (
            vec!["--token".into(), dir.path("bad.yaml")],
            format!("{} is not a JWT", dir.path("bad.yaml")),
        ),
        (vec![], "nothing to check".into()),
        (vec!["--check-issuer".into()], "nothing to check".into()),
        (
            vec!["--issuer-url".into(), "https://x/".into()],
            "nothing to check: pass manifests (-f PATH or -f -), --cluster, --federated-credentials FILE, --token FILE or --issuer-url URL --check-issuer".into(),
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = doctor(&args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("wif doctor: "), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&expected),
            "{args:?}: {} lacks {expected:?}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    let invalid = doctor(&["-f", &dir.path("bad.yaml")], b"");
    assert!(
        stderr(&invalid).contains("line 2"),
        "the YAML error names the line: {}",
        stderr(&invalid)
    );
    let usage = doctor(&["--output", "xml"], b"");
    assert_eq!(usage.status.code(), Some(2), "bad usage");
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn token_inspect_says_the_doctors_words() {
    let dir = TempDir::new("doctor-inspect");
    ok(&["issuer", "keygen", "--out", &dir.path("sa.key")]);
    ok(&[
        "issuer",
        "mint",
        "--key",
        &dir.path("sa.key"),
        "--issuer",
        "https://oidc.example/cluster/",
        "--namespace",
        "payments",
        "--service-account",
        "api",
        "--out",
        &dir.path("token"),
    ]);
    let credentials = fixture("doctor/directory.yaml");
    let inspected = ok(&[
        "token",
        "inspect",
        &dir.path("token"),
        "--federated-credentials",
        &credentials,
    ]);
    // The token itself where a file is expected: read as the token, not as a file name.
    let jwt = std::fs::read_to_string(dir.path("token")).unwrap();
    let given = doctor(
        &[
            "--token",
            jwt.trim(),
            "--federated-credentials",
            &credentials,
            "-o",
            "json",
        ],
        b"",
    );
    assert_eq!(given.status.code(), Some(1), "{}", stderr(&given));
    assert!(!stderr(&given).contains("too long"), "{}", stderr(&given));
    let out = doctor(
        &[
            "--token",
            &dir.path("token"),
            "--federated-credentials",
            &credentials,
            "-o",
            "json",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let message = report["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("(the service account is 'api-sa' in the credential but 'api' in the token)"),
        "{message}"
    );
    assert!(inspected.contains(message), "inspect:\n{inspected}\ndoctor: {message}");
}

#[test]
fn a_reader_that_stops_reading_ends_the_run_quietly() {
    use std::io::Read;
    // A report far larger than a pipe's buffer, read for ten bytes only (`wif doctor | head`).
    let pods: String = (0..2000)
        .map(|i| format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: ns, labels: {{azure.workload.identity/use: \"true\"}}}}\nspec: {{serviceAccountName: gone{i}, containers: [{{name: c, image: i}}]}}\n"))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wif"))
        .args(["doctor", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), pods.as_bytes()).unwrap();
    let mut head = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The read end is closed here; the rest of the report meets a closed pipe.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn a_port_in_use_is_said_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = TempDir::new("port-in-use");
    ok(&["issuer", "keygen", "--out", &dir.path("sa.key")]);
    let out = wif(
        &[
            "issuer",
            "serve",
            "--key",
            &dir.path("sa.key"),
            "--issuer",
            "https://127.0.0.1:1/",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--health-addr",
            "127.0.0.1:0",
            "--self-signed-ca-out",
            &dir.path("ca.pem"),
        ],
        b"",
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{err}");
    assert_eq!(
        err.matches("Address already in use").count(),
        1,
        "the OS error once: {err}"
    );
    assert!(!err.contains("os error"), "in words, without its number: {err}");
}
