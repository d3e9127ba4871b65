//! The exchange pipeline's order and its refusals, without sockets.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::{Map, json};
use wif_jose::{Algorithm, JwkSet, SigningKey, jwks_of, sign};

use super::*;

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const CLIENT: &str = "11111111-0000-4000-8000-000000000001";
const ISSUER: &str = "https://oidc.example/";
const NOW: i64 = 1_900_000_000;
const BASE: &str = "https://127.0.0.1:8444";

fn directory() -> Directory {
    let yaml = format!(
        "tenants:\n  - tenantId: {TENANT}\n    domain: contoso.onmicrosoft.com\n    applications:\n      - displayName: reader\n        appId: {CLIENT}\n        federatedIdentityCredentials:\n          - {{ name: k8s, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}\n"
    );
    Directory::from_yaml(&yaml, Path::new(".")).unwrap()
}

fn assertion(key: &SigningKey, iss: &str, sub: &str) -> String {
    let claims = json!({ "iss": iss, "sub": sub, "aud": ["api://AzureADTokenExchange"], "iat": NOW, "nbf": NOW, "exp": NOW + 3600 });
    sign(key, &Map::new(), &claims).unwrap()
}

fn form(pairs: &[(&str, &str)]) -> Form {
    Form {
        fields: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    }
}

fn good(assertion: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", CLIENT.into()),
        ("scope", "https://vault.azure.net/.default".into()),
        ("client_assertion_type", JWT_BEARER.into()),
        ("client_assertion", assertion.into()),
    ]
}

fn run(fields: &[(&str, String)], tenant: &str, keys: &JwkSet, now: i64) -> Result<Grant, EntraError> {
    let dir = directory();
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let prepared = prepare(&dir, Endpoint::V2, tenant, &form(&pairs), BASE)?;
    let verified = verify(&prepared, keys).map_err(|e| signature_error(&prepared, &e))?;
    finish(verified, now)
}

#[test]
fn the_pipeline_grants_and_refuses_in_order() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = jwks_of(&[key.public_key().clone()]);
    let token = assertion(&key, ISSUER, "system:serviceaccount:demo:app");
    let grant = run(&good(&token), "contoso.onmicrosoft.com", &keys, NOW).unwrap();
    assert_eq!(
        (
            grant.tenant_id.as_str(),
            grant.resource.as_str(),
            grant.credential.as_str()
        ),
        (TENANT, "https://vault.azure.net", "k8s")
    );

    let code = |fields: Vec<(&'static str, String)>, tenant: &str, now: i64| {
        run(&fields, tenant, &keys, now).unwrap_err().code
    };
    assert_eq!(code(good(&token), "common", NOW), 900_023);
    assert_eq!(code(good(&token), "bbbbbbbb-0000-4000-8000-00000000000b", NOW), 90_002);
    let mut wrong_grant = good(&token);
    wrong_grant[0].1 = "password".into();
    assert_eq!(code(wrong_grant, TENANT, NOW), 70_003);
    let mut unknown = good(&token);
    unknown[1].1 = "99999999-0000-4000-8000-000000000009".into();
    assert_eq!(code(unknown, TENANT, NOW), 700_016);
    let no_assertion: Vec<_> = good(&token)
        .into_iter()
        .filter(|(k, _)| *k != "client_assertion")
        .collect();
    assert_eq!(code(no_assertion, TENANT, NOW), 7_000_216);
    assert_eq!(code(good("garbage"), TENANT, NOW), 50_027);
    assert_eq!(
        code(good(&assertion(&key, "https://sts.windows.net/x/", "s")), TENANT, NOW),
        700_222
    );
    assert_eq!(
        code(
            good(&assertion(&key, &format!("{BASE}/{TENANT}/v2.0"), "s")),
            TENANT,
            NOW
        ),
        700_222
    );
    assert_eq!(
        code(good(&assertion(&key, "https://oidc.example", "s")), TENANT, NOW),
        700_211
    );
    let other = SigningKey::generate(Algorithm::ES256).unwrap();
    assert_eq!(
        code(
            good(&assertion(&other, ISSUER, "system:serviceaccount:demo:app")),
            TENANT,
            NOW
        ),
        7_000_272
    );
    assert_eq!(code(good(&token), TENANT, NOW + 7200), 700_024);
    assert_eq!(
        code(
            good(&assertion(&key, ISSUER, "system:serviceaccount:prod:app")),
            TENANT,
            NOW
        ),
        700_213
    );
    let mut scope = good(&token);
    scope[2].1 = "https://vault.azure.net/user_impersonation".into();
    assert_eq!(code(scope, TENANT, NOW), 1_002_012);
}

