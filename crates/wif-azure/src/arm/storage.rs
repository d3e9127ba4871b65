//! ARM's `Microsoft.Storage` (issue 27's first slice; the blob data plane is not served yet):
//! storage accounts in a group (PUT, GET, PATCH, DELETE, lists by group and subscription),
//! `checkNameAvailability`, and the key and SAS actions, each refused: the local plane serves
//! Microsoft Entra authorization only. Every call is authorized as Azure names its action.

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use super::request::{ArmRequest, list, method_not_allowed, tags_of, text_of, unknown_path};
use crate::config::{AccountPlace, StorageAccountConfig};
use crate::ops::{self, AccountChange, ArmError, arm_error};
use crate::respond::answer;

/// The services Azure publishes an endpoint for, by account kind.
fn services(kind: &str) -> &'static [&'static str] {
    let is = |k: &str| kind.eq_ignore_ascii_case(k);
    if is("Storage") {
        &["blob", "file", "queue", "table"]
    } else if is("FileStorage") {
        &["file"]
    } else if is("BlobStorage") || is("BlockBlobStorage") {
        &["blob", "dfs", "web"]
    } else {
        &["blob", "dfs", "file", "queue", "table", "web"]
    }
}

/// `https://<account>.<service>.<suffix>/`, as Azure's under `core.windows.net`. Azure's static
/// website host carries a zone label (`<account>.z13.web.…`) that only spreads its own load;
/// here there is one zone, so the web endpoint is shaped as the others.
fn endpoint(name: &str, service: &str, suffix: &str) -> String {
    format!("https://{name}.{service}.{suffix}/")
}

pub(super) fn account_json(a: &StorageAccountConfig, place: &AccountPlace, suffix: &str) -> Value {
    let endpoints: serde_json::Map<String, Value> = services(&a.kind)
        .iter()
        .map(|s| ((*s).to_owned(), Value::String(endpoint(&a.name, s, suffix))))
        .collect();
    let tier = if a.sku.starts_with("Premium") {
        "Premium"
    } else {
        "Standard"
    };
    let mut properties = json!({
        "provisioningState": "Succeeded",
        "primaryEndpoints": endpoints,
        "primaryLocation": a.location,
        "statusOfPrimary": "available",
        "supportsHttpsTrafficOnly": true,
        "allowSharedKeyAccess": a.allow_shared_key_access,
        "allowBlobPublicAccess": a.allow_blob_public_access,
        "minimumTlsVersion": a.minimum_tls_version,
        "encryption": {
            "keySource": "Microsoft.Storage",
            "services": {
                "blob": {"enabled": true, "keyType": "Account"},
                "file": {"enabled": true, "keyType": "Account"},
            },
        },
        "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []},
    });
    // Azure gives an access tier to the kinds that hold block blobs in tiers.
    if ["StorageV2", "BlobStorage"]
        .iter()
        .any(|k| a.kind.eq_ignore_ascii_case(k))
    {
        properties["accessTier"] = json!("Hot");
    }
    json!({
        "id": place.account_id(&a.name),
        "name": a.name,
        "type": "Microsoft.Storage/storageAccounts",
        "location": a.location,
        "tags": a.tags,
        "kind": a.kind,
        "sku": {"name": a.sku, "tier": tier},
        "properties": properties,
    })
}

/// The boolean at `pointer` (absent or null: none), or ARM's 400.
fn flag_of(body: &Value, pointer: &str) -> Result<Option<bool>, ArmError> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(arm_error(
            400,
            "InvalidRequestContent",
            format!(
                "The request content was invalid: '{}' must be a boolean.",
                pointer.trim_start_matches("/properties/")
            ),
        )),
    }
}

/// What a PUT or PATCH body changes.
fn change_of(body: &Value) -> Result<AccountChange, ArmError> {
    Ok(AccountChange {
        tags: tags_of(body)?,
        sku: text_of(body, "/sku/name").map(str::to_owned),
        kind: text_of(body, "/kind").map(str::to_owned),
        allow_shared_key_access: flag_of(body, "/properties/allowSharedKeyAccess")?,
        allow_blob_public_access: flag_of(body, "/properties/allowBlobPublicAccess")?,
        minimum_tls_version: text_of(body, "/properties/minimumTlsVersion").map(str::to_owned),
    })
}

/// `/subscriptions/S/resourceGroups/G/providers/Microsoft.Storage/storageAccounts[/A[/action]]`
/// (`rest` starts at `storageAccounts`).
pub(super) async fn in_group(
    request: &ArmRequest<'_>,
    sub: &str,
    group: &str,
    rest: &[&str],
) -> Result<Response, ArmError> {
    let suffix = request.state.storage_suffix.as_str();
    match rest {
        [_] => {
            if *request.method != Method::GET {
                return Err(method_not_allowed(request));
            }
            request
                .authorize("Microsoft.Storage/storageAccounts/read", &ops::group_id(sub, group))
                .await?;
            let all = request
                .read(|c| {
                    ops::storage_accounts(c, sub, Some(group))
                        .map(|all| all.iter().map(|(a, p)| account_json(a, p, suffix)).collect())
                })
                .await?;
            Ok(answer(200, &list(all)))
        }
        [_, name] => account(request, sub, group, name).await,
        [_, name, action] => key_action(request, sub, group, name, action).await,
        _ => Err(unknown_path(request)),
    }
}

