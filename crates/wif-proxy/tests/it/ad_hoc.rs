//! Client ids the proxy was not told about, served as upstream serves them: exchanged in the
//! default tenant with the pod's token, Entra's federated credential deciding; Entra's
//! refusal passed on in each protocol's shape; one cache entry per client id; and a flood of
//! distinct ids held within the bound, least recently used evicted.

use serde_json::json;
use wif_proxy::ad_hoc::MAX_AD_HOC_IDENTITIES;

use super::*;

const VAULT: &str = "resource=https://vault.azure.net";

#[tokio::test]
async fn a_client_id_the_proxy_was_not_told_about_is_exchanged_in_the_default_tenant() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    assert!(!setup.env().values().any(|v| v == AD_HOC), "not in the proxy's env");
    let answer = proxy.imds(&format!("{VAULT}&client_id={AD_HOC}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["client_id"], AD_HOC);
    assert_eq!(answer.body["resource"], "https://vault.azure.net");
    let token = claims(answer.body["access_token"].as_str().unwrap());
    assert_eq!(
        (token["appid"].as_str(), token["tid"].as_str(), token["aud"].as_str()),
        (Some(AD_HOC), Some(TENANT_A), Some("https://vault.azure.net"))
    );
    assert_eq!(
        token["sub"], token["oid"],
        "an app-only token: the subject is the ad-hoc app's service principal"
    );
    assert_eq!(setup.exchanges(), 1);
    assert_eq!((proxy.metrics.ad_hoc_held(), proxy.metrics.ad_hoc_evictions()), (1, 0));

    // Cached per client id, in either case, and in App Service's protocol too.
    let upper = proxy
        .imds(&format!("{VAULT}&client_id={}", AD_HOC.to_uppercase()))
        .await;
    assert_eq!(upper.status, 200, "{}", upper.text);
    assert_eq!(upper.body["access_token"], answer.body["access_token"]);
    assert_eq!(upper.body["client_id"], AD_HOC);
    let app_service = proxy
        .get(
            &format!("/msi/token?api-version=2019-08-01&{VAULT}&client_id={AD_HOC}"),
            &[("X-IDENTITY-HEADER", SECRET)],
        )
        .await;
    assert_eq!(app_service.status, 200, "{}", app_service.text);
    assert_eq!(app_service.body["access_token"], answer.body["access_token"]);
    assert_eq!(app_service.body["client_id"], AD_HOC);
    assert_eq!(setup.exchanges(), 1, "one exchange for the three");
    assert_eq!(proxy.metrics.ad_hoc_held(), 1);

    // The configured identities are untouched by it.
    let default = proxy.imds(VAULT).await;
    assert_eq!(claims(default.body["access_token"].as_str().unwrap())["appid"], READER);
    assert_eq!(proxy.metrics.request_count("imds_token", "ok"), 3);
}

#[tokio::test]
async fn entras_refusal_of_an_ad_hoc_client_id_reaches_the_app_as_the_proxy_maps_it() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    // The app exists but trusts another namespace: Entra's 401 invalid_client, AADSTS700213.
    let stranger = proxy.imds(&format!("{VAULT}&client_id={STRANGER}")).await;
    assert_eq!(stranger.status, 401, "{}", stranger.text);
    assert_eq!(stranger.body["error"], "invalid_client");
    assert_eq!(stranger.body["error_codes"], json!([700213]));
    let description = stranger.body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with("AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:demo:app'"),
        "{description}"
    );
    // App Service's shape for the same refusal, remembered (the cache backs off): Entra is
    // not asked again.
    let app_service = proxy
        .get(
            &format!("/msi/token?api-version=2019-08-01&{VAULT}&client_id={STRANGER}"),
            &[("X-IDENTITY-HEADER", SECRET)],
        )
        .await;
    assert_eq!(app_service.status, 401, "{}", app_service.text);
    assert_eq!(app_service.body["statusCode"], 401);
    assert!(
        app_service.body["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid_client: AADSTS700213: "),
        "{}",
        app_service.text
    );
    // No such application in the default tenant (ELSEWHERE is in tenant B only, which an
    // ad-hoc id never reaches): Entra's 400 unauthorized_client, AADSTS700016.
    for client in ["99999999-0000-4000-8000-000000000009", ELSEWHERE] {
        let refused = proxy.imds(&format!("{VAULT}&client_id={client}")).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(refused.body["error"], "unauthorized_client");
        assert_eq!(refused.body["error_codes"], json!([700016]));
        let description = refused.body["error_description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!(
                "AADSTS700016: Application with identifier '{client}' was not found in the directory '{TENANT_A}'."
            )),
            "{description}"
        );
    }
    assert_eq!(setup.exchanges(), 3, "STRANGER was asked once");
    assert_eq!(proxy.metrics.request_count("imds_token", "entra_refused"), 3);
    assert_eq!(proxy.metrics.request_count("app_service_token", "entra_refused"), 1);
    // Still refused without asking Entra: selectors the proxy cannot map.
    let object_id = proxy.imds(&format!("{VAULT}&object_id={AD_HOC}")).await;
    assert_eq!(object_id.status, 400);
    assert_eq!(object_id.body["error"], "invalid_request");
    assert_eq!(setup.exchanges(), 3);
}

#[tokio::test]
async fn a_flood_of_distinct_client_ids_holds_at_most_the_bound_and_keeps_the_one_in_use() {
    let setup = Setup::start().await;
    let proxy = setup.proxy().await;
    let served = proxy.imds(&format!("{VAULT}&client_id={AD_HOC}")).await;
    assert_eq!(served.status, 200, "{}", served.text);
    let flood = MAX_AD_HOC_IDENTITIES + 36;
    for n in 0..flood {
        let id = format!("{n:08x}-0000-4000-8000-00000000f100");
        let refused = proxy.imds(&format!("{VAULT}&client_id={id}")).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(refused.body["error_codes"], json!([700016]));
        let held = proxy.metrics.ad_hoc_held();
        assert!(held <= 64, "{held} held after {n}");
        if n % 8 == 0 {
            // The app keeps using its id: it is never the least recently used one.
            let again = proxy.imds(&format!("{VAULT}&client_id={AD_HOC}")).await;
            assert_eq!(again.body["access_token"], served.body["access_token"], "round {n}");
        }
    }
    assert_eq!(proxy.metrics.ad_hoc_held(), 64);
    assert_eq!(proxy.metrics.ad_hoc_evictions(), 37, "1 + {flood} ids, 64 held");
    assert_eq!(setup.exchanges(), 1 + flood, "AD_HOC was exchanged once");
    // An evicted id comes back with one more exchange, never an error.
    let evicted = "00000000-0000-4000-8000-00000000f100";
    let back = proxy.imds(&format!("{VAULT}&client_id={evicted}")).await;
    assert_eq!(back.body["error_codes"], json!([700016]));
    assert_eq!(setup.exchanges(), 2 + flood);
    assert_eq!(proxy.metrics.ad_hoc_held(), 64);
}
