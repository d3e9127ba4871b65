//! What `wif up` prints (issue 26): `--print-env` for a ServiceAccount without a clientId
//! (its token file, tenant and CA, no client id), and the ready banner listing every
//! ServiceAccount's token file; and (issue 36) the printing flags of a second shell following
//! the running instance's config. The configs are docs/up.md's own `tutorial.yaml` and
//! `wif.yaml`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// A fresh directory for one test, holding docs/up.md's `tutorial.yaml`; the state directory
/// is `DIR/state` (not made: `wif up` makes it).
fn tutorial(name: &str) -> (PathBuf, String, String) {
    let dir = std::env::temp_dir().join(format!("wif-it-up-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tutorial.yaml");
    std::fs::write(&config, from_docs("cat > tutorial.yaml <<'EOF'\n", "EOF\n")).unwrap();
    let state = dir.join("state").display().to_string();
    (dir, state, config.display().to_string())
}

/// The text of docs/up.md between `start` and the next `end`.
fn from_docs(start: &str, end: &str) -> String {
    let page = std::fs::read_to_string(format!("{}/../../docs/up.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let from = page.find(start).unwrap_or_else(|| panic!("docs/up.md shows {start:?}")) + start.len();
    let length = page[from..].find(end).unwrap();
    page[from..from + length].to_owned()
}

/// The emulator's and the proxy's ports and the proxy's secret, from the state directory.
fn kept(state: &str) -> (u64, u64, String) {
    let text = std::fs::read_to_string(Path::new(state).join("state.json")).unwrap();
    let ports: serde_json::Value = serde_json::from_str(&text).unwrap();
    (
        ports["stsPort"].as_u64().unwrap(),
        ports["proxyPort"].as_u64().unwrap(),
        ports["identityHeader"].as_str().unwrap().to_owned(),
    )
}

/// A `wif up` started as a user starts it, read up to its banner's last line; stopped when
/// dropped, so that no failed assert leaves it running.
pub(super) struct Up {
    child: Child,
    /// Kept open until it stopped: it says so on stdout.
    out: BufReader<ChildStdout>,
    banner: Vec<String>,
}

impl Up {
    pub(super) fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wif"))
            .arg("up")
            .args(args)
            .env_remove("WIF_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("wif starts");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // Up to the banner's last line (or the end, should wif up stop first).
        let mut banner = Vec::new();
        for line in out.by_ref().lines() {
            let line = line.unwrap();
            let last = line == "Ctrl-C stops every server.";
            banner.push(line);
            if last {
                break;
            }
        }
        Up { child, out, banner }
    }

    /// Stops it with SIGTERM; how it ended and what it printed after the banner.
    fn stop(mut self) -> (ExitStatus, String) {
        let stopped = self.terminate();
        let mut rest = String::new();
        self.out.read_to_string(&mut rest).unwrap();
        (stopped, rest)
    }

    fn terminate(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// The token `wif up` projected into `path` (waiting up to 10 s for it to be written).
pub(super) fn token_in(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::read_to_string(path).unwrap_or_default()
}

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const CLIENT: &str = "11111111-0000-4000-8000-000000000001";

#[test]
fn print_env_gives_a_token_only_account_its_token_file() {
    let (dir, state, config) = tutorial("token-only");
    let up = ["up", "--state-dir", &state, "--config", &config];
    let token_only = [
        &up[..],
        &["--print-env", "--service-account", "default/workload-identity-sa"],
    ]
    .concat();
    let output = wif(&token_only, b"");
    assert!(output.status.success(), "{}", stderr(&output));
    let (sts, proxy, header) = kept(&state);
    assert_eq!(
        stdout(&output).lines().collect::<Vec<_>>(),
        [
            format!("export AZURE_AUTHORITY_HOST='https://127.0.0.1:{sts}'"),
            format!("export AZURE_TENANT_ID='{TENANT}'"),
            format!("export AZURE_FEDERATED_TOKEN_FILE='{state}/tokens/default/workload-identity-sa'"),
            format!("export REQUESTS_CA_BUNDLE='{state}/ca-bundle.pem'"),
            format!("export SSL_CERT_FILE='{state}/ca-bundle.pem'"),
            format!("export NODE_EXTRA_CA_CERTS='{state}/ca.pem'"),
        ]
    );
    assert_eq!(
        stderr(&output).lines().collect::<Vec<_>>(),
        [
            "wif up: ServiceAccount default/workload-identity-sa has no clientId in the config: no AZURE_CLIENT_ID (set it to the identity whose credential trusts it) and no IDENTITY_ENDPOINT"
        ]
    );

    // The account with a client id: as before, with the proxy's endpoint, and nothing on stderr.
    let output = wif(&[&up[..], &["--print-env"]].concat(), b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).lines().collect::<Vec<_>>(),
        [
            format!("export AZURE_AUTHORITY_HOST='https://127.0.0.1:{sts}'"),
            format!("export AZURE_TENANT_ID='{TENANT}'"),
            format!("export AZURE_CLIENT_ID='{CLIENT}'"),
            format!("export AZURE_FEDERATED_TOKEN_FILE='{state}/tokens/default/default'"),
            format!("export REQUESTS_CA_BUNDLE='{state}/ca-bundle.pem'"),
            format!("export SSL_CERT_FILE='{state}/ca-bundle.pem'"),
            format!("export NODE_EXTRA_CA_CERTS='{state}/ca.pem'"),
            format!("export IDENTITY_ENDPOINT='http://127.0.0.1:{proxy}/msi/token'"),
            format!("export IDENTITY_HEADER='{header}'"),
        ]
    );
    assert_eq!(stderr(&output), "");

    // azure-cli's login needs a client id: refused, pointing at --print-env.
    let refused = wif(
        &[
            &up[..],
            &["--print-az-setup", "--service-account", "default/workload-identity-sa"],
        ]
        .concat(),
        b"",
    );
    assert!(!refused.status.success());
    assert_eq!(
        stderr(&refused).lines().last(),
        Some(
            "wif: ServiceAccount default/workload-identity-sa has no clientId in the config: wif up serves no identity for it, only its token file (`wif up --print-env --service-account default/workload-identity-sa` prints its variables)"
        ),
        "{}",
        stderr(&refused)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_ready_banner_lists_every_token_file() {
    let (dir, state, config) = tutorial("banner");
    let up = Up::start(&["--state-dir", &state, "--config", &config]);
    // The files listed hold the projected tokens.
    let tokens: Vec<(&str, String)> = ["default/default", "default/workload-identity-sa"]
        .into_iter()
        .map(|file| (file, token_in(&Path::new(&state).join("tokens").join(file))))
        .collect();
    let banner = up.banner.clone();
    let (stopped, rest) = up.stop();
    assert!(stopped.success(), "SIGTERM stops it cleanly: {stopped:?}");
    assert_eq!(rest, "wif up: stopped\n");

    assert!(
        banner[0].starts_with("wif up: ready. issuer https://127.0.0.1:"),
        "{banner:#?}"
    );
    assert_eq!(banner.last().map(String::as_str), Some("Ctrl-C stops every server."));
    let up = format!("wif up --state-dir {state} --config {config}");
    assert_eq!(
        banner[1],
        format!(
            "the variables of ServiceAccount default/default (written to {state}/env; source it, or eval \"$({up} --print-env)\"):"
        )
    );
    let files = banner
        .iter()
        .position(|l| l.starts_with("the projected token files"))
        .unwrap_or_else(|| panic!("no token files in the banner: {banner:#?}"));
    assert_eq!(
        banner[files..files + 3],
        [
            format!(
                "the projected token files, rewritten at 80% of their lifetime (eval \"$({up} --print-env --service-account NAMESPACE/NAME)\" for one's variables):"
            ),
            format!("  default/default: {state}/tokens/default/default"),
            format!(
                "  default/workload-identity-sa: {state}/tokens/default/workload-identity-sa (no clientId: a token file only)"
            ),
        ]
    );
    assert!(banner[files + 3].starts_with("the local Azure plane ("), "{banner:#?}");
    assert!(
        banner[files + 3].ends_with(&format!("for azure-cli, paste (or eval \"$({up} --print-az-setup)\"):")),
        "{banner:#?}"
    );

    for (file, token) in tokens {
        assert_eq!(token.matches('.').count(), 2, "{file}: {token:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 36: with `wif up --config wif.yaml` running, `eval "$(wif up --print-env)"` in a
/// second shell printed the default config's variables (`.../tokens/default/default`, a file
/// that does not exist). The printing flags follow the running instance; another `--config`
/// is refused, naming where the two differ. The config is docs/up.md's `wif.yaml`.
#[test]
fn printing_follows_the_running_instance_and_refuses_another_config() {
    let (dir, state, other) = tutorial("running");
    let config = dir.join("wif.yaml");
    std::fs::write(&config, from_docs("```yaml\n# wif.yaml\n", "```")).unwrap();
    let config = config.display().to_string();
    let up = Up::start(&["--state-dir", &state, "--config", &config]);
    let token_file = format!("{state}/tokens/payments/api");
    assert_eq!(token_in(Path::new(&token_file)).matches('.').count(), 2);

    // No --config: the running instance's account, with its token file and second identity,
    // as in the env file it wrote.
    let output = wif(&["up", "--state-dir", &state, "--print-env"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    let (sts, proxy, header) = kept(&state);
    assert_eq!(
        stdout(&output).lines().collect::<Vec<_>>(),
        [
            format!("export AZURE_AUTHORITY_HOST='https://127.0.0.1:{sts}'"),
            format!("export AZURE_TENANT_ID='{TENANT}'"),
            format!("export AZURE_CLIENT_ID='{CLIENT}'"),
            format!("export AZURE_FEDERATED_TOKEN_FILE='{token_file}'"),
            format!("export REQUESTS_CA_BUNDLE='{state}/ca-bundle.pem'"),
            format!("export SSL_CERT_FILE='{state}/ca-bundle.pem'"),
            format!("export NODE_EXTRA_CA_CERTS='{state}/ca.pem'"),
            format!("export IDENTITY_ENDPOINT='http://127.0.0.1:{proxy}/msi/token'"),
            format!("export IDENTITY_HEADER='{header}'"),
            "export AZURE_CLIENT_ID_WRITER='22222222-0000-4000-8000-000000000002'".to_owned(),
            "export AZURE_TENANT_ID_WRITER='bbbbbbbb-0000-4000-8000-00000000000b'".to_owned(),
        ]
    );
    assert_eq!(stderr(&output), "");
    let env_file = std::fs::read_to_string(format!("{state}/env")).unwrap();
    assert_eq!(stdout(&output), env_file);

    // azure-cli's login uses that account's token.
    let output = wif(&["up", "--state-dir", &state, "--print-az-setup"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).lines().last(),
        Some(
            format!("az login --service-principal -u {CLIENT} -t {TENANT} --federated-token \"$(cat '{token_file}')\"")
                .as_str()
        )
    );

    // The same content under another name is the same config.
    let copy = dir.join("copy.yaml");
    std::fs::copy(&config, &copy).unwrap();
    let output = wif(
        &[
            "up",
            "--state-dir",
            &state,
            "--config",
            copy.to_str().unwrap(),
            "--print-env",
        ],
        b"",
    );
    assert_eq!((stdout(&output), stderr(&output)), (env_file, String::new()));

    // Another config: refused, naming the first place they differ.
    for flag in ["--print-env", "--print-az-setup"] {
        let refused = wif(&["up", "--state-dir", &state, "--config", &other, flag], b"");
        assert!(!refused.status.success());
        assert_eq!(
            stderr(&refused),
            format!(
                "wif: --config {other} is not the config of the wif up running on {state} ({config}, recorded in {state}/running.json): serviceAccounts[0].identities is in the running config only; leave out --config to print for the running wif up, or stop it and start it with --config {other}\n"
            )
        );
        assert_eq!(stdout(&refused), "");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let record = std::fs::metadata(format!("{state}/running.json")).unwrap();
        assert_eq!(record.permissions().mode() & 0o777, 0o600);
    }

    // Once it stopped, nothing runs there: the printing flags take --config, or the default.
    let (stopped, _) = up.stop();
    assert!(stopped.success(), "{stopped:?}");
    let output = wif(&["up", "--state-dir", &state, "--print-env"], b"");
    assert_eq!(
        stdout(&output).lines().nth(3),
        Some(format!("export AZURE_FEDERATED_TOKEN_FILE='{state}/tokens/default/default'").as_str())
    );
    let output = wif(&["up", "--state-dir", &state, "--config", &other, "--print-env"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    std::fs::remove_dir_all(&dir).unwrap();
}
