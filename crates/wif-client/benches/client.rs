//! A cache hit (target: under 1 µs) next to a plain `HashMap` lookup of the same key (the
//! floor), and a full exchange against the local emulator over HTTPS on 127.0.0.1 (no cache).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use wif_client::Identity;
use wif_client::cache::TokenCache;
use wif_client::exchange::{FreshToken, TokenClient};
use wif_jose::kubernetes::{ProjectedToken, random_uuid};
use wif_jose::{Algorithm, SigningKey, jwks_of};

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const CLIENT: &str = "11111111-0000-4000-8000-000000000001";
const ISSUER: &str = "https://oidc.example/cluster-1/";
const SCOPE: &str = "https://vault.azure.net/.default";

struct NoEnv;
impl wif_core::settings::EnvSource for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("client");

    // Cache hit.
    let cache = TokenCache::default();
    let identity = Identity::new("https://login.example/", TENANT, CLIENT).expect("identity");
    let slots = cache.identity(&identity);
    runtime
        .block_on(cache.get(&slots, SCOPE, || async {
            Ok(FreshToken {
                access_token: "t".repeat(1500),
                expires_in: 3599,
                refresh_in: None,
            })
        }))
        .expect("filled");
    let mut floor = std::collections::HashMap::new();
    floor.insert(SCOPE.to_owned(), Arc::<str>::from("t".repeat(1500)));
    group.bench_function("hashmap lookup (floor)", |b| {
        b.iter(|| floor.get(black_box(SCOPE)).cloned())
    });
    group.bench_function("cache hit", |b| {
        b.iter(|| {
            // The hit path is synchronous: the future completes on its first poll.
            let future = cache.get(&slots, black_box(SCOPE), || async {
                unreachable!("a hit never fetches")
            });
            futures_lite_block_on(future)
        })
    });

    // Full exchange against the emulator.
    let dir = std::env::temp_dir().join(format!("wif-client-bench-{}", random_uuid().expect("uuid")));
    std::fs::create_dir_all(&dir).expect("dir");
    let issuer_key = SigningKey::generate(Algorithm::RS256).expect("key");
    std::fs::write(
        dir.join("jwks.json"),
        jwks_of(&[issuer_key.public_key().clone()]).to_pretty_json(),
    )
    .expect("jwks");
    let yaml = format!(
        "tenants:\n  - tenantId: {TENANT}\n    applications:\n      - displayName: reader\n        appId: {CLIENT}\n        federatedIdentityCredentials:\n          - {{ name: k8s, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\nissuers:\n  - {{ issuer: \"{ISSUER}\", jwksFile: jwks.json }}\n"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let assertion = ProjectedToken {
        issuer: ISSUER.into(),
        namespace: "demo".into(),
        service_account: "app".into(),
        service_account_uid: random_uuid().expect("uuid"),
        audiences: vec!["api://AzureADTokenExchange".into()],
        issued_at: now,
        expiration_seconds: 3600,
        pod: None,
        jti: random_uuid().expect("uuid"),
    }
    .sign(&issuer_key)
    .expect("sign");
    let emulator = runtime
        .block_on(wif_sts::LocalEmulator::start(&yaml, &dir))
        .expect("emulator");
    let url = emulator.url.clone();
    let client = TokenClient::new(&NoEnv, Some(emulator.ca_pem.as_bytes())).expect("client");
    let emulator_identity = Identity::new(&url, TENANT, CLIENT).expect("identity");
    group.sample_size(30);
    group.bench_function("full exchange against the local emulator (HTTPS keep-alive)", |b| {
        b.iter(|| {
            runtime
                .block_on(client.exchange(&emulator_identity, SCOPE, &assertion))
                .expect("token")
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

/// Polls a future that is ready at once (the cache hit path) without a runtime round trip.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
