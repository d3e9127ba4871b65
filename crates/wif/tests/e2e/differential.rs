//! Differential admission: upstream's webhook and wif's registered on one API server (two
//! MutatingWebhookConfigurations, each selecting its own namespace), fed the same
//! ServiceAccounts and the same pods: upstream's unit-test scenarios (spec/upstream-azwi.md
//! §5.1), the planner's own cases, and a few hundred generated pods. What the API server
//! would store (a server-side dry run: admission, defaulting and validation, nothing kept)
//! must be equal, less the deliberate differences of [`DELIBERATE`] (docs/compatibility.md's
//! table); refusals must match word for word. An unlisted difference fails with a diff.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Result, bail, ensure};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use crate::admission::{CLIENT_ID, USE_LABEL, probe_until_mutated};
use crate::cluster::{CLIENT_A, CLIENT_B, OWN_WEBHOOK_LABEL};
use crate::differences::{DELIBERATE, Outcome, normalize};
use crate::upstream::UpstreamWebhook;
use crate::{Env, namespace_for};

const TENANT_ID: &str = "azure.workload.identity/tenant-id";
const EXPIRATION: &str = "azure.workload.identity/service-account-token-expiration";
const SKIP: &str = "azure.workload.identity/skip-containers";
const PROXY: &str = "azure.workload.identity/inject-proxy-sidecar";
const PROXY_PORT: &str = "azure.workload.identity/proxy-sidecar-port";
const OTHER_TENANT: &str = "dddddddd-0000-4000-8000-00000000000d";

/// The ServiceAccounts every case picks from, created alike in both namespaces.
fn accounts() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        ("plain", vec![(CLIENT_ID, CLIENT_A)]),
        ("tenant", vec![(CLIENT_ID, CLIENT_B), (TENANT_ID, OTHER_TENANT)]),
        ("no-client", vec![]),
        ("exp-4800", vec![(CLIENT_ID, CLIENT_A), (EXPIRATION, "4800")]),
        ("exp-86400", vec![(CLIENT_ID, CLIENT_A), (EXPIRATION, "86400")]),
        ("exp-3600s", vec![(CLIENT_ID, CLIENT_A), (EXPIRATION, "3600s")]),
        ("exp-100", vec![(CLIENT_ID, CLIENT_A), (EXPIRATION, "100")]),
        ("text-ids", vec![(CLIENT_ID, "client-id"), (TENANT_ID, "tenant-id")]),
        ("empty-tenant", vec![(CLIENT_ID, CLIENT_A), (TENANT_ID, "")]),
        (
            "named",
            vec![(CLIENT_ID, CLIENT_A), ("wif.dev/client-id.reader", CLIENT_B)],
        ),
    ]
}

/// One pod, with the case's name.
pub struct Case {
    pub name: String,
    pub pod: Value,
}

fn container(name: &str) -> Value {
    json!({"name": name, "image": "busybox"})
}

fn pod(account: Option<&str>, containers: Vec<Value>) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {USE_LABEL: "true"}},
        "spec": {"containers": containers},
    });
    if let Some(account) = account {
        pod["spec"]["serviceAccountName"] = json!(account);
    }
    pod
}

fn annotated(mut pod: Value, annotations: &[(&str, &str)]) -> Value {
    for (k, v) in annotations {
        pod["metadata"]["annotations"][*k] = json!(v);
    }
    pod
}

fn case(name: &str, pod: Value) -> Case {
    Case {
        name: name.to_owned(),
        pod,
    }
}

