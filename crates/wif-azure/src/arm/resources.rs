//! ARM's resources as azure-cli reads them: the routing of everything under `/subscriptions`,
//! the cloud's metadata, subscriptions, locations and resource groups (identities, vaults and
//! storage accounts have their own modules). Each handler authorizes the action, runs the pure
//! operation and shapes the resource as ARM does (`properties` flattened by the CLI, not here).

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use super::identities::{credentials, identity, identity_json};
use super::request::{ArmRequest, list, method_not_allowed, tags_of, text_of, unknown_path};
use super::vaults::{cluster_json, vault, vault_json};
use crate::config::{ResourceGroupConfig, SubscriptionConfig};
use crate::ops::{self, ArmError, arm_error};
use crate::respond::answer;
use crate::state::AzureState;

/// `GET /metadata/endpoints`: the document `az cloud register --endpoint-resource-manager`
/// maps to a cloud, so registering this emulator is one flag (`suffixes.storage` is what
/// `az storage --account-name A` builds `A.blob.<suffix>` from).
pub(super) async fn metadata_endpoints(state: &AzureState) -> Response {
    let login = state.emulator.public_url();
    let (arm, graph) = (state.arm_url(), state.graph_url());
    let (suffix, storage) = (&state.vault_dns_suffix, &state.storage_suffix);
    let (name, portal) = if state.production_names {
        ("AzureCloud", "https://portal.azure.com".to_owned())
    } else {
        ("WifLocal", login.clone())
    };
    answer(
        200,
        &json!({
            "name": name,
            "portal": portal,
            "resourceManager": format!("{arm}/"),
            "microsoftGraphResourceId": format!("{graph}/"),
            "authentication": {
                "loginEndpoint": login,
                "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "suffixes": {"keyVaultDns": suffix, "storage": storage},
        }),
    )
}

fn subscription_json(s: &SubscriptionConfig) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.subscription_id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s.subscription_id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name.clone().unwrap_or_else(|| "wif local".into()),
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    })
}

fn group_json(sub: &str, g: &ResourceGroupConfig) -> Value {
    json!({
        "id": ops::group_id(sub, &g.name),
        "name": g.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": g.location,
        "tags": g.tags,
        "properties": {"provisioningState": "Succeeded"},
    })
}

