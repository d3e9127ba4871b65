//! What `wif up` prints (issue 26): `--print-env` for a ServiceAccount without a clientId
//! (its token file, tenant and CA, no client id), and the ready banner listing every
//! ServiceAccount's token file. The config is docs/up.md's own `tutorial.yaml`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::*;

/// A fresh directory for one test, holding docs/up.md's `tutorial.yaml`; the state directory
/// is `DIR/state` (not made: `wif up` makes it).
fn tutorial(name: &str) -> (PathBuf, String, String) {
    let dir = std::env::temp_dir().join(format!("wif-it-up-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let page = std::fs::read_to_string(format!("{}/../../docs/up.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let start = page
        .find("```yaml\n# tutorial.yaml")
        .expect("docs/up.md shows tutorial.yaml")
        + "```yaml\n".len();
    let length = page[start..].find("```").unwrap();
    let config = dir.join("tutorial.yaml");
    std::fs::write(&config, &page[start..start + length]).unwrap();
    let state = dir.join("state").display().to_string();
    (dir, state, config.display().to_string())
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_wif"))
        .args(["up", "--state-dir", &state, "--config", &config])
        .env_remove("WIF_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("wif starts");
    // Up to the banner's last line (or the end, should wif up stop first).
    let mut banner = Vec::new();
    // Kept open until it stopped: it says so on stdout.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for line in out.by_ref().lines() {
        let line = line.unwrap();
        let last = line == "Ctrl-C stops every server.";
        banner.push(line);
        if last {
            break;
        }
    }
    // The files listed hold the projected tokens (read before it stops: no assert may leave
    // it running).
    let tokens: Vec<(&str, String)> = ["default/default", "default/workload-identity-sa"]
        .into_iter()
        .map(|file| {
            let path = Path::new(&state).join("tokens").join(file);
            let deadline = Instant::now() + Duration::from_secs(10);
            while !path.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            (file, std::fs::read_to_string(&path).unwrap_or_default())
        })
        .collect();
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let stopped = child.wait().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
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
