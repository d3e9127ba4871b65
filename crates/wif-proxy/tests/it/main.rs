//! The proxy served for real on 127.0.0.1, getting its tokens from the real emulator over
//! HTTPS: IMDS and App Service answers, identity selection by client id and alias in two
//! tenants, any other client id ad hoc in the default tenant (and the bound on how many are
//! held), the cache (one exchange for many requests), every refusal with its status and
//! body, Entra's refusal passed through, an unreachable and a silent Entra, the passthrough,
//! readiness that follows the token file, and the probe.

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

mod ad_hoc;
mod hosts;
mod refusals;
mod tokens;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;
use wif_client::WorkloadIdentity;
use wif_proxy::{IdentityTable, Proxy, ProxyOptions};

pub(crate) const TENANT_A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
pub(crate) const TENANT_B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
pub(crate) const READER: &str = "11111111-0000-4000-8000-000000000001";
pub(crate) const WRITER: &str = "22222222-0000-4000-8000-000000000002";
/// An application whose credential names another namespace: Entra refuses it.
pub(crate) const MISMATCHED: &str = "55555555-0000-4000-8000-000000000005";
/// An application in tenant A trusting demo/app that the proxy is not told about.
pub(crate) const AD_HOC: &str = "33333333-0000-4000-8000-000000000003";
/// An application in tenant A trusting another namespace, that the proxy is not told about.
pub(crate) const STRANGER: &str = "66666666-0000-4000-8000-000000000006";
/// An application in tenant B only, trusting demo/app, that the proxy is not told about.
pub(crate) const ELSEWHERE: &str = "44444444-0000-4000-8000-000000000004";
pub(crate) const ISSUER: &str = "https://oidc.example/proxy-it/";
pub(crate) const SECRET: &str = "app-service-secret-0123456789";

/// The emulator, a projected token for demo/app, and what the proxy needs to reach them.
#[derive(Debug)]
pub(crate) struct Setup {
    pub(crate) dir: PathBuf,
    pub(crate) issuer: wif_issuer::StaticIssuer,
    pub(crate) emulator: wif_sts::LocalEmulator,
    pub(crate) token_requests: Arc<AtomicUsize>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn count(State(counter): State<Arc<AtomicUsize>>, request: Request, next: Next) -> Response {
    if request.uri().path().ends_with("/token") {
        counter.fetch_add(1, Ordering::SeqCst);
    }
    next.run(request).await
}

impl Setup {
    pub(crate) async fn start() -> Setup {
        let dir = std::env::temp_dir().join(format!("wif-proxy-it-{}", wif_jose::kubernetes::random_uuid().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let issuer = wif_issuer::StaticIssuer::create(ISSUER, &dir).unwrap();
        let app = |name: &str, id: &str, subject: &str| {
            format!(
                "      - displayName: {name}\n        appId: {id}\n        federatedIdentityCredentials:\n          - {{ name: {name}, issuer: \"{ISSUER}\", subject: \"{subject}\", audiences: [api://AzureADTokenExchange] }}\n"
            )
        };
        let yaml = format!(
            "tenants:\n  - tenantId: {TENANT_A}\n    applications:\n{}{}{}{}  - tenantId: {TENANT_B}\n    applications:\n{}{}{}",
            app("reader", READER, "system:serviceaccount:demo:app"),
            app("mismatched", MISMATCHED, "system:serviceaccount:production:app"),
            app("adhoc", AD_HOC, "system:serviceaccount:demo:app"),
            app("stranger", STRANGER, "system:serviceaccount:production:app"),
            app("writer", WRITER, "system:serviceaccount:demo:app"),
            app("elsewhere", ELSEWHERE, "system:serviceaccount:demo:app"),
            issuer.issuers_section()
        );
        let token_requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&token_requests);
        let emulator = wif_sts::LocalEmulator::start_with(&yaml, &dir, |router| {
            router.layer(axum::middleware::from_fn_with_state(counter, count))
        })
        .await
        .unwrap();
        let setup = Setup {
            dir,
            issuer,
            emulator,
            token_requests,
        };
        setup.write_token(&setup.issuer.token("demo", "app").unwrap());
        setup
    }

    /// Writes the token file kubelet-style (a new file renamed over the old one).
    pub(crate) fn write_token(&self, token: &str) {
        let next = self.dir.join("token.next");
        std::fs::write(&next, token).unwrap();
        std::fs::rename(&next, self.dir.join("token")).unwrap();
    }

    /// What the webhook injects for demo/app: reader by default, writer named in tenant B,
    /// and `mismatched` named too.
    pub(crate) fn env(&self) -> HashMap<&'static str, String> {
        HashMap::from([
            ("AZURE_AUTHORITY_HOST", self.emulator.url.clone()),
            ("AZURE_TENANT_ID", TENANT_A.to_owned()),
            ("AZURE_CLIENT_ID", READER.to_owned()),
            ("AZURE_CLIENT_ID_WRITER", WRITER.to_owned()),
            ("AZURE_TENANT_ID_WRITER", TENANT_B.to_owned()),
            ("AZURE_CLIENT_ID_MISMATCHED", MISMATCHED.to_owned()),
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                self.dir.join("token").display().to_string(),
            ),
        ])
    }

