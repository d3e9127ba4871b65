//! `wif migrate pod-identity` as a process, on the fixtures of docs/research: the manifests it
//! writes are what `wif render` then mutates, the commands are azure-cli's, the report names
//! what needs a person, and a malformed object stops it with nothing written.

use super::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/research/pod-identity-migration/fixtures"
);

#[test]
fn the_migrated_manifests_render_and_the_commands_create_each_credential() {
    let dir = std::env::temp_dir().join(format!("wif-it-migrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (migrated, script) = (dir.join("migrated.yaml"), dir.join("fic.sh"));
    let output = wif(
        &[
            "migrate",
            "pod-identity",
            "-f",
            &format!("{FIXTURES}/identities.yaml"),
            "-f",
            &format!("{FIXTURES}/workloads.yaml"),
            "--issuer-url",
            "https://oidc.example/issuer/",
            "--tenant-id",
            "8f0d6a52-3c2e-4f8b-9d0e-6a1b2c3d4e5f",
            "-o",
            migrated.to_str().unwrap(),
            "--commands",
            script.to_str().unwrap(),
        ],
        b"",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stderr(&output);
    for line in [
        "migrated: Deployment shop/orders-api",
        "migrated: CronJob shop/nightly-report",
        "migrated: StatefulSet shop/catalog-indexer",
        "needs a person: Deployment shop/billing-sync is left as it is",
        "needs a person: identity shop/catalog-writer serves",
        "3 workload(s) migrated, 3 credential(s) to create, 2 item(s) for a person",
    ] {
        assert!(report.contains(line), "{line:?} in {report}");
    }
    let commands = std::fs::read_to_string(&script).unwrap();
    assert_eq!(
        commands.matches("az identity federated-credential create").count(),
        3,
        "{commands}"
    );
    assert!(
        commands.contains("--issuer https://oidc.example/issuer/ --subject system:serviceaccount:shop:orders-api"),
        "{commands}"
    );

    // What the migration wrote is what the webhook mutates: the three workloads, nothing else.
    let rendered = wif(&["render", "-f", migrated.to_str().unwrap()], b"");
    assert!(rendered.status.success(), "{}", stderr(&rendered));
    assert!(
        stderr(&rendered).contains("wif render: 3 of 6 pod templates mutated"),
        "{}",
        stderr(&rendered)
    );
    let text = stdout(&rendered);
    assert_eq!(text.matches("name: AZURE_FEDERATED_TOKEN_FILE").count(), 3, "{text}");
    assert!(text.contains("0b6c1a9e-2f3d-4c5b-8a7e-9d0f1e2a3b4c"));

    // The doctor finds on the result exactly what the migration left to a person, and on the
    // input every labelled workload.
    let findings = |file: &str| {
        let output = wif(
            &[
                "doctor",
                "-f",
                file,
                "--tenant-id",
                "8f0d6a52-3c2e-4f8b-9d0e-6a1b2c3d4e5f",
            ],
            b"",
        );
        stdout(&output)
            .lines()
            .filter(|l| l.starts_with("warning ") || l.starts_with("error "))
            .map(|l| l.split(" [").next().unwrap_or(l).to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        findings(migrated.to_str().unwrap()),
        [
            "warning pod-identity-leftover: Deployment shop/billing-sync",
            "warning client-id-shared: Identity 3e9a7c21-5b4d-4f60-a1e2-7c8d9e0f1a2b",
        ]
    );
    let before = findings(&format!("{FIXTURES}/workloads.yaml"));
    assert_eq!(
        before.iter().filter(|f| f.contains("pod-identity-leftover")).count(),
        4,
        "{before:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_malformed_object_stops_the_migration_naming_it() {
    let bad = "apiVersion: aadpodidentity.k8s.io/v1\nkind: AzureIdentity\nmetadata: {name: reader, namespace: shop}\nspec: {type: \"0\", clientID: x}\n";
    let output = wif(&["migrate", "pod-identity", "-f", "-"], bad.as_bytes());
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(
        error.contains("AzureIdentity shop/reader") && error.contains("spec.type must be an integer"),
        "{error}"
    );
    assert!(stdout(&output).is_empty(), "nothing written: {}", stdout(&output));
}

/// `--apply` against a running `wif up` whose directory holds the shop's identities: the
/// credentials are created through its Graph (once: a second run finds them there), and the
/// migrated ServiceAccount's client id with its projected token gets an access token.
#[test]
fn applied_to_wif_up_the_migrated_workload_gets_a_token() {
    let dir = std::env::temp_dir().join(format!("wif-it-migrate-apply-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("up.yaml");
    std::fs::write(
        &config,
        "tenants:\n- tenantId: 8f0d6a52-3c2e-4f8b-9d0e-6a1b2c3d4e5f\n  applications: [{displayName: local-app, appId: 11111111-0000-4000-8000-000000000001}]\n  userAssignedIdentities:\n  - {name: id-orders-reader, clientId: 0b6c1a9e-2f3d-4c5b-8a7e-9d0f1e2a3b4c}\n  - {name: id-catalog-writer, clientId: 3e9a7c21-5b4d-4f60-a1e2-7c8d9e0f1a2b}\nserviceAccounts:\n- {namespace: default, name: default, clientId: 11111111-0000-4000-8000-000000000001}\n- {namespace: shop, name: orders-api}\n- {namespace: shop, name: catalog-indexer}\n",
    )
    .unwrap();
    let state = dir.join("state").display().to_string();
    let up = super::up::Up::start(&["--state-dir", &state, "--config", config.to_str().unwrap()]);
    let migrate = |extra: &[&str]| {
        let mut args = vec![
            "migrate",
            "pod-identity",
            "-f",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../docs/research/pod-identity-migration/fixtures/identities.yaml"
            ),
            "-f",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../docs/research/pod-identity-migration/fixtures/workloads.yaml"
            ),
            "--apply",
            "--state-dir",
            &state,
        ];
        args.extend_from_slice(extra);
        wif(&args, b"")
    };
    // The migrated orders-api: its new ServiceAccount's client id, its projected token.
    let token_file = format!("{state}/tokens/shop/orders-api");
    assert_eq!(
        super::up::token_in(std::path::Path::new(&token_file))
            .matches('.')
            .count(),
        2
    );
    let env = wif(
        &[
            "up",
            "--state-dir",
            &state,
            "--print-env",
            "--service-account",
            "shop/orders-api",
        ],
        b"",
    );
    assert!(env.status.success(), "{}", stderr(&env));
    let get_token = || {
        let mut token = Command::new(env!("CARGO_BIN_EXE_wif"));
        token.args(["token", "get", "--scope", "https://vault.azure.net/.default"]);
        for line in stdout(&env).lines() {
            if let Some((key, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
                token.env(key, value.trim_matches('\''));
            }
        }
        token
            .env("AZURE_CLIENT_ID", "0b6c1a9e-2f3d-4c5b-8a7e-9d0f1e2a3b4c")
            .output()
            .unwrap()
    };
    let before = get_token();
    assert!(!before.status.success());
    assert!(
        String::from_utf8_lossy(&before.stderr).contains("AADSTS700211"),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );

    // Refused by wif up (an issuer past Entra's 600 characters): each credential is tried and
    // said, the manifests are written all the same, and the run fails.
    let long_issuer = format!("https://issuer.example/{}", "a".repeat(700));
    let written = dir.join("refused.yaml");
    let refused = migrate(&["--issuer-url", &long_issuer, "-o", written.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert_eq!(
        stderr(&refused).matches("not applied: ").count(),
        3,
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains("3 of 3 credential(s) not applied"),
        "{}",
        stderr(&refused)
    );
    assert!(
        std::fs::read_to_string(&written)
            .unwrap()
            .contains("azure.workload.identity/use")
    );

    let first = migrate(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("applied: system:serviceaccount:shop:orders-api on id-orders-reader (shop-orders-api-"),
        "{}",
        stderr(&first)
    );
    let again = migrate(&[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        stderr(&again).matches("applied (already there)").count(),
        3,
        "{}",
        stderr(&again)
    );
    let got = get_token();
    assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim().matches('.').count(), 2);

    drop(up);

    // No wif up on the state directory: --apply says so.
    let stopped = migrate(&[]);
    assert!(!stopped.status.success());
    assert!(stderr(&stopped).contains("no wif up runs on"), "{}", stderr(&stopped));
    let _ = std::fs::remove_dir_all(&dir);
}
