//! The floor of a token issuance: one RS256 verify (the assertion) plus one RS256 sign (the
//! access token), on `--threads` threads for `--seconds`, with claims shaped like the
//! emulator's. Prints operations per second; scripts/bench-sts puts the emulator's
//! throughput next to it.
//!
//! cargo run --release -p wif-jose --example rs256_floor -- --threads 2 --seconds 5

use std::time::{Duration, Instant};

use serde_json::{Map, json};
use wif_jose::{Algorithm, SigningKey, Validation, jwks_of, sign, verify};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let threads = arg("--threads", 2);
    let seconds = arg("--seconds", 5);
    let now = 1_900_000_000;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let issuer = SigningKey::generate(Algorithm::RS256).expect("key");
                let emulator = SigningKey::generate(Algorithm::RS256).expect("key");
                let keys = jwks_of(&[issuer.public_key().clone()]);
                let assertion = sign(&issuer, &Map::new(), &json!({
                    "aud": ["api://AzureADTokenExchange"], "exp": now + 3600, "iat": now, "nbf": now,
                    "iss": "https://127.0.0.1:8443/", "sub": "system:serviceaccount:demo:app"
                }))
                .expect("sign");
                let claims = json!({
                    "aud": "https://vault.azure.net", "iss": "https://sts.windows.net/aaaaaaaa-0000-4000-8000-00000000000a/",
                    "iat": now, "nbf": now, "exp": now + 3599, "appid": "11111111-0000-4000-8000-000000000001",
                    "oid": "22222222-0000-4000-8000-000000000002", "tid": "aaaaaaaa-0000-4000-8000-00000000000a", "ver": "1.0"
                });
                let deadline = Instant::now() + Duration::from_secs(seconds);
                let mut done = 0u64;
                while Instant::now() < deadline {
                    verify(&assertion, &keys, &Validation::default(), now).expect("valid");
                    sign(&emulator, &Map::new(), &claims).expect("sign");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    println!(
        "floor: {:.0} issuances/s (RS256 verify + sign, {threads} threads, {seconds} s)",
        total as f64 / seconds as f64
    );
}
