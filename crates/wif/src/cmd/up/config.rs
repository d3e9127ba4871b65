//! `wif up`'s configuration: the emulator's directory shape plus `serviceAccounts:` (which
//! identity each local ServiceAccount's pods use), the zero-configuration default, and the
//! directory the emulator is started with (credentials completed for the local issuer).

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use wif_core::contract;

use super::state::State;

/// The default identity of a zero-configuration `wif up`.
pub const DEFAULT_TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
/// See [`DEFAULT_TENANT`].
pub const DEFAULT_CLIENT: &str = "11111111-0000-4000-8000-000000000001";

/// One local ServiceAccount and the identities its pods use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The default identity: client id and tenant (none for an account that only gets a
    /// token file, for an identity made later through ARM).
    pub identity: Option<(String, String)>,
    /// The tenant its variables name (`AZURE_TENANT_ID`): the identity's; for an account
    /// without one, the entry's `tenantId`, else the config's first tenant (none when the
    /// config has no tenant).
    pub tenant: Option<String>,
    /// Named identities: alias, client id, tenant.
    pub named: Vec<(String, String, String)>,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The zero-configuration directory: one tenant, one application, default/default trusted.
pub fn default_config() -> Value {
    json!({
        "tenants": [{
            "tenantId": DEFAULT_TENANT,
            "domain": "local.onmicrosoft.com",
            "applications": [{"displayName": "local-app", "appId": DEFAULT_CLIENT}],
        }],
        "serviceAccounts": [{"namespace": "default", "name": "default", "clientId": DEFAULT_CLIENT}],
    })
}

/// The tenant holding client id `client` (an application's appId or an identity's clientId).
fn owner_tenant(config: &Value, client: &str) -> Option<String> {
    config["tenants"].as_array()?.iter().find_map(|tenant| {
        let holds = ["applications", "userAssignedIdentities"].iter().any(|list| {
            tenant[*list].as_array().into_iter().flatten().any(|p| {
                text(p, "appId")
                    .or_else(|| text(p, "clientId"))
                    .is_some_and(|id| id.eq_ignore_ascii_case(client))
            })
        });
        holds.then(|| text(tenant, "tenantId")).flatten()
    })
}

/// The accounts of `config`, each identity checked against its tenants.
pub fn accounts(config: &Value) -> Result<Vec<Account>> {
    let list = config["serviceAccounts"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        bail!("the config names no serviceAccounts (namespace, name, clientId)");
    }
    let identity = |entry: &Value, at: &str| -> Result<(String, String)> {
        let client = text(entry, "clientId").with_context(|| format!("{at}: clientId is missing"))?;
        let owner = owner_tenant(config, &client).with_context(|| {
            format!("{at}: client id {client} is no application or managed identity of the config's tenants")
        })?;
        Ok((client, text(entry, "tenantId").unwrap_or(owner)))
    };
    let first_tenant = config["tenants"]
        .as_array()
        .and_then(|t| t.first())
        .and_then(|t| text(t, "tenantId"));
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            let at = format!("serviceAccounts[{i}]");
            let mut named = Vec::new();
            for (alias, id) in entry["identities"].as_object().into_iter().flatten() {
                let (client, tenant) = identity(id, &format!("{at}.identities.{alias}"))?;
                named.push((alias.to_ascii_lowercase(), client, tenant));
            }
            let identity = match text(entry, "clientId") {
                Some(_) => Some(identity(entry, &at)?),
                None => None,
            };
            let tenant = match &identity {
                Some((_, tenant)) => Some(tenant.clone()),
                None => text(entry, "tenantId").or_else(|| first_tenant.clone()),
            };
            Ok(Account {
                namespace: text(entry, "namespace").unwrap_or_else(|| "default".into()),
                name: text(entry, "name").with_context(|| format!("{at}: name is missing"))?,
                identity,
                tenant,
                named,
            })
        })
        .collect()
}

/// The emulator's directory: the config's tenants, every credential's issuer defaulting to the
/// local issuer, a credential added for each account's identities that has none for it, and
/// the local issuer trusted with its CA.
pub fn directory(config: &Value, accounts: &[Account], state: &State) -> Result<String> {
    let issuer = state.issuer_url();
    let mut tenants = config["tenants"].clone();
    for tenant in tenants.as_array_mut().into_iter().flatten() {
        for list in ["applications", "userAssignedIdentities"] {
            for parent in tenant.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
                let id = text(parent, "appId")
                    .or_else(|| text(parent, "clientId"))
                    .unwrap_or_default();
                let credentials = parent
                    .as_object_mut()
                    .context("an application or identity must be a map")?
                    .entry("federatedIdentityCredentials")
                    .or_insert_with(|| json!([]));
                let credentials = credentials
                    .as_array_mut()
                    .context("federatedIdentityCredentials must be a list")?;
                for credential in credentials.iter_mut() {
                    let map = credential.as_object_mut().context("a credential must be a map")?;
                    map.entry("issuer").or_insert_with(|| json!(issuer));
                    map.entry("audiences")
                        .or_insert_with(|| json!([contract::DEFAULT_AUDIENCE]));
                }
                for account in accounts {
                    let subject = wif_core::doctor::subject_of(&account.namespace, &account.name);
                    let uses = account
                        .identity
                        .iter()
                        .map(|(c, _)| c)
                        .chain(account.named.iter().map(|(_, c, _)| c))
                        .any(|c| c.eq_ignore_ascii_case(&id));
                    let trusted = credentials.iter().any(|c| c["subject"] == subject.as_str());
                    if uses && !trusted {
                        credentials.push(json!({
                            "name": format!("wif-up-{}-{}", account.namespace, account.name),
                            "issuer": issuer,
                            "subject": subject,
                            "audiences": [contract::DEFAULT_AUDIENCE],
                        }));
                    }
                }
            }
        }
    }
    let mut directory = json!({
        "tenants": tenants,
        "issuers": [{"issuer": issuer, "caFile": state.ca_file().display().to_string()}],
        "subscriptions": subscriptions(config, &issuer)?,
        "keyVaultDnsSuffix": vault_suffix(config),
    });
    if let Some(assignments) = config.get("roleAssignments") {
        directory["roleAssignments"] = assignments.clone();
    }
    Ok(serde_json::to_string(&directory)?)
}

