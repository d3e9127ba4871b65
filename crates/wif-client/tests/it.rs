//! wif-client against the real emulator over HTTPS on 127.0.0.1: two tenants and two named
//! identities from one projected token, the token file rewritten mid-run, 100 concurrent
//! callers and one request, refresh ahead of expiry, a failed refresh that keeps serving
//! the valid token, an expired token never served, and the same token through
//! `azure_core`'s `TokenCredential` as an Azure SDK client would ask for it.

// A test binary: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use wif_client::assertion::TokenFile;
use wif_client::cache::{Clock, ManualClock, TokenCache};
use wif_client::exchange::TokenClient;
use wif_client::{Identity, WorkloadIdentity};
use wif_jose::kubernetes::random_uuid;

const TENANT_A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const TENANT_B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const READER: &str = "11111111-0000-4000-8000-000000000001";
const WRITER: &str = "22222222-0000-4000-8000-000000000002";
const ISSUER: &str = "https://oidc.example/cluster-1/";
const VAULT: &str = "https://vault.azure.net/.default";

struct Emulator {
    url: String,
    ca_pem: String,
    dir: PathBuf,
    issuer: wif_issuer::StaticIssuer,
    token_requests: Arc<AtomicUsize>,
    _server: wif_sts::LocalEmulator,
}