    pub(crate) fn exchanges(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }

    /// A proxy for `env`, serving until the returned sender is dropped.
    pub(crate) async fn proxy_with(
        &self,
        env: HashMap<&'static str, String>,
        options: ProxyOptions,
    ) -> (Proxy, RunningProxy) {
        let names: Vec<String> = env.keys().map(|k| (*k).to_owned()).collect();
        let table = IdentityTable::from_env(&env, names).unwrap();
        let workload = WorkloadIdentity::from_env(&env, Some(self.emulator.ca_pem.as_bytes())).unwrap();
        let proxy = Proxy::bind(options, workload, table).await.unwrap();
        let running = RunningProxy {
            url: format!("http://{}", proxy.address),
            metrics: proxy.metrics.clone(),
            stop: None,
        };
        (proxy, running)
    }

    /// The pod's proxy with the App Service secret and no passthrough, serving.
    pub(crate) async fn proxy(&self) -> RunningProxy {
        self.serve(self.env(), options()).await
    }

    pub(crate) async fn serve(&self, env: HashMap<&'static str, String>, options: ProxyOptions) -> RunningProxy {
        let (proxy, mut running) = self.proxy_with(env, options).await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(proxy.serve(async move {
            let _ = stopped.await;
        }));
        running.stop = Some(stop);
        running
    }
}

pub(crate) fn options() -> ProxyOptions {
    ProxyOptions {
        port: 0,
        identity_header: Some(SECRET.into()),
        ..ProxyOptions::default()
    }
}

/// A proxy being served; dropping it stops it.
#[derive(Debug)]
pub(crate) struct RunningProxy {
    pub(crate) url: String,
    pub(crate) metrics: wif_proxy::metrics::ProxyMetrics,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// An answer: status, content type and JSON body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Value,
    pub(crate) text: String,
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

impl RunningProxy {
    /// GETs `path_and_query` with `headers`.
    pub(crate) async fn get(&self, path_and_query: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = http().get(format!("{}{path_and_query}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let content_type = answer
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let text = answer.text().await.unwrap();
        Answer {
            status,
            content_type,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// An IMDS token request, as SDKs send it, for `resource` plus `extra` query.
    pub(crate) async fn imds(&self, query: &str) -> Answer {
        self.get(
            &format!("/metadata/identity/oauth2/token?api-version=2018-02-01&{query}"),
            &[("Metadata", "true")],
        )
        .await
    }
}

pub(crate) fn claims(token: &str) -> serde_json::Map<String, Value> {
    wif_jose::decode_unverified(token).unwrap().claims
}

/// A loopback listener that accepts connections and never answers (a silent Entra).
pub(crate) async fn silent_listener() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (address, task)
}
