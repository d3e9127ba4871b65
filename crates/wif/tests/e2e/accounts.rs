//! The ServiceAccount cache against the real API: an account created after the webhook
//! started reaches it by the watch; one created just before its pod is found; a changed
//! annotation replaces the cached one; `/readyz` holds until the first list while a direct
//! GET still answers; the RSS with ten thousand accounts listed.

use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use futures_util::StreamExt;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::admission::{CLIENT_ID, assert_mutated, labelled_pod, probe_until_mutated};
use crate::cluster::{CLIENT_A, CLIENT_B, OWN_WEBHOOK_LABEL, env_value, eventually, http_get, metric};
use crate::webhook::{Webhook, WebhookLaunch, register};
use crate::{Env, namespace_for};

fn lookups(text: &str, source: &str) -> f64 {
    metric(
        text,
        &format!("wif_webhook_service_account_lookups_total{{source=\"{source}\"}}"),
    )
    .unwrap_or(0.0)
}

pub async fn account_created_after_start_arrives_by_watch(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("watch")).await?;
    env.cluster
        .service_account(&ns, "late", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    let pod: Pod = serde_json::from_value(labelled_pod("p", "late", &["main"], &[]))?;
    // Right after the create the answer may still come from a direct GET; once the watch has
    // delivered the account, a pod is answered from the cache alone.
    eventually("a lookup answered by the watch cache", || async {
        let before = env.webhook.metrics_text().await?;
        let answered = env.cluster.dry_run(&ns, &pod).await?;
        let after = env.webhook.metrics_text().await?;
        ensure!(
            env_value(&answered, "main", "AZURE_CLIENT_ID").as_deref() == Some(CLIENT_A),
            "not mutated"
        );
        Ok(lookups(&after, "api") == lookups(&before, "api") && lookups(&after, "cache") > lookups(&before, "cache"))
    })
    .await
}

pub async fn account_created_just_before_its_pod_is_found_by_get(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("just-before")).await?;
    for i in 0..5 {
        let account = format!("fresh-{i}");
        env.cluster
            .service_account(&ns, &account, &[(CLIENT_ID, CLIENT_B)])
            .await?;
        let stored = env
            .cluster
            .create_pod(&ns, labelled_pod(&format!("p{i}"), &account, &["main"], &[]))
            .await?;
        assert_mutated(&stored, "main", CLIENT_B, 3600)?;
    }
    Ok(())
}

pub async fn annotation_change_reaches_the_cache(env: Arc<Env>) -> Result<()> {
    let ns = env.cluster.namespace(&namespace_for("annotation-change")).await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    let pod: Pod = serde_json::from_value(labelled_pod("p", "app", &["main"], &[]))?;
    eventually("the first client id", || async {
        let answered = env.cluster.dry_run(&ns, &pod).await?;
        Ok(env_value(&answered, "main", "AZURE_CLIENT_ID").as_deref() == Some(CLIENT_A))
    })
    .await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(env.cluster.client.clone(), &ns);
    accounts
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {CLIENT_ID: CLIENT_B}}})),
        )
        .await?;
    eventually("the changed client id", || async {
        let answered = env.cluster.dry_run(&ns, &pod).await?;
        Ok(env_value(&answered, "main", "AZURE_CLIENT_ID").as_deref() == Some(CLIENT_B))
    })
    .await?;
    let stored = env
        .cluster
        .create_pod(&ns, labelled_pod("q", "app", &["main"], &[]))
        .await?;
    assert_mutated(&stored, "main", CLIENT_B, 3600)
}

/// A kubeconfig for `namespace/account`, with a token from the TokenRequest API.
async fn kubeconfig_for(env: &Env, namespace: &str, account: &str) -> Result<std::path::PathBuf> {
    let accounts: Api<ServiceAccount> = Api::namespaced(env.cluster.client.clone(), namespace);
    let request: TokenRequest = serde_json::from_value(json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }))?;
    let issued = accounts
        .create_token_request(account, &PostParams::default(), &request)
        .await?;
    let token = issued.status.context("no token in the TokenRequest's status")?.token;
    let path = env.work.join(format!("{account}.kubeconfig"));
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {"server": env.cluster.server, "certificate-authority": env.cluster.ca_file}}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": account}}],
        "current-context": "e2e",
    });
    std::fs::write(&path, serde_json::to_vec(&config)?)?;
    Ok(path)
}