/// Upstream's unit-test scenarios that a pod can carry (§5.1), and the planner's own.
fn table() -> Vec<Case> {
    let one = || vec![container("c")];
    let reserved_like = json!({"name": "azure-identity-token", "projected": {"sources": [{"serviceAccountToken": {"path": "my-projected-volume", "audience": "aud", "expirationSeconds": 3600}}]}});
    let mut with_volume = pod(Some("plain"), one());
    with_volume["spec"]["volumes"] = json!([reserved_like]);
    let mut user_env = pod(
        Some("plain"),
        vec![json!({"name": "c", "image": "busybox", "env": [
            {"name": "AZURE_CLIENT_ID", "value": "user"}, {"name": "AZURE_TENANT_ID", "value": "user"},
            {"name": "AZURE_FEDERATED_TOKEN_FILE", "value": "/user"}, {"name": "AZURE_AUTHORITY_HOST", "value": "https://user/"},
        ]})],
    );
    user_env["metadata"]["name"] = json!("user-env");
    let my_env = pod(
        Some("plain"),
        vec![json!({"name": "c", "image": "busybox", "env": [{"name": "MY_ENV_VAR", "value": "1"}]})],
    );
    let mut mounts = pod(
        Some("plain"),
        vec![json!({"name": "c", "image": "busybox", "volumeMounts": [{"name": "data", "mountPath": "/data"}]})],
    );
    mounts["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
    let mut init = pod(Some("plain"), one());
    init["spec"]["initContainers"] = json!([container("setup")]);
    let mut native_init = pod(Some("plain"), one());
    native_init["spec"]["initContainers"] = json!([{"name": "side", "image": "busybox", "restartPolicy": "Always"}]);
    let mut proxy_init_present = annotated(pod(Some("plain"), one()), &[(PROXY, "true")]);
    proxy_init_present["spec"]["initContainers"] = json!([{"name": "azwi-proxy-init", "image": "mine"}]);
    let mut proxy_present = annotated(pod(Some("plain"), one()), &[(PROXY, "true")]);
    proxy_present["spec"]["initContainers"] =
        json!([{"name": "azwi-proxy", "image": "mine", "restartPolicy": "Always"}]);
    let mut host_network = annotated(pod(Some("plain"), one()), &[(PROXY, "true")]);
    host_network["spec"]["hostNetwork"] = json!(true);
    let mut unnamed = pod(Some("plain"), one());
    unnamed["metadata"] = json!({"generateName": "gen-", "labels": {USE_LABEL: "true"}});
    let mut windows = annotated(pod(Some("plain"), one()), &[(PROXY, "true")]);
    windows["spec"]["os"] = json!({"name": "windows"});
    vec![
        case(
            "expiration on the pod 3600s",
            annotated(pod(Some("plain"), one()), &[(EXPIRATION, "3600s")]),
        ),
        case("expiration on the account 3600s", pod(Some("exp-3600s"), one())),
        case(
            "expiration 3599",
            annotated(pod(Some("plain"), one()), &[(EXPIRATION, "3599")]),
        ),
        case(
            "expiration 86401",
            annotated(pod(Some("plain"), one()), &[(EXPIRATION, "86401")]),
        ),
        case("expiration 4800 on the account", pod(Some("exp-4800"), one())),
        case(
            "expiration: the pod's 4000 wins",
            annotated(pod(Some("exp-4800"), one()), &[(EXPIRATION, "4000")]),
        ),
        case(
            "expiration invalid",
            annotated(pod(Some("plain"), one()), &[(EXPIRATION, "invalid")]),
        ),
        case("expiration 100 on the account", pod(Some("exp-100"), one())),
        case("account without client id", pod(Some("no-client"), one())),
        case("client and tenant ids as text", pod(Some("text-ids"), one())),
        case("tenant from the account", pod(Some("tenant"), one())),
        case(
            "skip one container",
            annotated(
                pod(Some("plain"), vec![container("container1"), container("c")]),
                &[(SKIP, "container1")],
            ),
        ),
        case(
            "skip two",
            annotated(
                pod(
                    Some("plain"),
                    vec![container("container1"), container("container2"), container("c")],
                ),
                &[(SKIP, "container1;container2")],
            ),
        ),
        case(
            "skip two with a space",
            annotated(
                pod(Some("plain"), vec![container("container1"), container("container2")]),
                &[(SKIP, "container1; container2")],
            ),
        ),
        case("a same-named volume is replaced", with_volume),
        case("user values of the four variables", user_env),
        case("a user variable first", my_env),
        case("another mount kept", mounts),
        case("init containers mutated", init),
        case("a native sidecar of the user's survives", native_init),
        case("the default ServiceAccount", pod(None, one())),
        case(
            "proxy on port 8080",
            annotated(pod(Some("plain"), one()), &[(PROXY, "true"), (PROXY_PORT, "8080")]),
        ),
        case("proxy init already present", proxy_init_present),
        case("proxy sidecar already present", proxy_present),
        case(
            "proxy port invalid",
            annotated(pod(Some("plain"), one()), &[(PROXY, "true"), (PROXY_PORT, "invalid")]),
        ),
        case("proxy with hostNetwork", host_network),
        case(
            "proxy annotation false",
            annotated(pod(Some("plain"), one()), &[(PROXY, "false")]),
        ),
        case("a ServiceAccount that does not exist", pod(Some("ghost"), one())),
        case("a pod without a name", unnamed),
        case("empty tenant annotation", pod(Some("empty-tenant"), one())),
        case("a named second identity", pod(Some("named"), one())),
        case(
            "proxy port 0",
            annotated(pod(Some("plain"), one()), &[(PROXY, "true"), (PROXY_PORT, "0")]),
        ),
        case("proxy on windows", windows),
    ]
}

/// A small, seeded generator: the same pods every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> usize {
        usize::try_from(self.next() % n).unwrap_or(0)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Pods with several containers, init containers, existing env and mounts, skip-containers,
/// expiration and proxy annotations, with and without names.
pub fn generated(count: usize) -> Vec<Case> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let accounts = ["plain", "tenant", "no-client", "exp-4800", "exp-86400", "text-ids"];
    (0..count)
        .map(|i| {
            let names: Vec<String> = (0..1 + rng.below(3)).map(|c| format!("app-{c}")).collect();
            let mut containers = Vec::new();
            for name in &names {
                let mut c = container(name);
                if rng.chance(30) {
                    c["env"] = json!([{"name": "EXISTING", "value": "1"}]);
                }
                if rng.chance(20) {
                    c["env"] = json!([{"name": "AZURE_CLIENT_ID", "value": "set-by-user"}]);
                }
                if rng.chance(30) {
                    c["volumeMounts"] = json!([{"name": "data", "mountPath": "/data"}]);
                }
                containers.push(c);
            }
            let account = if rng.chance(10) { None } else { Some(accounts[rng.below(accounts.len() as u64)]) };
            let mut pod = pod(account, containers.clone());
            if containers.iter().any(|c| c.get("volumeMounts").is_some()) {
                pod["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
            }
            let init: Vec<Value> = (0..rng.below(3)).map(|c| container(&format!("init-{c}"))).collect();
            if !init.is_empty() {
                pod["spec"]["initContainers"] = json!(init);
            }
            if rng.chance(25) {
                let skipped: Vec<&str> = names.iter().filter(|_| rng.chance(50)).map(String::as_str).collect();
                pod = annotated(pod, &[(SKIP, &skipped.join(";"))]);
            }
            if rng.chance(20) {
                let value = ["3600", "7200", "86400", "5000"][rng.below(4)];
                pod = annotated(pod, &[(EXPIRATION, value)]);
            }
            if rng.chance(25) {
                pod = annotated(pod, &[(PROXY, "true")]);
                if rng.chance(50) {
                    pod = annotated(pod, &[(PROXY_PORT, ["8080", "9000", "8000"][rng.below(3)])]);
                }
            }
            if rng.chance(30) {
                pod["metadata"] = json!({"generateName": "gen-", "labels": pod["metadata"]["labels"], "annotations": pod["metadata"]["annotations"]});
            } else {
                pod["metadata"]["name"] = json!(format!("pod-{i}"));
            }
            if pod["metadata"]["annotations"].is_null() {
                if let Some(m) = pod["metadata"].as_object_mut() {
                    m.remove("annotations");
                }
            }
            case(&format!("generated #{i}"), pod)
        })
        .collect()
}

async fn admit(env: &Env, namespace: &str, pod: &Value) -> Result<Outcome> {
    let pod: Pod = serde_json::from_value(pod.clone())?;
    match env.cluster.dry_run(namespace, &pod).await {
        Ok(stored) => Ok(Outcome::Stored(serde_json::to_value(stored)?)),
        Err(kube::Error::Api(status)) => Ok(Outcome::Refused(status.code, status.message)),
        Err(other) => bail!("the API server did not answer: {other}"),
    }
}

pub async fn same_pods_same_result_as_upstream(env: Arc<Env>) -> Result<()> {
    let ours = env.cluster.namespace(&namespace_for("diff-wif")).await?;
    let theirs = env
        .cluster
        .namespace_labelled(
            &namespace_for("diff-upstream"),
            &[(OWN_WEBHOOK_LABEL, "true"), ("wif-e2e/upstream", "true")],
        )
        .await?;
    for namespace in [&ours, &theirs] {
        for (name, annotations) in accounts() {
            env.cluster.service_account(namespace, name, &annotations).await?;
        }
        env.cluster
            .service_account(namespace, "probe", &[(CLIENT_ID, CLIENT_A)])
            .await?;
    }
    let upstream = UpstreamWebhook::start(&env).await?;
    let configuration = "e2e-upstream-azure-wi-webhook";
    crate::webhook::register(
        &env.cluster,
        configuration,
        &upstream.url,
        &upstream.ca_pem,
        Some(json!({"matchLabels": {"wif-e2e/upstream": "true"}})),
    )
    .await?;
    let outcome = compare_all(&env, &ours, &theirs).await;
    crate::webhook::unregister(&env.cluster, configuration).await;
    drop(upstream);
    outcome
}

fn mutated(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Stored(pod) if pod.to_string().contains("AZURE_FEDERATED_TOKEN_FILE"))
}

