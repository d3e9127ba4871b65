//! `wif render` as users run it: files and stdin, every workload kind, the flags, and every
//! kind of bad input (each a clear error on stderr, a non-zero exit, nothing on stdout).

use serde_json::Value;

use super::*;

mod advice;
mod tenant;

const TENANT: &str = "--tenant-id=33333333-0000-4000-8000-000000000003";

/// The YAML documents `wif render` wrote.
pub fn parse(text: &str) -> Vec<Value> {
    let mut options = serde_saphyr::options::Options::default();
    options.legacy_octal_numbers = true;
    serde_saphyr::from_str_multiple_with_options(text, options).expect("wif writes valid YAML")
}

fn env_names(container: &Value) -> Vec<String> {
    container["env"]
        .as_array()
        .map(|l| l.iter().filter_map(|e| e["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"].as_array()?.iter().find(|e| e["name"] == name)?["value"].as_str()
}

#[test]
fn renders_every_workload_kind_in_order() {
    let out = wif(&["render", "-f", &fixture("workloads.yaml"), TENANT], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let docs = parse(&stdout(&out));
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap_or("")).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ConfigMap",
            "Pod",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "Job",
            "CronJob",
            "Deployment",
            "Service"
        ]
    );

    let pod = &docs[2]["spec"];
    assert_eq!(
        env_value(&pod["containers"][0], "AZURE_CLIENT_ID"),
        Some("11111111-0000-4000-8000-000000000001")
    );
    assert_eq!(
        pod["volumes"][0]["configMap"]["defaultMode"], 420,
        "0644 is octal, as kubectl reads it"
    );
    assert_eq!(
        pod["volumes"][1]["name"],
        "azure-workload-identity-reserved-5b565a33b80b75dc462328a68cb5b5"
    );

    let web = &docs[3]["spec"]["template"]["spec"];
    let names: Vec<&str> = web["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["azwi-proxy", "web"]);
    assert_eq!(web["initContainers"][0]["name"], "azwi-proxy-init");
    assert_eq!(web["containers"][0]["args"][0], "--proxy-port=8001");
    assert_eq!(env_value(&web["containers"][1], "AZURE_CLIENT_ID"), Some("user-wins"));

    let db = &docs[4]["spec"]["template"]["spec"];
    assert_eq!(
        db["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        7200
    );
    assert!(env_names(&db["initContainers"][0]).contains(&"AZURE_FEDERATED_TOKEN_FILE".to_owned()));

    let agent = &docs[5]["spec"]["template"]["spec"];
    assert!(env_names(&agent["containers"][0]).contains(&"AZURE_TENANT_ID".to_owned()));
    assert!(agent["containers"][1].get("env").is_none(), "helper is skipped");

    for (i, path) in [
        (6, &["spec", "template"][..]),
        (7, &["spec", "template"][..]),
        (8, &["spec", "jobTemplate", "spec", "template"][..]),
    ] {
        let mut t = &docs[i];
        for token in path {
            t = &t[*token];
        }
        assert!(
            env_names(&t["spec"]["containers"][0]).contains(&"AZURE_AUTHORITY_HOST".to_owned()),
            "document {i}"
        );
    }
    assert!(
        docs[9]["spec"]["template"]["spec"]["containers"][0]
            .get("env")
            .is_none(),
        "not opted in"
    );
    assert_eq!(docs[1]["data"]["mode"], "0644", "strings stay strings");
    assert_eq!(docs[1]["data"]["enabled"], "true");
}

#[test]
fn stdin_to_stdout_like_a_helm_post_renderer_and_idempotent() {
    let input = std::fs::read(fixture("workloads.yaml")).unwrap();
    let first = wif(&["render", "-f", "-", TENANT], &input);
    assert!(first.status.success(), "{}", stderr(&first));
    let second = wif(&["render", "-f", "-", TENANT], &first.stdout);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        stdout(&first),
        stdout(&second),
        "rendering rendered output changes nothing"
    );
}

#[test]
fn settings_flags_shape_the_mutation() {
    let out = wif(
        &[
            "render",
            "-f",
            &fixture("workloads.yaml"),
            TENANT,
            "--token-layout",
            "legacy",
            "--authority-host",
            "https://127.0.0.1:8443",
            "--audience",
            "api://custom",
            "--native-sidecar",
            "--proxy-image",
            "example.com/proxy:9",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let docs = parse(&stdout(&out));
    let web = &docs[3]["spec"]["template"]["spec"];
    assert_eq!(web["initContainers"][0]["name"], "azwi-proxy");
    assert_eq!(web["initContainers"][0]["restartPolicy"], "Always");
    assert_eq!(web["initContainers"][0]["image"], "example.com/proxy:9");
    let c = &web["containers"][0];
    assert_eq!(
        env_value(c, "AZURE_FEDERATED_TOKEN_FILE"),
        Some("/var/run/secrets/azure/tokens/azure-identity-token")
    );
    assert_eq!(env_value(c, "AZURE_AUTHORITY_HOST"), Some("https://127.0.0.1:8443/"));
    assert_eq!(web["volumes"][0]["name"], "azure-identity-token");
    assert_eq!(
        web["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["audience"],
        "api://custom"
    );

    let china = wif(
        &[
            "render",
            "-f",
            &fixture("workloads.yaml"),
            TENANT,
            "--azure-environment",
            "AzureChinaCloud",
        ],
        b"",
    );
    assert!(stdout(&china).contains("https://login.chinacloudapi.cn/"));
}

#[test]
fn service_accounts_from_a_side_file() {
    let manifests = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team, labels: {azure.workload.identity/use: \"true\"}}\nspec: {serviceAccountName: sa, containers: [{name: c, image: i}]}\n";
    let dir = std::env::temp_dir().join(format!("wif-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sas = dir.join("sas.yaml");
    std::fs::write(&sas, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, namespace: team, annotations: {azure.workload.identity/client-id: 44444444-0000-4000-8000-000000000004}}\n").unwrap();
    let out = wif(
        &["render", "-f", "-", TENANT, "--service-accounts", sas.to_str().unwrap()],
        manifests.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let docs = parse(&stdout(&out));
    assert_eq!(docs.len(), 1, "side-file accounts are not written out");
    assert_eq!(
        env_value(&docs[0]["spec"]["containers"][0], "AZURE_CLIENT_ID"),
        Some("44444444-0000-4000-8000-000000000004")
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn missing_service_account_is_an_error_unless_allowed() {
    let manifests = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team, labels: {azure.workload.identity/use: \"true\"}}\nspec: {serviceAccountName: ghost, containers: [{name: c, image: i}]}\n";
    let out = wif(&["render", "-f", "-", TENANT], manifests.as_bytes());
    assert!(!out.status.success());
    assert!(stdout(&out).is_empty(), "nothing half-rendered on stdout");
    let err = stderr(&out);
    assert!(
        err.contains("error: document 1, Pod team/p: ServiceAccount team/ghost is not in the input"),
        "{err}"
    );
    let allowed = wif(
        &["render", "-f", "-", TENANT, "--allow-missing-service-accounts"],
        manifests.as_bytes(),
    );
    assert!(allowed.status.success(), "{}", stderr(&allowed));
    assert!(stderr(&allowed).contains("warning: document 1, Pod team/p"));
    assert!(stdout(&allowed).contains("AZURE_FEDERATED_TOKEN_FILE"));
}

#[test]
fn warnings_and_denials_name_the_object() {
    let sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, namespace: ns, annotations: {azure.workload.identity/client_id: x}}\n---\n";
    let ok = format!(
        "{sa}apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: ns, labels: {{azure.workload.identity/use: \"true\"}}}}\nspec: {{serviceAccountName: sa, containers: [{{name: c, image: i}}]}}\n"
    );
    let out = wif(&["render", "-f", "-", TENANT], ok.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning: document 2, Pod ns/p: ServiceAccount ns/sa: annotation \"azure.workload.identity/client_id\" is not read by the webhook; did you mean \"azure.workload.identity/client-id\"?"), "{}", stderr(&out));

    let denied = ok.replace(
        "labels:",
        "annotations: {azure.workload.identity/service-account-token-expiration: \"60\"}, labels:",
    );
    let out = wif(&["render", "-f", "-", TENANT], denied.as_bytes());
    assert!(!out.status.success());
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains(
            "denied: document 2, Pod ns/p: token expiration 60 not valid. Expected value to be between 3600 and 86400"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_input_gets_a_clear_error_never_a_panic() {
    let cases: &[(&[u8], &str)] = &[
        (b"a: [1, 2\n", "standard input, document 1: invalid YAML"),
        (b"kind: ServiceAccount\nmetadata: {name: a}\n---\nmetadata: {name: x}\n", "document 2: the document has no kind"),
        (b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: [1]}\n", "document 1 (Deployment default/d): the pod template (spec.template) must be a map"),
        (b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {azure.workload.identity/use: \"true\"}}\nspec: {containers: {}}\n", "denied: document 1, Pod default/p: invalid pod: spec.containers: invalid type: object, expected a list"),
        (b"- just\n- a list\n", "document 1: a Kubernetes object must be a map"),
        (b"kind: Pod\nmetadata: {name: \"\xff\xfe\"}\n", "standard input is not UTF-8 text (first bad byte at offset 28, line 2)"),
        (b"kind: ServiceAccount\nmetadata: {name: a, annotations: {x: 1}}\n", "annotation \"x\" must be a string"),
    ];
    for (input, expected) in cases {
        let out = wif(&["render", "-f", "-", TENANT], input);
        let err = stderr(&out);
        assert!(!out.status.success(), "{expected}: succeeded");
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(stdout(&out).is_empty(), "{expected}");
    }
}

#[test]
fn setup_errors_are_clear() {
    let input = std::fs::read(fixture("workloads.yaml")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["render", "-f", "-", TENANT, "--azure-environment", "InvalidCloud"],
            "failed to get AAD endpoint",
        ),
        (
            &["render", "-f", "-", TENANT, "--authority-host", "http://x"],
            "must start with https://",
        ),
        (
            &["render", "-f", "/nonexistent/file.yaml", TENANT],
            "cannot open /nonexistent/file.yaml",
        ),
        (
            &[
                "render",
                "-f",
                "-",
                TENANT,
                "--custom-token-endpoint-audience",
                "api://x",
            ],
            "annotation suffix cannot be empty",
        ),
    ];
    for (args, expected) in cases {
        let out = wif(args, &input);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn opt_ins_that_miss_are_warned_about_summed_up_and_fail_strict_runs() {
    let file = fixture("opt-in-near-misses.yaml");
    let out = wif(&["render", "-f", &file, TENANT], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "warning: document 2, Deployment ns/a: the label azure.workload.identity/use is on the object's own metadata, not on its pod template",
        "warning: document 3, Deployment ns/b: label \"azure.workload.identity/used\" is not \"azure.workload.identity/use\"",
        "warning: document 4, Deployment ns/c: label azure.workload.identity/use is \"True\", and the webhook matches only \"true\"",
        "warning: document 5, Pod ns/d: azure.workload.identity/use is an annotation of the pod template; it must be a label",
        "wif render: 1 of 5 pod templates mutated\n",
    ] {
        assert!(err.contains(expected), "{expected:?} in\n{err}");
    }
    assert_eq!(parse(&stdout(&out)).len(), 6, "every document written");
    let strict = wif(&["render", "-f", &file, TENANT, "--strict"], b"");
    assert!(!strict.status.success());
    assert!(
        stderr(&strict).ends_with("wif: nothing was written: --strict fails on the warnings above\n"),
        "{}",
        stderr(&strict)
    );
    assert_eq!(stdout(&strict), "");
    // The doctor says the same, rule by rule.
    let doctor = wif(&["doctor", "-f", &file, "-o", "json"], b"");
    let report: Value = serde_json::from_str(&stdout(&doctor)).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    for rule in ["label-on-workload", "label-typo", "label-value", "label-as-annotation"] {
        assert!(rules.contains(&rule), "{rule} in {rules:?}");
    }
}

#[test]
fn log_levels_are_checked_and_logs_to_a_pipe_carry_no_colour() {
    let loud = wif(
        &[
            "--log-level",
            "loud",
            "render",
            "-f",
            &fixture("workloads.yaml"),
            TENANT,
        ],
        b"",
    );
    assert_eq!(loud.status.code(), Some(2));
    assert!(
        stderr(&loud).starts_with("wif: --log-level \"loud\" is neither a level"),
        "{}",
        stderr(&loud)
    );
    for level in ["", "all", "INFO", "wif=debug,warn"] {
        let out = wif(
            &["--log-level", level, "render", "-f", &fixture("workloads.yaml"), TENANT],
            b"",
        );
        assert!(out.status.success(), "{level:?}: {}", stderr(&out));
    }
    let logged = wif(
        &[
            "--log-level",
            "info",
            "render",
            "-f",
            &fixture("workloads.yaml"),
            TENANT,
        ],
        b"",
    );
    let err = stderr(&logged);
    assert!(err.contains("INFO") && err.contains("rendered"), "{err}");
    assert!(!err.contains('\u{1b}'), "ANSI codes in logs written to a pipe: {err:?}");
}

#[test]
fn a_missing_service_account_names_the_closest_one() {
    let manifests = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api-sa, namespace: ns}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns, labels: {azure.workload.identity/use: \"true\"}}\nspec: {serviceAccountName: api-as, containers: [{name: c, image: i}]}\n";
    let out = wif(&["render", "-f", "-", TENANT], manifests.as_bytes());
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("ServiceAccount ns/api-as is not in the input; did you mean ns/api-sa?"),
        "{}",
        stderr(&out)
    );
    let far = manifests.replace("api-as", "payments-worker");
    let out = wif(&["render", "-f", "-", TENANT], far.as_bytes());
    assert!(
        !stderr(&out).contains("did you mean"),
        "no guess when nothing is close: {}",
        stderr(&out)
    );
}
