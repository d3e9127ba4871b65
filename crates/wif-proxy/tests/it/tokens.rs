//! Tokens through the proxy: IMDS's and App Service's shapes, identities chosen by client id
//! and alias, the cache, the token file rewritten, readiness, metrics and the passthrough.

use std::time::Duration;

use axum::routing::any;
use wif_proxy::ProxyOptions;

use super::*;

/// The cache knows a token's expiry from `expires_in`, counted from when the answer arrived: it
/// is the token's `exp`, or past it by the seconds the answer took to arrive (one, seen on a
/// loaded CI machine when a second began in between; five allowed).
fn assert_expiry_is_the_tokens(expires_on: i64, token: &serde_json::Map<String, Value>) {
    let exp = token["exp"].as_i64().unwrap();
    assert!(
        (exp..=exp + 5).contains(&expires_on),
        "expires_on {expires_on}, exp {exp}"
    );
}

#[tokio::test]
async fn imds_answers_the_default_identity_with_every_value_a_string() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    let answer = proxy.imds("resource=https%3A%2F%2Fvault.azure.net").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.content_type, "application/json; charset=utf-8");
    let body = answer.body.as_object().unwrap();
    let mut fields: Vec<&str> = body.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "access_token",
            "client_id",
            "expires_in",
            "expires_on",
            "ext_expires_in",
            "not_before",
            "resource",
            "token_type"
        ]
    );
    assert!(body.values().all(Value::is_string), "{body:?}");
    assert_eq!(body["client_id"], READER);
    assert_eq!(body["resource"], "https://vault.azure.net");
    assert_eq!(body["token_type"], "Bearer");
    let token = claims(body["access_token"].as_str().unwrap());
    assert_eq!(token["aud"], "https://vault.azure.net");
    assert_eq!(token["tid"], TENANT_A);
    assert_eq!(token["appid"], READER);
    let expires_on: i64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    assert_expiry_is_the_tokens(expires_on, &token);
    let expires_in: i64 = body["expires_in"].as_str().unwrap().parse().unwrap();
    assert!((3000..=86_400).contains(&expires_in), "{expires_in}");

    // A trailing slash on the resource is upstream's v1 rule: scope `...//.default`.
    let slash = proxy.imds("resource=https://management.azure.com/").await;
    assert_eq!(slash.status, 200, "{}", slash.text);
    assert_eq!(slash.body["resource"], "https://management.azure.com/");
    assert_eq!(
        claims(slash.body["access_token"].as_str().unwrap())["aud"],
        "https://management.azure.com/"
    );
    // Upstream's path matching: first segment case-insensitive, trailing slash accepted.
    let path = proxy
        .get(
            "/Metadata/identity/oauth2/token/?resource=https://vault.azure.net",
            &[("Metadata", "true")],
        )
        .await;
    assert_eq!(path.status, 200, "{}", path.text);
}

#[tokio::test]
async fn client_id_or_alias_selects_a_named_identity_in_its_own_tenant() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    for selector in [WRITER, "writer", "WRITER"] {
        let answer = proxy
            .imds(&format!("resource=https://storage.azure.com&client_id={selector}"))
            .await;
        assert_eq!(answer.status, 200, "{selector}: {}", answer.text);
        assert_eq!(answer.body["client_id"], WRITER);
        let token = claims(answer.body["access_token"].as_str().unwrap());
        assert_eq!(
            (token["tid"].as_str(), token["appid"].as_str()),
            (Some(TENANT_B), Some(WRITER))
        );
    }
    let reader = proxy
        .imds(&format!("resource=https://storage.azure.com&client_id={READER}"))
        .await;
    assert_eq!(claims(reader.body["access_token"].as_str().unwrap())["tid"], TENANT_A);
}

#[tokio::test]
async fn one_exchange_serves_many_requests_and_a_new_token_file_is_read() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    let mut waiting = tokio::task::JoinSet::new();
    let url = proxy.url.clone();
    for _ in 0..20 {
        let url = url.clone();
        waiting.spawn(async move {
            http()
                .get(format!(
                    "{url}/metadata/identity/oauth2/token?resource=https://vault.azure.net"
                ))
                .header("Metadata", "true")
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned()
        });
    }
    let tokens: Vec<String> = waiting.join_all().await;
    assert!(tokens.iter().all(|t| *t == tokens[0]), "every caller got the one token");
    assert_eq!(setup.exchanges(), 1, "twenty concurrent first requests, one exchange");
    assert_eq!(proxy.metrics.exchange_count("ok"), 1);
    let again = proxy.imds("resource=https://vault.azure.net").await;
    assert_eq!(again.body["access_token"], tokens[0].as_str());
    assert_eq!(setup.exchanges(), 1, "a cached answer");
    // Whether a late one of the twenty found the token cached depends on timing; the count of
    // lookups does not, and the last one was a hit.
    let (hits, misses) = (proxy.metrics.cache_count("hit"), proxy.metrics.cache_count("miss"));
    assert_eq!(hits + misses, 21, "{hits} hits, {misses} misses");
    assert!(hits >= 1 && misses >= 1, "{hits} hits, {misses} misses");

    // kubelet rewrites the token (here: for a ServiceAccount no credential names). A resource
    // not cached yet is exchanged with the new token, so Entra refuses it.
    setup.write_token(&setup.issuer.token("demo", "other").unwrap());
    let refused = proxy.imds("resource=https://graph.microsoft.com").await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(refused.body["error_codes"], serde_json::json!([700213]));
    // The cached token is still served.
    assert_eq!(proxy.imds("resource=https://vault.azure.net").await.status, 200);
}