#[test]
fn an_issuer_mismatch_comes_with_its_diagnosis() {
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let keys = jwks_of(&[key.public_key().clone()]);
    let err = run(&good(&assertion(&key, "https://oidc.example", "s")), TENANT, &keys, NOW).unwrap_err();
    assert!(err.diagnosis.unwrap_or_default().contains("trailing slash"));
}

#[test]
fn scopes() {
    let v2 = |s| resource_of(s, Endpoint::V2);
    assert_eq!(
        v2("https://vault.azure.net/.default"),
        Ok("https://vault.azure.net".into())
    );
    assert_eq!(
        v2("https://management.core.windows.net//.default"),
        Ok("https://management.core.windows.net/".into())
    );
    assert_eq!(
        v2("api://22222222-2222-2222-2222-222222222222/.default openid"),
        Ok("api://22222222-2222-2222-2222-222222222222".into())
    );
    assert_eq!(
        v2("https://vault.azure.net/user_impersonation").unwrap_err().code,
        1_002_012
    );
    assert_eq!(v2("https://a/.default https://b/.default").unwrap_err().code, 700_022);
    assert_eq!(v2("/.default").unwrap_err().code, 70_011);
    assert_eq!(v2("openid").unwrap_err().code, 70_011);
    assert_eq!(
        resource_of("https://vault.azure.net", Endpoint::V1),
        Ok("https://vault.azure.net".into())
    );
}

#[test]
fn forms_ignore_unknown_fields_and_decode() {
    let form = Form::parse(b"grant_type=client_credentials&x-client-SKU=msal.js.node&scope=https%3A%2F%2Fvault.azure.net%2F.default&claims=%7B%7D").unwrap();
    assert_eq!(form.get("scope"), Some("https://vault.azure.net/.default"));
    assert_eq!(form.get("claims"), Some("{}"));
    assert_eq!(form.required("client_id").unwrap_err().code, 900_144);
}

#[test]
fn an_unsigned_caller_with_a_wrong_issuer_learns_nothing_of_the_directory() {
    let trusted = SigningKey::generate(Algorithm::RS256).unwrap();
    let keys = jwks_of(&[trusted.public_key().clone()]);
    let stranger = SigningKey::generate(Algorithm::RS256).unwrap();
    // One letter from the credential's issuer, but signed by a key the issuer never published.
    let err = run(
        &good(&assertion(&stranger, "https://oidc.example", "s")),
        TENANT,
        &keys,
        NOW,
    )
    .unwrap_err();
    assert_eq!((err.code, err.status), (700_211, 401));
    let said = format!("{} {}", err.message, err.diagnosis.as_deref().unwrap_or_default());
    assert!(
        !said.contains("https://oidc.example/"),
        "the trusted issuer leaked: {said}"
    );
    assert!(
        !said.contains("k8s") && !said.contains("demo:app"),
        "the credential leaked: {said}"
    );
    let detail = err.log_detail.unwrap_or_default();
    assert!(
        detail.contains("closest trusted issuer 'https://oidc.example/'"),
        "{detail}"
    );
}

#[test]
fn directory_listings_go_to_the_log_only() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = jwks_of(&[key.public_key().clone()]);
    let token = assertion(&key, ISSUER, "system:serviceaccount:demo:app");
    let mut unknown = good(&token);
    unknown[1].1 = "99999999-0000-4000-8000-000000000009".into();
    let err = run(&unknown, TENANT, &keys, NOW).unwrap_err();
    assert_eq!(err.code, 700_016);
    assert!(!err.diagnosis.unwrap_or_default().contains(CLIENT));
    assert!(
        err.log_detail
            .unwrap_or_default()
            .contains(&format!("{CLIENT} (reader)"))
    );
    let err = run(&good(&token), "bbbbbbbb-0000-4000-8000-00000000000b", &keys, NOW).unwrap_err();
    assert_eq!(err.code, 90_002);
    assert!(!err.diagnosis.unwrap_or_default().contains(TENANT));
    assert!(err.log_detail.unwrap_or_default().contains(TENANT));
}

