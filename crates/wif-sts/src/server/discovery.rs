//! Tenant discovery as Entra serves it: the v2 and v1 OpenID configuration of a tenant, its
//! signing keys, and instance discovery. Every URL comes from the emulator's public URL.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::json;
use wif_jose::jwks_of;

use super::respond::{RandomFailed, RequestIds, correlation_id, error_response, json_response};
use super::state::{Shared, StsState};
use crate::errors::EntraError;
use crate::tokens;

async fn tenant_or_error(
    state: &StsState,
    tenant: &str,
    base: &str,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<String, Response> {
    let ids = RequestIds::new().map_err(RandomFailed::response)?;
    let directory = state.directory().await;
    match directory.tenant(tenant) {
        Some(t) => Ok(t.id.clone()),
        None => Err(error_response(
            &EntraError::unknown_tenant(tenant),
            base,
            &correlation_id(headers, uri, None, &ids),
            &ids,
            state.clock.now_s(),
        )),
    }
}

pub(super) async fn metadata_v2(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let base = state.public_url();
    let tid = match tenant_or_error(&state, &tenant, &base, &headers, &uri).await {
        Ok(tid) => tid,
        Err(response) => return response,
    };
    // Endpoints keep the segment the client used (GUID or domain), as Entra does.
    let at = format!("{base}/{tenant}");
    let document = json!({
        "token_endpoint": format!("{at}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{at}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": tokens::v2_issuer(&base, &tid),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{at}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{at}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{at}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid", "azp"],
        "kerberos_endpoint": format!("{at}/kerberos"),
        "tenant_region_scope": "WW",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net"
    });
    json_response(
        StatusCode::OK,
        &document,
        &[
            ("cache-control", "max-age=86400, private".into()),
            ("access-control-allow-origin", "*".into()),
        ],
    )
}

pub(super) async fn metadata_v1(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let base = state.public_url();
    let tid = match tenant_or_error(&state, &tenant, &base, &headers, &uri).await {
        Ok(tid) => tid,
        Err(response) => return response,
    };
    let at = format!("{base}/{tenant}");
    let document = json!({
        "token_endpoint": format!("{at}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{at}/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": tokens::v1_issuer(&tid),
        "authorization_endpoint": format!("{at}/oauth2/authorize"),
        "tenant_region_scope": "WW",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com"
    });
    json_response(
        StatusCode::OK,
        &document,
        &[("cache-control", "max-age=86400, private".into())],
    )
}

pub(super) async fn keys(State(state): State<Shared>) -> Response {
    let mut jwk = jwks_of(std::slice::from_ref(state.signing_key.public_key()));
    for key in &mut jwk.keys {
        key.use_ = Some("sig".into());
    }
    let body = serde_json::to_value(&jwk).unwrap_or_default();
    json_response(
        StatusCode::OK,
        &body,
        &[("cache-control", "max-age=86400, private".into())],
    )
}

/// Instance discovery. An emulator answering as Entra (its URL on one of Entra's hosts) answers
/// as Entra does: Entra's clouds for an authority on one of its hosts, `AADSTS50049` for any
/// other. An emulator on its own host trusts that host alone.
pub(super) async fn instance_discovery(
    State(state): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let base = state.public_url();
    let host = base.trim_start_matches("https://").to_owned();
    let authority = query
        .iter()
        .find(|(k, _)| k == "authorization_endpoint")
        .and_then(|(_, v)| v.split_once("://").map(|(_, rest)| rest));
    let tenant = authority
        .and_then(|rest| rest.split('/').nth(1))
        .filter(|t| !t.is_empty())
        .unwrap_or("common")
        .to_owned();
    let metadata = if wif_core::cloud::is_entra_host(&host) {
        // The authority's host without its port, as Entra compares it.
        let authority_host = authority
            .and_then(|rest| rest.split('/').next())
            .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name))
            .unwrap_or(wif_core::cloud::public::LOGIN_HOST);
        if !wif_core::cloud::is_entra_host(authority_host) {
            let ids = match RequestIds::new() {
                Ok(ids) => ids,
                Err(failed) => return failed.response(),
            };
            return error_response(
                &EntraError::unknown_instance(),
                &base,
                &correlation_id(&headers, &uri, None, &ids),
                &ids,
                state.clock.now_s(),
            );
        }
        wif_core::cloud::ENTRA_INSTANCES
            .iter()
            .map(|i| json!({"preferred_network": i.preferred_network, "preferred_cache": i.preferred_cache, "aliases": i.aliases}))
            .collect()
    } else {
        vec![json!({ "preferred_network": host, "preferred_cache": host, "aliases": [host] })]
    };
    let body = json!({
        "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": metadata,
    });
    json_response(
        StatusCode::OK,
        &body,
        &[("cache-control", "max-age=86400, private".into())],
    )
}