#[tokio::test]
async fn app_service_protocol_by_environment_variables_alone() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    let answer = proxy
        .get(
            "/msi/token?api-version=2019-08-01&resource=https://vault.azure.net&client_id=writer",
            &[("X-IDENTITY-HEADER", SECRET)],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.body.as_object().unwrap();
    let mut fields: Vec<&str> = body.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["access_token", "client_id", "expires_on", "resource", "token_type"]
    );
    assert_eq!(body["client_id"], WRITER);
    let expires_on: i64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    assert_expiry_is_the_tokens(expires_on, &claims(body["access_token"].as_str().unwrap()));
}

#[tokio::test]
async fn readiness_follows_the_token_file_and_metrics_count_requests() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    for path in ["/readyz", "/readyz/"] {
        let ready = proxy.get(path, &[]).await;
        assert_eq!((ready.status, ready.text.as_str()), (200, "ok"), "{path}");
    }
    assert_eq!(proxy.get("/healthz", &[]).await.status, 200);
    setup.write_token("not a token");
    let not_ready = proxy.get("/readyz", &[]).await;
    assert_eq!(not_ready.status, 503);
    assert!(
        not_ready.text.starts_with("the projected token is not a JWT"),
        "{}",
        not_ready.text
    );
    std::fs::remove_file(setup.dir.join("token")).unwrap();
    let gone = proxy.get("/readyz", &[]).await;
    assert_eq!(gone.status, 503);
    assert!(gone.text.contains("cannot be read"), "{}", gone.text);
    setup.write_token(&setup.issuer.token("demo", "app").unwrap());
    assert_eq!(proxy.get("/readyz", &[]).await.status, 200);

    proxy.imds("resource=https://vault.azure.net").await;
    proxy.imds("").await;
    let metrics = proxy.get("/metrics", &[]).await.text;
    for line in [
        "wif_proxy_requests_total{route=\"imds_token\",outcome=\"ok\"} 1",
        "wif_proxy_requests_total{route=\"imds_token\",outcome=\"refused\"} 1",
        "wif_proxy_requests_total{route=\"readyz\",outcome=\"not_ready\"} 2",
        "wif_proxy_token_exchanges_total{outcome=\"ok\"} 1",
        "wif_proxy_token_exchange_seconds_count 1",
        "wif_proxy_token_cache_total{result=\"miss\"} 1",
        "wif_connections_open ",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

/// A stand-in for the real IMDS that echoes what it was sent.
async fn echo(request: axum::extract::Request) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let echoed = serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path_and_query().map(|p| p.as_str()),
        "metadata": parts.headers.get("metadata").map(|v| v.to_str().unwrap()),
        "body": String::from_utf8_lossy(&body),
    });
    axum::response::Response::builder()
        .status(203)
        .header("x-imds", "stand-in")
        .body(axum::body::Body::from(echoed.to_string()))
        .unwrap()
}

#[tokio::test]
async fn other_imds_paths_are_refused_or_passed_through() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    let refused = proxy
        .get("/metadata/instance?api-version=2021-02-01", &[("Metadata", "true")])
        .await;
    assert_eq!(refused.status, 404);
    assert_eq!(refused.body["error"], "not_found");
    assert!(
        refused.body["error_description"]
            .as_str()
            .unwrap()
            .contains("/metadata/instance is not forwarded (start it with --imds-passthrough ADDR"),
        "{}",
        refused.text
    );
    // Every IMDS path keeps IMDS's header rule.
    assert_eq!(proxy.get("/metadata/instance", &[]).await.status, 400);

    let stand_in = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = stand_in.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(stand_in, axum::Router::new().fallback(any(echo)))
            .await
            .unwrap();
    });
    let passing = setup
        .serve(
            setup.env(),
            ProxyOptions {
                passthrough: Some(target),
                ..options()
            },
        )
        .await;
    let response = http()
        .post(format!(
            "{}/metadata/instance/compute?api-version=2021-02-01&format=json",
            passing.url
        ))
        .header("Metadata", "true")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 203);
    assert_eq!(response.headers()["x-imds"], "stand-in");
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(
        echoed,
        serde_json::json!({"method": "POST", "path": "/metadata/instance/compute?api-version=2021-02-01&format=json",
                           "metadata": "true", "body": "payload"})
    );
    assert_eq!(passing.metrics.request_count("other", "passed_through"), 1);
    // The token path is still the proxy's own.
    assert_eq!(passing.imds("resource=https://vault.azure.net").await.status, 200);
}

#[tokio::test]
async fn the_probe_waits_for_readiness_and_gives_up_with_upstreams_words() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    let port: u16 = proxy.url.rsplit(':').next().unwrap().parse().unwrap();
    wif_proxy::probe::probe(port, 1, Duration::from_millis(1))
        .await
        .unwrap();
    setup.write_token("garbage");
    let failed = wif_proxy::probe::probe(port, 2, Duration::from_millis(1))
        .await
        .unwrap_err();
    assert!(
        failed
            .to_string()
            .starts_with("failed to probe proxy: http://127.0.0.1:"),
        "{failed}"
    );
    assert!(failed.to_string().contains("503"), "{failed}");
    let nothing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = nothing.local_addr().unwrap().port();
    drop(nothing);
    let closed = wif_proxy::probe::probe(closed_port, 2, Duration::from_millis(1))
        .await
        .unwrap_err();
    assert!(closed.to_string().starts_with("failed to probe proxy"), "{closed}");
}