#[test]
fn claims_over_entras_limit_are_refused_before_any_matching() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = jwks_of(&[key.public_key().clone()]);
    let long = "x".repeat(4000);
    let err = run(&good(&assertion(&key, ISSUER, &long)), TENANT, &keys, NOW).unwrap_err();
    assert_eq!(err.code, 700_213);
    assert_eq!(
        err.diagnosis.as_deref(),
        Some(
            "the token's sub is 4000 characters long, and a federated identity credential holds at most 600, so none can match it"
        )
    );
    let err = run(
        &good(&assertion(&key, &format!("https://{long}"), "s")),
        TENANT,
        &keys,
        NOW,
    )
    .unwrap_err();
    assert_eq!(err.code, 700_211);
    assert!(
        err.diagnosis
            .unwrap_or_default()
            .starts_with("the token's iss is 4008 characters long")
    );
}

#[test]
fn a_duplicated_parameter_is_refused_as_entra_refuses_it() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = jwks_of(&[key.public_key().clone()]);
    let token = assertion(&key, ISSUER, "system:serviceaccount:demo:app");
    for name in [
        "client_id",
        "client_assertion",
        "grant_type",
        "scope",
        "client_assertion_type",
    ] {
        let mut fields = good(&token);
        let value = fields.iter().find(|(k, _)| *k == name).unwrap().1.clone();
        fields.push((name, value));
        let err = run(&fields, TENANT, &keys, NOW).unwrap_err();
        assert_eq!(
            (err.code, err.status, err.error),
            (9_000_411, 400, "invalid_request"),
            "{name}"
        );
        assert_eq!(
            err.message,
            format!("The request is not properly formatted. The parameter '{name}' is duplicated.")
        );
    }
    // Unknown fields may repeat (MSAL's telemetry does no harm).
    let mut telemetry = good(&token);
    telemetry.push(("x-client-SKU", "a".into()));
    telemetry.push(("x-client-SKU", "b".into()));
    assert!(run(&telemetry, TENANT, &keys, NOW).is_ok());
}

#[test]
fn a_date_no_issuer_means_is_a_malformed_assertion() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = jwks_of(&[key.public_key().clone()]);
    for exp in [json!(1e20), json!(1e308), json!(9_223_372_036_854_775_807i64)] {
        let claims = json!({ "iss": ISSUER, "sub": "system:serviceaccount:demo:app", "aud": ["api://AzureADTokenExchange"], "iat": NOW, "nbf": NOW, "exp": exp });
        let token = sign(&key, &Map::new(), &claims).unwrap();
        let err = run(&good(&token), TENANT, &keys, NOW).unwrap_err();
        assert_eq!(err.code, 50_027, "{exp}");
        assert!(
            err.diagnosis
                .unwrap_or_default()
                .starts_with("malformed token: exp is not a NumericDate")
        );
    }
}