/// Routes everything under `/subscriptions` but Microsoft.Authorization.
pub(super) async fn route(request: &ArmRequest<'_>) -> Result<Response, ArmError> {
    let s = &request.segments;
    let is = |i: usize, word: &str| s.get(i).is_some_and(|x| x.eq_ignore_ascii_case(word));
    if !is(0, "subscriptions") {
        return Err(unknown_path(request));
    }
    if s.len() == 1 {
        if *request.method != Method::GET {
            return Err(method_not_allowed(request));
        }
        let caller_tenant = request.caller.tenant_id.clone();
        let subscriptions = request
            .read(|c| {
                c.subscriptions
                    .iter()
                    .filter(|s| s.tenant_id.eq_ignore_ascii_case(&caller_tenant))
                    .map(subscription_json)
                    .collect()
            })
            .await;
        return Ok(answer(200, &list(subscriptions)));
    }
    let sub = s[1];
    let sub_scope = format!("/subscriptions/{sub}");
    // Subscriptions, their locations and the list of groups are read-only here.
    let read_only = s.len() == 2 || (s.len() == 3 && (is(2, "locations") || is(2, "resourcegroups")));
    if read_only && *request.method != Method::GET {
        return Err(method_not_allowed(request));
    }
    match s.len() {
        2 => {
            request
                .authorize("Microsoft.Resources/subscriptions/read", &sub_scope)
                .await?;
            let found = request
                .read(|c| ops::subscription(c, sub).map(subscription_json))
                .await?;
            return Ok(answer(200, &found));
        }
        3 if is(2, "locations") => {
            request
                .authorize("Microsoft.Resources/subscriptions/read", &sub_scope)
                .await?;
            let locations = [
                ("eastus", "East US"),
                ("westus2", "West US 2"),
                ("westeurope", "West Europe"),
                ("northeurope", "North Europe"),
            ];
            let values = locations
                .iter()
                .map(|(name, display)| json!({"id": format!("{sub_scope}/locations/{name}"), "name": name, "displayName": display, "regionalDisplayName": display}))
                .collect();
            return Ok(answer(200, &list(values)));
        }
        _ => {}
    }
    if is(2, "providers") && s.len() == 5 {
        if s[3].eq_ignore_ascii_case("Microsoft.Storage") {
            return super::storage::at_subscription(request, sub, s[4]).await;
        }
        return subscription_lists(request, sub, s[3], s[4]).await;
    }
    if !is(2, "resourcegroups") {
        return Err(unknown_path(request));
    }
    if s.len() == 3 {
        request
            .authorize("Microsoft.Resources/subscriptions/resourceGroups/read", &sub_scope)
            .await?;
        let groups = request
            .read(|c| ops::subscription(c, sub).map(|x| x.resource_groups.iter().map(|g| group_json(sub, g)).collect()))
            .await?;
        return Ok(answer(200, &list(groups)));
    }
    let group = s[3];
    if s.len() == 4 {
        return resource_group(request, sub, group).await;
    }
    if !is(4, "providers") || s.len() < 7 {
        return Err(unknown_path(request));
    }
    let (namespace, rest) = (s[5], &s[6..]);
    let kind = |ns: &str, word: &str| namespace.eq_ignore_ascii_case(ns) && rest[0].eq_ignore_ascii_case(word);
    if kind("Microsoft.ManagedIdentity", "userAssignedIdentities") {
        return match rest.len() {
            1 => {
                request
                    .authorize(
                        "Microsoft.ManagedIdentity/userAssignedIdentities/read",
                        &ops::group_id(sub, group),
                    )
                    .await?;
                let all = request.read(|c| ops::identities(c, sub, Some(group))).await?;
                Ok(answer(200, &list(all.iter().map(identity_json).collect())))
            }
            2 => identity(request, sub, group, rest[1]).await,
            3 if rest[2].eq_ignore_ascii_case("federatedIdentityCredentials") => {
                credentials(request, sub, group, rest[1], None).await
            }
            4 if rest[2].eq_ignore_ascii_case("federatedIdentityCredentials") => {
                credentials(request, sub, group, rest[1], Some(rest[3])).await
            }
            _ => Err(unknown_path(request)),
        };
    }
    if kind("Microsoft.KeyVault", "vaults") {
        return match rest.len() {
            1 => {
                request
                    .authorize("Microsoft.KeyVault/vaults/read", &ops::group_id(sub, group))
                    .await?;
                let all = request
                    .read(|c| {
                        let suffix = &request.state.vault_dns_suffix;
                        ops::group(c, sub, group).map(|g| {
                            g.key_vaults
                                .iter()
                                .filter_map(|v| ops::find_vault(c, &v.name).map(|(v, p)| vault_json(v, &p, suffix)))
                                .collect()
                        })
                    })
                    .await?;
                Ok(answer(200, &list(all)))
            }
            2 => vault(request, sub, group, rest[1]).await,
            _ => Err(unknown_path(request)),
        };
    }
    if kind("Microsoft.Storage", "storageAccounts") {
        return super::storage::in_group(request, sub, group, rest).await;
    }
    if kind("Microsoft.ContainerService", "managedClusters") && rest.len() <= 2 {
        if *request.method != Method::GET {
            return Err(arm_error(
                405,
                "MethodNotAllowed",
                "The local Azure plane's managed clusters stand for the local cluster: they are read-only (seed them in the config).",
            ));
        }
        let scope = format!(
            "{}/providers/Microsoft.ContainerService/managedClusters",
            ops::group_id(sub, group)
        );
        request
            .authorize("Microsoft.ContainerService/managedClusters/read", &scope)
            .await?;
        let body = request
            .read(|c| match rest.get(1) {
                Some(name) => ops::cluster(c, sub, group, name).map(|(cl, g)| cluster_json(sub, g, cl)),
                None => ops::group(c, sub, group)
                    .map(|g| list(g.managed_clusters.iter().map(|cl| cluster_json(sub, g, cl)).collect())),
            })
            .await?;
        return Ok(answer(200, &body));
    }
    Err(unknown_path(request))
}

