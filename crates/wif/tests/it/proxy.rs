//! `wif proxy` as a process, as a pod runs it: upstream's start-up error, the names upstream's
//! pod specs invoke (`/proxy ARGS`, `/proxy-init`), the postStart probe, and SIGTERM draining
//! to exit 0. (Tokens through the proxy: crates/wif-proxy/tests and scripts/interop_proxy.py.)

use std::process::{Command, Stdio};

use super::*;

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const CLIENT: &str = "11111111-0000-4000-8000-000000000001";

struct Pod {
    dir: std::path::PathBuf,
}

impl Pod {
    /// A directory with a projected token and `proxy` / `proxy-init` links to the binary.
    fn new(name: &str) -> Pod {
        let dir = std::env::temp_dir().join(format!("wif-it-proxy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = wif_jose::SigningKey::generate(wif_jose::Algorithm::ES256).unwrap();
        let token = wif_jose::kubernetes::ProjectedToken::for_service_account(
            "https://issuer.example/",
            "demo",
            "app",
            wif_core::clock::unix_now(),
        )
        .unwrap()
        .sign(&key)
        .unwrap();
        std::fs::write(dir.join("token"), token).unwrap();
        for name in ["proxy", "proxy-init"] {
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_wif"), dir.join(name)).unwrap();
        }
        Pod { dir }
    }

    /// `program` with the variables the webhook injects.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.dir.join(program));
        command
            .env_clear()
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT)
            .env("AZURE_AUTHORITY_HOST", "https://127.0.0.1:9")
            .env("AZURE_FEDERATED_TOKEN_FILE", self.dir.join("token"))
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        command
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_tenant_is_required_with_upstreams_words() {
    let pod = Pod::new("tenant");
    let out = pod
        .command("proxy")
        .env_remove("AZURE_TENANT_ID")
        .arg("--proxy-port=0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(stderr(&out).trim(), "wif: AZURE_TENANT_ID not set");
}

#[test]
fn as_upstreams_sidecar_it_serves_passes_its_probe_and_drains_on_sigterm() {
    let pod = Pod::new("sidecar");
    // The args the webhook gives the sidecar: `--proxy-port=<port> --log-level=<level>`, the
    // level empty when the webhook's is unset.
    let (mut child, banner) = spawn_with_banner(pod.command("proxy").args(["--proxy-port=0", "--log-level="]));
    assert!(
        banner.starts_with("IMDS proxy listening on http://127.0.0.1:"),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("for 1 identity ({CLIENT} in {TENANT})")),
        "{banner}"
    );
    let address = banner_field(&banner, "listening on ");
    let port = address.rsplit(':').next().unwrap().to_owned();
    // The postStart hook: `/proxy --proxy-port=<port> --probe --log-level=<level>`.
    let probe = pod
        .command("proxy")
        .args([format!("--proxy-port={port}").as_str(), "--probe", "--log-level=info"])
        .output()
        .unwrap();
    assert!(probe.status.success(), "{}", stderr(&probe));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = child.wait().unwrap();
    assert_eq!(exited.code(), Some(0), "SIGTERM drains and exits 0");
}

#[test]
fn proxy_init_plans_upstreams_rules() {
    let pod = Pod::new("init");
    // `echo` stands for iptables: its "listing" holds none of our rules, and --dry-run runs
    // nothing, so the whole plan is printed.
    let out = pod
        .command("proxy-init")
        .env("PROXY_PORT", "8123")
        .args(["--dry-run", "--iptables", "echo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("iptables -t nat -A AZWI_PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 8123\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "iptables -t nat -A OUTPUT -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j AZWI_PROXY_OUTPUT\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("6 change(s) planned, none made (--dry-run)\n"), "{text}");
    let missing = pod
        .command("proxy-init")
        .args(["--iptables", "/nonexistent/iptables"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("cannot run /nonexistent/iptables"),
        "{}",
        stderr(&missing)
    );
}