impl Drop for Emulator {
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

async fn start() -> Emulator {
    let dir = std::env::temp_dir().join(format!("wif-client-it-{}", random_uuid().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = wif_issuer::StaticIssuer::create(ISSUER, &dir).unwrap();
    let fic = |name: &str| {
        format!(
            "          - {{ name: {name}, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\n"
        )
    };
    let yaml = format!(
        "tenants:\n  - tenantId: {TENANT_A}\n    applications:\n      - displayName: reader\n        appId: {READER}\n        federatedIdentityCredentials:\n{}  - tenantId: {TENANT_B}\n    applications:\n      - displayName: writer\n        appId: {WRITER}\n        federatedIdentityCredentials:\n{}{}",
        fic("reader-fic"),
        fic("writer-fic"),
        issuer.issuers_section()
    );
    let token_requests = Arc::new(AtomicUsize::new(0));
    let counter = token_requests.clone();
    let server = wif_sts::LocalEmulator::start_with(&yaml, &dir, |router| {
        router.layer(axum::middleware::from_fn_with_state(counter, count))
    })
    .await
    .unwrap();
    Emulator {
        url: server.url.clone(),
        ca_pem: server.ca_pem.clone(),
        dir,
        issuer,
        token_requests,
        _server: server,
    }
}

impl Emulator {
    /// Writes a projected token for `demo/<service_account>` to the token file, kubelet-style
    /// (a new file renamed over the old one).
    fn write_token(&self, service_account: &str) -> PathBuf {
        let token = self.issuer.token("demo", service_account).unwrap();
        let path = self.dir.join("token");
        let next = self.dir.join("token.next");
        std::fs::write(&next, token).unwrap();
        std::fs::rename(&next, &path).unwrap();
        path
    }

    /// The variables the webhook injects for the demo ServiceAccount (reader by default,
    /// writer as a named identity in another tenant), pointing at this emulator.
    fn env(&self) -> HashMap<&'static str, String> {
        HashMap::from([
            ("AZURE_AUTHORITY_HOST", self.url.clone()),
            ("AZURE_TENANT_ID", TENANT_A.to_owned()),
            ("AZURE_CLIENT_ID", READER.to_owned()),
            ("AZURE_CLIENT_ID_WRITER", WRITER.to_owned()),
            ("AZURE_TENANT_ID_WRITER", TENANT_B.to_owned()),
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                self.dir.join("token").display().to_string(),
            ),
        ])
    }

    fn requests(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }
}

struct Env(HashMap<&'static str, String>);

impl wif_core::settings::EnvSource for Env {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

fn claims(token: &str) -> serde_json::Map<String, serde_json::Value> {
    wif_jose::decode_unverified(token).unwrap().claims
}

fn workload_identity(emulator: &Emulator, clock: Option<Arc<dyn Clock>>) -> WorkloadIdentity {
    let env = Env(emulator.env());
    let client = TokenClient::new(&env, Some(emulator.ca_pem.as_bytes())).unwrap();
    let cache = Arc::new(clock.map_or_else(TokenCache::default, TokenCache::with_clock));
    WorkloadIdentity::new(Arc::new(TokenFile::new(emulator.dir.join("token"))), client, cache)
}

#[tokio::test]
async fn two_identities_in_two_tenants_from_one_projected_token() {
    let emulator = start().await;
    emulator.write_token("app");
    let env = Env(emulator.env());
    let wi = workload_identity(&emulator, None);
    let reader = wi.default_credential(&env).unwrap().get_token(VAULT).await.unwrap();
    let writer = wi
        .named(&env, "writer")
        .unwrap()
        .get_token("https://storage.azure.com/.default")
        .await
        .unwrap();
    assert_eq!(
        (
            claims(&reader.token)["tid"].as_str(),
            claims(&reader.token)["appid"].as_str()
        ),
        (Some(TENANT_A), Some(READER))
    );
    assert_eq!(
        (
            claims(&writer.token)["tid"].as_str(),
            claims(&writer.token)["appid"].as_str()
        ),
        (Some(TENANT_B), Some(WRITER))
    );
    // Any identity chosen at run time, too.
    let chosen = wi
        .credential(Identity::new(&emulator.url, TENANT_B, WRITER).unwrap())
        .get_token(VAULT)
        .await
        .unwrap();
    assert_eq!(claims(&chosen.token)["tid"], TENANT_B);
    assert_eq!(emulator.requests(), 3);
}

#[tokio::test]
async fn the_rewritten_token_file_is_picked_up() {
    let emulator = start().await;
    emulator.write_token("stranger"); // no credential trusts it
    let env = Env(emulator.env());
    let credential = workload_identity(&emulator, None).default_credential(&env).unwrap();
    let refused = credential.get_token(VAULT).await.unwrap_err();
    assert_eq!(refused.aadsts(), Some(700213), "{refused}");
    assert!(
        refused
            .to_string()
            .contains("service account is 'app' in the credential but 'stranger'"),
        "{refused}"
    );
    emulator.write_token("app"); // kubelet rotates the file
    let token = credential
        .get_token("https://storage.azure.com/.default")
        .await
        .unwrap();
    assert_eq!(claims(&token.token)["aud"], "https://storage.azure.com");
}

/// After a refusal the key backs off (1 s, doubling to 30 s), for the same scope too; a
/// rewritten token file does not cut the backoff short. Decided so: the backoff exists to
/// keep a failing client from hammering Entra, its cap (30 s) is far below kubelet's rewrite
/// interval (minutes), and the first attempt past it reads the new file.
#[tokio::test]
async fn the_same_scope_is_retried_only_past_the_backoff() {
    let emulator = start().await;
    emulator.write_token("stranger");
    let env = Env(emulator.env());
    let clock = Arc::new(ManualClock::new(wif_core::clock::SystemClock.now_ms()));
    let credential = workload_identity(&emulator, Some(clock.clone()))
        .default_credential(&env)
        .unwrap();
    let refused = credential.get_token(VAULT).await.unwrap_err();
    assert_eq!(refused.aadsts(), Some(700213));
    assert_eq!(emulator.requests(), 1);
    let again = credential.get_token(VAULT).await.unwrap_err();
    assert_eq!(again.aadsts(), Some(700213), "the remembered refusal");
    assert_eq!(emulator.requests(), 1, "within the backoff: not asked again");
    emulator.write_token("app");
    let still = credential.get_token(VAULT).await.unwrap_err();
    assert_eq!(
        still.aadsts(),
        Some(700213),
        "a rewritten file waits for the backoff too"
    );
    assert_eq!(emulator.requests(), 1);
    clock.advance_secs(2);
    let token = credential.get_token(VAULT).await.unwrap();
    assert_eq!(claims(&token.token)["aud"], "https://vault.azure.net");
    assert_eq!(
        emulator.requests(),
        2,
        "one attempt past the backoff, with the new file"
    );
}

#[tokio::test]
async fn a_hundred_concurrent_callers_cause_one_request() {
    let emulator = start().await;
    emulator.write_token("app");
    let env = Env(emulator.env());
    let credential = Arc::new(workload_identity(&emulator, None).default_credential(&env).unwrap());
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let credential = Arc::clone(&credential);
            tokio::spawn(async move { credential.get_token(VAULT).await.unwrap().token })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap());
    }
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every caller got the same token"
    );
    assert_eq!(emulator.requests(), 1);
}