async fn compare_all(env: &Env, ours: &str, theirs: &str) -> Result<()> {
    probe_until_mutated(env, theirs).await?;
    // The comparison can fail: one changed value is a difference no table entry explains.
    let probe = pod(Some("plain"), vec![container("c")]);
    let Outcome::Stored(stored) = normalize(admit(env, ours, &probe).await?, ours) else {
        bail!("the probe pod was refused")
    };
    let mut changed = stored.clone();
    changed["spec"]["containers"][0]["env"][0]["value"] = json!("another");
    ensure!(
        crate::differences::explain(Outcome::Stored(stored), Outcome::Stored(changed)).is_err(),
        "the comparison does not see a changed value"
    );

    let cases: Vec<Case> = table().into_iter().chain(generated(300)).collect();
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (mut failures, mut both_mutated) = (Vec::new(), 0usize);
    for case in &cases {
        let wif = normalize(admit(env, ours, &case.pod).await?, ours);
        let upstream = normalize(admit(env, theirs, &case.pod).await?, theirs);
        if mutated(&wif) && mutated(&upstream) {
            both_mutated += 1;
        }
        match crate::differences::explain(wif, upstream) {
            Ok(used) => {
                for name in used {
                    *seen.entry(name).or_default() += 1;
                }
            }
            Err(diff) => failures.push(format!("{}:\n{diff}", case.name)),
        }
    }
    // Equal because neither webhook was called would prove nothing.
    ensure!(
        both_mutated * 10 >= cases.len() * 8,
        "only {both_mutated} of {} pods were mutated by both",
        cases.len()
    );
    println!(
        "        figure: {} pods through both webhooks, {both_mutated} mutated by both; deliberate differences seen:",
        cases.len()
    );
    for difference in DELIBERATE {
        let count = seen.get(difference.name).copied().unwrap_or(0);
        println!("          {count:>4}  {}: {}", difference.name, difference.reason);
    }
    if !failures.is_empty() {
        bail!(
            "{} of {} pods differ from upstream beyond the deliberate differences:\n{}",
            failures.len(),
            cases.len(),
            failures.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}