pub async fn readyz_waits_for_the_first_list(env: Arc<Env>) -> Result<()> {
    let ns = env
        .cluster
        .namespace_labelled(&namespace_for("readyz"), &[(OWN_WEBHOOK_LABEL, "true")])
        .await?;
    env.cluster.service_account(&ns, "webhook", &[]).await?;
    env.cluster
        .service_account(&ns, "app", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    env.cluster
        .service_account(&ns, "probe", &[(CLIENT_ID, CLIENT_A)])
        .await?;
    // The webhook's identity may GET ServiceAccounts but not list or watch them (yet).
    let role_name = format!("{ns}-service-accounts");
    let roles: Api<ClusterRole> = Api::all(env.cluster.client.clone());
    let role = |verbs: &[&str]| -> Result<ClusterRole> {
        Ok(serde_json::from_value(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": role_name},
            "rules": [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": verbs}],
        }))?)
    };
    roles.create(&PostParams::default(), &role(&["get"])?).await?;
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": role_name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": "webhook", "namespace": ns}],
    }))?;
    Api::<ClusterRoleBinding>::all(env.cluster.client.clone())
        .create(&PostParams::default(), &binding)
        .await?;
    let kubeconfig = kubeconfig_for(&env, &ns, "webhook").await?;
    let webhook = Webhook::start(WebhookLaunch {
        name: "webhook-get-only",
        kubeconfig: &kubeconfig,
        work: &env.work,
        extra_args: Vec::new(),
        env: Vec::new(),
    })?;
    let log = env.work.join("webhook-get-only.log");
    eventually("the watch's first list refused (logged)", || async {
        Ok(crate::read(&log)?.contains("ServiceAccount watch error"))
    })
    .await?;
    let readyz = format!("{}/readyz", webhook.health);
    let (status, _) = http_get(&readyz).await?;
    ensure!(status == 503, "/readyz is {status} before any list succeeded");

    // Not ready, yet serving: a direct GET answers for each pod.
    let name = format!("{ns}-get-only");
    let registered = register(
        &env.cluster,
        &name,
        &webhook.url,
        &webhook.ca_pem,
        Some(json!({"matchLabels": {"kubernetes.io/metadata.name": ns}})),
    )
    .await;
    let outcome = async {
        registered?;
        probe_until_mutated(&env, &ns).await?;
        let before = lookups(&webhook.metrics_text().await?, "api");
        let stored = env
            .cluster
            .create_pod(&ns, labelled_pod("p", "app", &["main"], &[]))
            .await?;
        assert_mutated(&stored, "main", CLIENT_A, 3600)?;
        let after = lookups(&webhook.metrics_text().await?, "api");
        ensure!(after == before + 1.0, "direct GETs went from {before} to {after}");

        // Once the identity may list and watch, the first list completes and /readyz is 200.
        let mut grown = role(&["get", "list", "watch"])?;
        grown.metadata.resource_version = roles.get(&role_name).await?.metadata.resource_version;
        roles.replace(&role_name, &PostParams::default(), &grown).await?;
        eventually("/readyz after the first list", || async {
            Ok(http_get(&readyz).await?.0 == 200)
        })
        .await
    }
    .await;
    crate::webhook::unregister(&env.cluster, &name).await;
    outcome
}

pub async fn rss_with_ten_thousand_accounts(env: Arc<Env>) -> Result<()> {
    const ACCOUNTS: usize = 10_000;
    let ns = env.cluster.namespace(&namespace_for("rss")).await?;
    let created = std::time::Instant::now();
    let api: Api<ServiceAccount> = Api::namespaced(env.cluster.client.clone(), &ns);
    let results: Vec<Result<()>> = futures_util::stream::iter(0..ACCOUNTS)
        .map(|i| {
            let api = api.clone();
            async move {
                let account: ServiceAccount = serde_json::from_value(json!({
                    "metadata": {"name": format!("sa-{i:05}"), "annotations": {
                        CLIENT_ID: format!("{:08x}-0000-4000-8000-{:012x}", i, i),
                        "azure.workload.identity/tenant-id": "cccccccc-0000-4000-8000-00000000000c",
                    }},
                }))?;
                api.create(&PostParams::default(), &account).await?;
                Ok(())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let failures: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    ensure!(
        failures.is_empty(),
        "{} creates failed, first: {:#}",
        failures.len(),
        failures[0]
    );
    let creating = created.elapsed();

    let webhook = Webhook::start(WebhookLaunch {
        name: "webhook-10k",
        kubeconfig: &env.cluster.kubeconfig,
        work: &env.work,
        extra_args: Vec::new(),
        env: Vec::new(),
    })?;
    let listed = std::time::Instant::now();
    webhook.ready().await?;
    let listing = listed.elapsed();
    let text = webhook.metrics_text().await?;
    let cached = metric(&text, "wif_webhook_service_accounts_cached").context("no cache gauge")?;
    ensure!(
        cached >= ACCOUNTS as f64,
        "{cached} accounts cached, want at least {ACCOUNTS}"
    );
    let rss = webhook.process.rss_kib()?;
    let shared = env.webhook.process.rss_kib()?;
    println!(
        "        figure: {ACCOUNTS} ServiceAccounts created in {:.1} s; listed and ready in {:.2} s; webhook RSS {:.1} MiB with {cached} cached (the shared webhook: {:.1} MiB)",
        creating.as_secs_f64(),
        listing.as_secs_f64(),
        rss as f64 / 1024.0,
        shared as f64 / 1024.0
    );
    Ok(())
}
