//! Access tokens as Entra ID issues them (spec/protocols.md §2.6): v1 format for Azure
//! resource URIs (Key Vault, ARM, Storage, Graph...), v2 otherwise; signed by the emulator's
//! key, verifiable with its tenant JWKS; and the v1/v2 success bodies.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use wif_jose::{KeyError, SigningKey};

use crate::directory::PrincipalKind;
use crate::exchange::{Endpoint, Grant};

/// Which claim set a token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// `iss` `https://sts.windows.net/{tid}/`, `appid`, `ver` 1.0.
    V1,
    /// `iss` `{authority}/{tid}/v2.0`, `azp`, `ver` 2.0.
    V2,
}

/// Azure first-party resources get v1-format tokens whatever the endpoint.
pub fn format_for(resource: &str) -> TokenFormat {
    let host = resource
        .split_once("://")
        .map_or("", |(_, rest)| rest.split(['/', ':']).next().unwrap_or_default());
    let azure = [
        ".azure.com",
        ".azure.net",
        ".windows.net",
        ".microsoft.com",
        ".azure.cn",
        ".chinacloudapi.cn",
        ".usgovcloudapi.net",
        ".microsoftazure.de",
        ".azure.us",
    ];
    let azure_host = azure
        .iter()
        .any(|suffix| host.ends_with(suffix) || host == &suffix[1..]);
    if resource.starts_with("https://") && azure_host {
        TokenFormat::V1
    } else {
        TokenFormat::V2
    }
}

/// The `aud` of a v2 token: the resource application's id when the resource names one.
fn v2_audience(resource: &str) -> String {
    let id = resource.strip_prefix("api://").unwrap_or(resource);
    if wif_core::mutation::is_guid(id) {
        id.to_ascii_lowercase()
    } else {
        resource.to_owned()
    }
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    let _ = aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `resource` is Microsoft Graph: Graph's own URI, or the emulator's URL (the local
/// cloud's `microsoftGraphResourceId`), with or without its trailing slash.
pub fn is_graph(resource: &str, base: &str) -> bool {
    let resource = resource.trim_end_matches('/');
    resource.eq_ignore_ascii_case("https://graph.microsoft.com")
        || resource.eq_ignore_ascii_case(base.trim_end_matches('/'))
}

/// An issued token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// `exp`.
    pub expires_on: i64,
    /// `nbf`.
    pub not_before: i64,
    /// The resource.
    pub resource: String,
}

/// The v2 issuer of tokens minted for `tenant_id` by an emulator reached at `base`.
pub fn v2_issuer(base: &str, tenant_id: &str) -> String {
    format!("{}/{tenant_id}/v2.0", base.trim_end_matches('/'))
}

/// The v1 issuer (Entra's own, whatever the host).
pub fn v1_issuer(tenant_id: &str) -> String {
    format!("https://sts.windows.net/{tenant_id}/")
}

/// Mints the access token for a grant. Managed identities get about a day, as in Azure.
pub fn mint(grant: &Grant, key: &SigningKey, base: &str, now: i64, app_lifetime: i64) -> Result<IssuedToken, KeyError> {
    let is_mi = matches!(grant.principal.kind, PrincipalKind::ManagedIdentity { .. });
    let expires_in = if is_mi { 86_399 } else { app_lifetime };
    let format = format_for(&grant.resource);
    let (iat, nbf, exp) = (now, now - 300, now + expires_in);
    let p = &grant.principal;
    let mut claims = Map::new();
    let mut put = |k: &str, v: Value| {
        claims.insert(k.to_owned(), v);
    };
    match format {
        TokenFormat::V1 => {
            let iss = v1_issuer(&grant.tenant_id);
            put("aud", json!(grant.resource));
            put("iss", json!(iss));
            put("iat", json!(iat));
            put("nbf", json!(nbf));
            put("exp", json!(exp));
            put("aio", json!(random_id()));
            put("appid", json!(p.client_id));
            put("appidacr", json!("2"));
            put("idp", json!(iss));
            put("idtyp", json!("app"));
            put("oid", json!(p.object_id));
            put("rh", json!(random_id()));
            put("sub", json!(p.object_id));
            put("tid", json!(grant.tenant_id));
            put("uti", json!(random_id()));
            put("ver", json!("1.0"));
        }
        TokenFormat::V2 => {
            put("aud", json!(v2_audience(&grant.resource)));
            put("iss", json!(v2_issuer(base, &grant.tenant_id)));
            put("iat", json!(iat));
            put("nbf", json!(nbf));
            put("exp", json!(exp));
            put("aio", json!(random_id()));
            put("azp", json!(p.client_id));
            put("azpacr", json!("2"));
            put("idtyp", json!("app"));
            put("oid", json!(p.object_id));
            put("rh", json!(random_id()));
            put("sub", json!(p.object_id));
            put("tid", json!(grant.tenant_id));
            put("uti", json!(random_id()));
            put("ver", json!("2.0"));
        }
    }
    if let PrincipalKind::ManagedIdentity { resource_id } = &p.kind {
        put("xms_mirid", json!(resource_id));
    }
    // Entra puts the app roles granted on the resource in `roles`; the local Graph's are the
    // Microsoft Graph permissions the directory grants.
    if is_graph(&grant.resource, base) && !p.graph_app_roles.is_empty() {
        put("roles", json!(p.graph_app_roles));
    }
    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    if format == TokenFormat::V1 {
        header.insert("x5t".into(), json!(key.kid()));
    }
    let access_token = wif_jose::sign(key, &header, &Value::Object(claims))?;
    Ok(IssuedToken {
        access_token,
        expires_in,
        expires_on: exp,
        not_before: nbf,
        resource: grant.resource.clone(),
    })
}

/// The success body: numbers on v2 (the Rust SDK fails on strings), strings on v1.
pub fn success_body(token: &IssuedToken, endpoint: Endpoint) -> Value {
    match endpoint {
        Endpoint::V2 => {
            let mut body = json!({
                "token_type": "Bearer",
                "expires_in": token.expires_in,
                "ext_expires_in": token.expires_in,
                "access_token": token.access_token,
            });
            if token.expires_in >= 7200
                && let Some(map) = body.as_object_mut()
            {
                map.insert("refresh_in".into(), json!(token.expires_in / 2));
            }
            body
        }
        Endpoint::V1 => json!({
            "token_type": "Bearer",
            "expires_in": token.expires_in.to_string(),
            "ext_expires_in": token.expires_in.to_string(),
            "expires_on": token.expires_on.to_string(),
            "not_before": token.not_before.to_string(),
            "resource": token.resource,
            "access_token": token.access_token,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        for v1 in [
            "https://vault.azure.net",
            "https://management.azure.com/",
            "https://management.core.windows.net/",
            "https://graph.microsoft.com",
            "https://storage.azure.com",
        ] {
            assert_eq!(format_for(v1), TokenFormat::V1, "{v1}");
        }
        for v2 in [
            "api://22222222-2222-2222-2222-222222222222",
            "https://myapi.example.com",
            "https://evil.com/vault.azure.net",
        ] {
            assert_eq!(format_for(v2), TokenFormat::V2, "{v2}");
        }
        assert_eq!(
            v2_audience("api://22222222-2222-2222-2222-222222222222"),
            "22222222-2222-2222-2222-222222222222"
        );
        assert_eq!(v2_audience("https://myapi.example.com"), "https://myapi.example.com");
    }
}