async fn subscription_lists(
    request: &ArmRequest<'_>,
    sub: &str,
    namespace: &str,
    kind: &str,
) -> Result<Response, ArmError> {
    let sub_scope = format!("/subscriptions/{sub}");
    if *request.method != Method::GET {
        return Err(method_not_allowed(request));
    }
    if namespace.eq_ignore_ascii_case("Microsoft.ManagedIdentity")
        && kind.eq_ignore_ascii_case("userAssignedIdentities")
    {
        request
            .authorize("Microsoft.ManagedIdentity/userAssignedIdentities/read", &sub_scope)
            .await?;
        let all = request.read(|c| ops::identities(c, sub, None)).await?;
        return Ok(answer(200, &list(all.iter().map(identity_json).collect())));
    }
    if namespace.eq_ignore_ascii_case("Microsoft.KeyVault") && kind.eq_ignore_ascii_case("vaults") {
        request.authorize("Microsoft.KeyVault/vaults/read", &sub_scope).await?;
        let all = request
            .read(|c| {
                let suffix = &request.state.vault_dns_suffix;
                ops::subscription(c, sub).map(|s| {
                    s.resource_groups
                        .iter()
                        .flat_map(|g| g.key_vaults.iter())
                        .filter_map(|v| ops::find_vault(c, &v.name).map(|(v, p)| vault_json(v, &p, suffix)))
                        .collect()
                })
            })
            .await?;
        return Ok(answer(200, &list(all)));
    }
    Err(unknown_path(request))
}

async fn resource_group(request: &ArmRequest<'_>, sub: &str, name: &str) -> Result<Response, ArmError> {
    let scope = ops::group_id(sub, name);
    match *request.method {
        Method::GET | Method::HEAD => {
            request
                .authorize("Microsoft.Resources/subscriptions/resourceGroups/read", &scope)
                .await?;
            let found = request
                .read(|c| ops::group(c, sub, name).map(|g| group_json(sub, g)))
                .await;
            match (found, request.method == Method::HEAD) {
                (Ok(_), true) => Ok(answer(204, &Value::Null).map(|_| axum::body::Body::empty())),
                (Err(_), true) => Ok(answer(404, &Value::Null).map(|_| axum::body::Body::empty())),
                (found, false) => Ok(answer(200, &found?)),
            }
        }
        Method::PUT | Method::PATCH => {
            request
                .authorize("Microsoft.Resources/subscriptions/resourceGroups/write", &scope)
                .await?;
            let body = request.json()?;
            let tags = tags_of(&body)?;
            let patch = *request.method == Method::PATCH;
            let (group, created) = request
                .change(|c| {
                    let location = match (text_of(&body, "/location"), patch) {
                        (Some(l), _) => l.to_owned(),
                        (None, true) => ops::group(c, sub, name)?.location.clone(),
                        (None, false) => String::new(),
                    };
                    ops::put_group(c, sub, name, &location, tags)
                })
                .await?;
            Ok(answer(if created { 201 } else { 200 }, &group_json(sub, &group)))
        }
        Method::DELETE => {
            request
                .authorize("Microsoft.Resources/subscriptions/resourceGroups/delete", &scope)
                .await?;
            // The group's storage accounts go with it, and their blobs with them.
            let accounts: Vec<String> = {
                let config = request.state.store.config.lock().await;
                ops::storage_accounts(&config, sub, Some(name))
                    .map(|found| found.into_iter().map(|(a, place)| place.account_id(&a.name)).collect())
                    .unwrap_or_default()
            };
            request.change(|c| ops::delete_group(c, sub, name)).await?;
            crate::blob::forget_accounts(request.state, &accounts).await;
            Ok(answer(200, &Value::Null).map(|_| axum::body::Body::empty()))
        }
        _ => Err(method_not_allowed(request)),
    }
}