async fn account(request: &ArmRequest<'_>, sub: &str, group: &str, name: &str) -> Result<Response, ArmError> {
    let suffix = request.state.storage_suffix.as_str();
    let scope = format!(
        "{}/providers/Microsoft.Storage/storageAccounts/{name}",
        ops::group_id(sub, group)
    );
    match *request.method {
        Method::GET => {
            request
                .authorize("Microsoft.Storage/storageAccounts/read", &scope)
                .await?;
            let body = request
                .read(|c| ops::storage_account(c, sub, group, name).map(|(a, p)| account_json(a, &p, suffix)))
                .await?;
            Ok(answer(200, &body))
        }
        Method::PUT | Method::PATCH => {
            request
                .authorize("Microsoft.Storage/storageAccounts/write", &scope)
                .await?;
            let body = request.json()?;
            let change = change_of(&body)?;
            let location = text_of(&body, "/location").unwrap_or_default().to_owned();
            let patch = *request.method == Method::PATCH;
            let stored = request
                .change(|c| {
                    let (a, p) = if patch {
                        ops::patch_storage_account(c, sub, group, name, change)?
                    } else {
                        let (a, p, _) = ops::put_storage_account(c, sub, group, name, &location, change)?;
                        (a, p)
                    };
                    Ok(account_json(&a, &p, suffix))
                })
                .await?;
            // 200 for a creation too: the Storage SDKs' create is a long-running operation
            // that accepts 200 or 202 only (azure-mgmt-storage refuses a 201), and a body with
            // provisioningState Succeeded ends its polling at once.
            Ok(answer(200, &stored))
        }
        Method::DELETE => {
            request
                .authorize("Microsoft.Storage/storageAccounts/delete", &scope)
                .await?;
            let existed = request
                .change(|c| ops::delete_storage_account(c, sub, group, name))
                .await?;
            crate::blob::forget_accounts(request.state, std::slice::from_ref(&scope)).await;
            Ok(answer(if existed { 200 } else { 204 }, &Value::Null).map(|_| axum::body::Body::empty()))
        }
        _ => Err(method_not_allowed(request)),
    }
}

/// The actions that hand out keys or key-signed SAS tokens, by their path segment and Azure's
/// operation name.
const KEY_ACTIONS: &[(&str, &str)] = &[
    ("listKeys", "Microsoft.Storage/storageAccounts/listKeys/action"),
    (
        "regenerateKey",
        "Microsoft.Storage/storageAccounts/regenerateKey/action",
    ),
    (
        "ListAccountSas",
        "Microsoft.Storage/storageAccounts/ListAccountSas/action",
    ),
    (
        "ListServiceSas",
        "Microsoft.Storage/storageAccounts/ListServiceSas/action",
    ),
];

/// `POST .../storageAccounts/A/listKeys` and its kin: authorized as Azure does (a caller
/// without the action learns nothing more), the account must exist, then refused.
async fn key_action(
    request: &ArmRequest<'_>,
    sub: &str,
    group: &str,
    name: &str,
    segment: &str,
) -> Result<Response, ArmError> {
    let Some((_, action)) = KEY_ACTIONS.iter().find(|(s, _)| s.eq_ignore_ascii_case(segment)) else {
        return Err(unknown_path(request));
    };
    if *request.method != Method::POST {
        return Err(method_not_allowed(request));
    }
    let scope = format!(
        "{}/providers/Microsoft.Storage/storageAccounts/{name}",
        ops::group_id(sub, group)
    );
    request.authorize(action, &scope).await?;
    let found = request
        .read(|c| ops::storage_account(c, sub, group, name).map(|(a, _)| a.name.clone()))
        .await?;
    Err(ops::keys_refused(&found))
}

/// `/subscriptions/S/providers/Microsoft.Storage/{storageAccounts | checkNameAvailability}`.
pub(super) async fn at_subscription(request: &ArmRequest<'_>, sub: &str, what: &str) -> Result<Response, ArmError> {
    let sub_scope = format!("/subscriptions/{sub}");
    let suffix = request.state.storage_suffix.as_str();
    if what.eq_ignore_ascii_case("storageAccounts") {
        if *request.method != Method::GET {
            return Err(method_not_allowed(request));
        }
        request
            .authorize("Microsoft.Storage/storageAccounts/read", &sub_scope)
            .await?;
        let all = request
            .read(|c| {
                ops::storage_accounts(c, sub, None)
                    .map(|all| all.iter().map(|(a, p)| account_json(a, p, suffix)).collect())
            })
            .await?;
        return Ok(answer(200, &list(all)));
    }
    if !what.eq_ignore_ascii_case("checkNameAvailability") {
        return Err(unknown_path(request));
    }
    if *request.method != Method::POST {
        return Err(method_not_allowed(request));
    }
    request
        .authorize("Microsoft.Storage/checkNameAvailability/read", &sub_scope)
        .await?;
    let body = request.json()?;
    let Some(name) = text_of(&body, "/name") else {
        return Err(arm_error(
            400,
            "InvalidRequestContent",
            "The request content was invalid: 'name' is required.",
        ));
    };
    let found = request
        .read(|c| ops::subscription(c, sub).map(|_| ops::storage_name_availability(c, name)))
        .await?;
    let mut answer_body = json!({"nameAvailable": found.available});
    if let (Some(reason), Some(message)) = (found.reason, found.message) {
        answer_body["reason"] = json!(reason);
        answer_body["message"] = json!(message);
    }
    Ok(answer(200, &answer_body))
}
