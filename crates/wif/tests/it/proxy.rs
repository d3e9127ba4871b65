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

/// The pod spec the webhook injects with `--proxy-image` / `--proxy-init-image` pointing at
/// wif's images works with the wif binary: the sidecar's args start the proxy, its postStart
/// command probes it, and the init container's variables plan the redirect to its port.
#[test]
fn the_injected_pod_spec_runs_with_wif_as_the_proxy_images() {
    let pod = Pod::new("spec");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let manifests = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: app, namespace: demo, annotations: {{azure.workload.identity/client-id: {CLIENT}}}}}\n---\n\
apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: demo, labels: {{azure.workload.identity/use: \"true\"}}, annotations: {{azure.workload.identity/inject-proxy-sidecar: \"true\", azure.workload.identity/proxy-sidecar-port: \"{port}\"}}}}\n\
spec:\n  serviceAccountName: app\n  containers: [{{name: app, image: app}}]\n"
    );
    let rendered = wif(
        &[
            "render",
            "-f",
            "-",
            "--tenant-id",
            TENANT,
            "--proxy-image",
            "ghcr.io/wif-dev/wif-proxy:0.1.0",
            "--proxy-init-image",
            "ghcr.io/wif-dev/wif-proxy-init:0.1.0",
        ],
        manifests.as_bytes(),
    );
    assert!(rendered.status.success(), "{}", stderr(&rendered));
    let docs = super::render::parse(&stdout(&rendered));
    let spec = &docs.iter().find(|d| d["kind"] == "Pod").unwrap()["spec"];
    let sidecar = spec["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "azwi-proxy")
        .unwrap();
    assert_eq!(sidecar["image"], "ghcr.io/wif-dev/wif-proxy:0.1.0");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    };
    // The image's entrypoint is /proxy; the pod gives it these args and this environment
    // (the token path is kubelet's in a pod, a file of the test's here).
    let mut command = pod.command("proxy");
    command.args(strings(&sidecar["args"]));
    for variable in sidecar["env"].as_array().unwrap() {
        let name = variable["name"].as_str().unwrap();
        if name != "AZURE_FEDERATED_TOKEN_FILE" {
            command.env(name, variable["value"].as_str().unwrap());
        }
    }
    let (mut child, banner) = spawn_with_banner(&mut command);
    assert!(
        banner.contains(&format!("listening on http://127.0.0.1:{port} ")),
        "{banner}"
    );
    let post_start = strings(&sidecar["lifecycle"]["postStart"]["exec"]["command"]);
    assert_eq!(post_start[0], "/proxy");
    let probe = pod.command("proxy").args(&post_start[1..]).output().unwrap();
    assert!(probe.status.success(), "the postStart hook: {}", stderr(&probe));
    child.kill().unwrap();
    child.wait().unwrap();

    let init = spec["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "azwi-proxy-init")
        .unwrap();
    assert_eq!(init["image"], "ghcr.io/wif-dev/wif-proxy-init:0.1.0");
    assert!(
        init.get("command").is_none() && init.get("args").is_none(),
        "the image's entrypoint runs"
    );
    let mut command = pod.command("proxy-init");
    for variable in init["env"].as_array().unwrap() {
        command.env(variable["name"].as_str().unwrap(), variable["value"].as_str().unwrap());
    }
    let planned = command.args(["--dry-run", "--iptables", "echo"]).output().unwrap();
    assert!(
        stdout(&planned).contains(&format!("-j REDIRECT --to-ports {port}\n")),
        "{}",
        stdout(&planned)
    );
}