#[test]
fn only_the_emulators_own_origin_is_entra() {
    assert!(is_entra_issuer(
        "https://127.0.0.1:1844/aaaa/v2.0",
        "https://127.0.0.1:1844"
    ));
    assert!(is_entra_issuer("https://sts.windows.net/t/", "https://127.0.0.1:1844"));
    assert!(is_entra_issuer(
        "https://login.microsoftonline.com:443/t/v2.0",
        "https://127.0.0.1:1844"
    ));
    // A neighbouring port, a port-less base, and a host that merely starts alike.
    assert!(!is_entra_issuer(
        "https://127.0.0.1:18443/cluster",
        "https://127.0.0.1:1844"
    ));
    assert!(!is_entra_issuer("https://127.0.0.1:8443/", "https://127.0.0.1"));
    assert!(!is_entra_issuer(
        "https://sts.windows.net.example/t/",
        "https://127.0.0.1:1844"
    ));
    assert!(!is_entra_issuer("not a url", "https://127.0.0.1:1844"));

    // Through the pipeline: the emulator on 1844 and a cluster issuer on 18443.
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = jwks_of(&[key.public_key().clone()]);
    let dir = Directory::from_yaml(
        &format!(
            "tenants:\n  - tenantId: {TENANT}\n    applications:\n      - displayName: reader\n        appId: {CLIENT}\n        federatedIdentityCredentials:\n          - {{ name: k8s, issuer: \"https://127.0.0.1:18443/cluster\", subject: \"s\", audiences: [api://AzureADTokenExchange] }}\n"
        ),
        Path::new("."),
    )
    .unwrap();
    let token = assertion(&key, "https://127.0.0.1:18443/cluster", "s");
    let fields = good(&token);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let prepared = prepare(&dir, Endpoint::V2, TENANT, &form(&pairs), "https://127.0.0.1:1844").unwrap();
    let grant = finish(verify(&prepared, &keys).unwrap(), NOW).unwrap();
    assert_eq!(grant.credential, "k8s");
}

#[test]
fn odd_and_encryption_keys_are_left_out_and_small_keys_named_as_such() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let good_keys = jwks_of(&[key.public_key().clone()]);
    let mut document: serde_json::Value = serde_json::from_str(&good_keys.to_pretty_json()).unwrap();
    let kid = good_keys.keys[0].kid.clone().unwrap();
    let list = document["keys"].as_array_mut().unwrap();
    list.insert(0, json!({ "kty": "RSA", "kid": 5, "n": "AQAB", "e": "AQAB" }));
    // The same key again under another kid, marked for encryption.
    let mut enc = list[1].clone();
    enc["kid"] = json!("enc-kid");
    enc["use"] = json!("enc");
    list.push(enc);
    let keys = JwkSet::from_json(document.to_string().as_bytes()).unwrap();
    let token = assertion(&key, ISSUER, "system:serviceaccount:demo:app");
    assert!(
        run(&good(&token), TENANT, &keys, NOW).is_ok(),
        "one odd key does not hide the good one"
    );

    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    let claims = json!({ "iss": ISSUER, "sub": "system:serviceaccount:demo:app", "aud": ["api://AzureADTokenExchange"], "iat": NOW, "nbf": NOW, "exp": NOW + 3600 });
    let signed = sign(&key, &header, &claims).unwrap();
    let for_enc = signed.replacen(&b64_header(&kid), &b64_header("enc-kid"), 1);
    let err = run(&good(&for_enc), TENANT, &keys, NOW).unwrap_err();
    assert_eq!(err.code, 7_000_272);
    let diagnosis = err.diagnosis.unwrap_or_default();
    assert!(
        diagnosis.contains(r#"key 2 (kid "enc-kid") is marked "use": "enc""#),
        "{diagnosis}"
    );

    let mut n = vec![0x80u8];
    n.extend(std::iter::repeat_n(0x11, 127));
    let small = JwkSet::from_json(
        json!({ "keys": [{ "kty": "RSA", "kid": "small", "n": base64_url(&n), "e": "AQAB" }] })
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let rs = format!(
        "{}.{}.{}",
        base64_url(br#"{"alg":"RS256","kid":"small"}"#),
        base64_url(claims.to_string().as_bytes()),
        base64_url(&[0; 128])
    );
    let err = run(&good(&rs), TENANT, &small, NOW).unwrap_err();
    assert_eq!(err.code, 5_002_730);
    let diagnosis = err.diagnosis.unwrap_or_default();
    assert!(
        diagnosis.contains("the RSA key is 1024 bits; at least 2048 are required"),
        "{diagnosis}"
    );
    assert!(!diagnosis.contains("altered"), "not called tampering: {diagnosis}");
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The header segment `sign` writes for ES256 with `kid` and `typ: JWT`.
fn b64_header(kid: &str) -> String {
    base64_url(
        json!({ "alg": "ES256", "kid": kid, "typ": "JWT" })
            .to_string()
            .as_bytes(),
    )
}