/// Waits (bounded) for the background refresh to replace `old`; the new token.
async fn renewed(
    credential: &wif_client::FederatedCredential,
    old: &wif_client::AccessToken,
) -> wif_client::AccessToken {
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            let token = credential.get_token(VAULT).await.unwrap();
            if token.token != old.token {
                return token;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the background refresh lands")
}

async fn wait_for(mut done: impl FnMut() -> bool) {
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while !done() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the request reached the emulator");
}

#[tokio::test]
async fn refresh_ahead_stale_on_failure_and_never_expired() {
    let emulator = start().await;
    emulator.write_token("app");
    let env = Env(emulator.env());
    let clock = Arc::new(ManualClock::new(wif_core::clock::SystemClock.now_ms()));
    let credential = workload_identity(&emulator, Some(clock.clone()))
        .default_credential(&env)
        .unwrap();
    let first = credential.get_token(VAULT).await.unwrap();
    assert_eq!(credential.get_token(VAULT).await.unwrap(), first);
    assert_eq!(emulator.requests(), 1);

    clock.advance_secs(3599 - 299); // inside the five minutes before expiry: refresh is due
    let during = credential.get_token(VAULT).await.unwrap();
    assert_eq!(during, first, "the valid token is served while the refresh runs");
    let second = renewed(&credential, &first).await;
    assert_eq!(emulator.requests(), 2, "refreshed before expiry, once");

    emulator.write_token("stranger"); // from now on the exchange fails
    clock.advance_secs(3599 - 299);
    let stale = credential.get_token(VAULT).await.unwrap();
    assert_eq!(stale, second, "a failed refresh keeps serving the valid token");
    wait_for(|| emulator.requests() == 3).await;

    clock.advance_secs(300); // the token has expired now
    let error = credential.get_token(VAULT).await.unwrap_err();
    assert_eq!(
        error.aadsts(),
        Some(700213),
        "an expired token is never served: {error}"
    );
}

#[tokio::test]
async fn azure_sdk_call_sites_get_the_same_token_through_token_credential() {
    use azure_core::credentials::TokenCredential;
    let emulator = start().await;
    emulator.write_token("app");
    let env = Env(emulator.env());
    let credential = workload_identity(&emulator, None).named(&env, "writer").unwrap();
    let ours = credential.get_token(VAULT).await.unwrap();
    // How every Azure SDK for Rust client holds a credential.
    let sdk: Arc<dyn TokenCredential> = Arc::new(credential);
    let theirs = sdk.get_token(&[VAULT], None).await.unwrap();
    assert_eq!(theirs.token.secret(), &*ours.token);
    assert_eq!(theirs.expires_on.unix_timestamp(), ours.expires_on);
    assert_eq!(emulator.requests(), 1, "served from the shared cache");
    assert!(
        sdk.get_token(&[VAULT, "https://storage.azure.com/.default"], None)
            .await
            .is_err(),
        "one scope only"
    );
}