/// The resource group and managed cluster the default subscription holds: the local cluster.
pub const LOCAL_GROUP: &str = "wif-local";

/// The Key Vault DNS suffix of the config (`keyVaultDnsSuffix`, default `vault.wif.test`).
pub fn vault_suffix(config: &Value) -> String {
    text(config, "keyVaultDnsSuffix")
        .unwrap_or_else(|| wif_azure::config::DEFAULT_VAULT_DNS_SUFFIX.to_owned())
        .trim_start_matches('.')
        .to_owned()
}

/// The config's storage endpoint suffix, as the plane reads it (blob hosts `A.blob.<suffix>`).
pub fn storage_suffix(config: &Value) -> String {
    text(config, "storageEndpointSuffix")
        .unwrap_or_else(|| wif_azure::config::DEFAULT_STORAGE_ENDPOINT_SUFFIX.to_owned())
        .trim_start_matches('.')
        .to_owned()
}

/// The config's subscriptions, each managed cluster's issuer defaulting to the local issuer;
/// without any, one for the first tenant holding the local cluster (group and cluster
/// [`LOCAL_GROUP`]), so the tutorials' `az aks show` finds the local issuer.
pub fn subscriptions(config: &Value, issuer: &str) -> Result<Value> {
    let mut listed = config.get("subscriptions").cloned().unwrap_or_else(|| json!([]));
    let list = listed.as_array_mut().context("subscriptions must be a list")?;
    for group in list
        .iter_mut()
        .filter_map(|s| s.get_mut("resourceGroups"))
        .filter_map(Value::as_array_mut)
        .flatten()
    {
        for cluster in group
            .get_mut("managedClusters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(map) = cluster.as_object_mut() {
                map.entry("issuerUrl").or_insert_with(|| json!(issuer));
            }
        }
    }
    if list.is_empty()
        && let Some(tenant) = config["tenants"]
            .as_array()
            .and_then(|t| t.first())
            .and_then(|t| text(t, "tenantId"))
    {
        list.push(json!({
            "subscriptionId": default_subscription(&tenant),
            "tenantId": tenant,
            "displayName": "wif local",
            "resourceGroups": [{
                "name": LOCAL_GROUP,
                "location": "eastus",
                "managedClusters": [{"name": LOCAL_GROUP, "issuerUrl": issuer}],
            }],
        }));
    }
    Ok(listed)
}

/// The default subscription of `tenant`: the same id at every start.
pub fn default_subscription(tenant: &str) -> String {
    wif_sts::directory::derived_guid(&format!("subscription:{}", tenant.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_checked_against_the_tenants() {
        let default = accounts(&default_config()).unwrap();
        assert_eq!(
            default[0].identity,
            Some((DEFAULT_CLIENT.to_owned(), DEFAULT_TENANT.to_owned()))
        );
        let stray = json!({"tenants": [], "serviceAccounts": [{"name": "a", "clientId": "x"}]});
        assert_eq!(
            format!("{:#}", accounts(&stray).unwrap_err()),
            "serviceAccounts[0]: client id x is no application or managed identity of the config's tenants"
        );
        let named = json!({
            "tenants": [{"tenantId": "t1", "applications": [{"appId": "c1"}]},
                        {"tenantId": "t2", "userAssignedIdentities": [{"name": "w", "clientId": "c2"}]}],
            "serviceAccounts": [{"namespace": "ns", "name": "app", "clientId": "c1", "identities": {"Writer": {"clientId": "c2"}}}]
        });
        let parsed = accounts(&named).unwrap();
        assert_eq!(
            parsed[0].named,
            [("writer".to_owned(), "c2".to_owned(), "t2".to_owned())]
        );
        assert!(accounts(&json!({"tenants": []})).is_err());

        // Token-only accounts name the entry's tenant, else the config's first.
        let token_only = json!({
            "tenants": [{"tenantId": "t1"}, {"tenantId": "t2"}],
            "serviceAccounts": [{"name": "a"}, {"name": "b", "tenantId": "t2"}]
        });
        let parsed = accounts(&token_only).unwrap();
        assert_eq!(
            parsed
                .iter()
                .map(|a| (a.identity.clone(), a.tenant.clone()))
                .collect::<Vec<_>>(),
            [(None, Some("t1".to_owned())), (None, Some("t2".to_owned()))]
        );
    }
}
