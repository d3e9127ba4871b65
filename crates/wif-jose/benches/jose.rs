//! Verify and sign per algorithm, next to the raw aws-lc-rs operation on the same bytes (the
//! floor). The gap is what the JOSE layer costs: base64url, JSON, key selection and claims.

use std::hint::black_box;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, json};
use wif_jose::{Algorithm, SigningKey, Validation, jwks_of, sign, verify};

const NOW: i64 = 1_900_000_000;

fn bench(c: &mut Criterion) {
    let claims = json!({
        "aud": ["api://AzureADTokenExchange"], "exp": NOW + 3600, "iat": NOW, "nbf": NOW,
        "iss": "https://oidc.prod-aks.azure.com/11111111-1111-1111-1111-111111111111/",
        "jti": "e51f1fbc-4733-4b85-a59f-ba80c0523874",
        "kubernetes.io": { "namespace": "demo", "pod": { "name": "web-0", "uid": "0d8b260e-0000-0000-0000-000000000000" },
                           "serviceaccount": { "name": "app", "uid": "e6a8680e-0000-0000-0000-000000000000" } },
        "sub": "system:serviceaccount:demo:app"
    });
    let validation = Validation {
        issuer: claims["iss"].as_str().map(str::to_owned),
        audience: Some("api://AzureADTokenExchange".into()),
        ..Validation::default()
    };
    let mut group = c.benchmark_group("jose");
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::ES512] {
        let key = SigningKey::generate(alg).expect("key");
        // Several keys in the set, as during a rotation.
        let others: Vec<_> = (0..3)
            .map(|_| SigningKey::generate(alg).expect("key").public_key().clone())
            .collect();
        let keys = jwks_of(&[others, vec![key.public_key().clone()]].concat());
        let token = sign(&key, &Map::new(), &claims).expect("sign");
        let (input, sig) = token.rsplit_once('.').expect("jws");
        let sig = URL_SAFE_NO_PAD.decode(sig).expect("b64");
        let jwk = key.public_key().to_jwk();
        let b64 = |v: &Option<String>| URL_SAFE_NO_PAD.decode(v.as_deref().unwrap_or_default()).expect("b64");

        group.bench_function(format!("{alg}/verify"), |b| {
            b.iter(|| verify(black_box(&token), &keys, &validation, NOW).expect("valid"))
        });
        match alg {
            Algorithm::RS256 => {
                let (n, e) = (b64(&jwk.n), b64(&jwk.e));
                group.bench_function(format!("{alg}/verify floor (aws-lc-rs)"), |b| {
                    b.iter(|| {
                        RsaPublicKeyComponents { n: &n, e: &e }
                            .verify(
                                &signature::RSA_PKCS1_2048_8192_SHA256,
                                black_box(input.as_bytes()),
                                &sig,
                            )
                            .expect("valid")
                    })
                });
            }
            _ => {
                let point = [&[4u8][..], &b64(&jwk.x), &b64(&jwk.y)].concat();
                let verifier: &'static signature::EcdsaVerificationAlgorithm = match alg {
                    Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
                    Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
                    _ => &signature::ECDSA_P521_SHA512_FIXED,
                };
                let public = UnparsedPublicKey::new(verifier, point);
                group.bench_function(format!("{alg}/verify floor (aws-lc-rs)"), |b| {
                    b.iter(|| public.verify(black_box(input.as_bytes()), &sig).expect("valid"))
                });
            }
        }
        group.bench_function(format!("{alg}/sign"), |b| {
            b.iter(|| sign(&key, &Map::new(), black_box(&claims)).expect("sign"))
        });
        group.bench_function(format!("{alg}/sign floor (aws-lc-rs)"), |b| {
            b.iter(|| key.sign(black_box(input.as_bytes())).expect("sign"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
