//! The Blob Storage data plane's HTTP shell: requests whose host is `A.blob.<storage suffix>`
//! (through the emulator's CONNECT front, as vault hosts) are account `A`'s. The caller's token
//! must be this emulator's, for `https://storage.azure.com` or the account's endpoint, and from
//! the account's tenant; the first request of every SDK carries none and gets the challenge.
//! Then [`crate::storage`] says which operation it is and what RBAC requires, Azure RBAC
//! decides at the container's scope, and the operation runs on the account's blob service.
//! Each refusal is Storage's code and XML, with the reason added.

use axum::extract::Request;
use axum::response::Response;

use crate::caller::{CallerError, Surface};
use crate::ops;
use crate::rbac::{self, Decision, Scope};
use crate::state::AzureState;
use crate::storage::error::challenge;
use crate::storage::{BlobOperation, StorageError, classify};

mod answer;
mod persist;
mod run;

pub use persist::{BlobFiles, PersistError};

use answer::refuse;

/// The account a host names, when it is `A.blob.<suffix>` (a port ignored).
///
/// ```
/// use wif_azure::blob::account_of_host;
/// assert_eq!(account_of_host("stwif.blob.storage.wif.test:443", "storage.wif.test"), Some("stwif"));
/// assert_eq!(account_of_host("stwif.queue.storage.wif.test", "storage.wif.test"), None);
/// ```
pub fn account_of_host<'h>(host: &'h str, suffix: &str) -> Option<&'h str> {
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let (account, rest) = host.split_once('.')?;
    let tail = rest
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("blob."))
        .and(rest.get(5..))?;
    (tail.eq_ignore_ascii_case(suffix.trim_start_matches('.')) && !account.is_empty()).then_some(account)
}

/// The account's blob endpoint, `https://A.blob.<suffix>/`.
pub fn endpoint(account: &str, suffix: &str) -> String {
    format!("https://{account}.blob.{}/", suffix.trim_start_matches('.'))
}

/// Answers `request`, made to account `name`'s blob service.
pub async fn handle(state: &AzureState, name: &str, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let version = parts
        .headers
        .get("x-ms-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(answer::DEFAULT_VERSION)
        .to_owned();
    let reply = answer::Reply::new(state, version);
    // Where the account is, and its tenant, for the challenge.
    let found = {
        let config = state.store.config.lock().await;
        ops::find_storage_account(&config, name).map(|(a, p)| (a.name.clone(), p, a.containers.clone()))
    };
    let Some((account, place, seed)) = found else {
        return reply.error(&StorageError::AccountNotFound { name: name.to_owned() }, None);
    };
    let endpoint = endpoint(&account, &state.storage_suffix);
    let account_id = place.account_id(&account);
    let challenge = challenge(&state.emulator.public_url(), &place.tenant_id);
    let caller = match crate::caller::of_request(
        &state.emulator,
        &parts.headers,
        Surface::Storage {
            endpoint: endpoint.clone(),
        },
    ) {
        Ok(caller) => caller,
        Err(CallerError::Missing) => return reply.error(&StorageError::NoAuthenticationInformation, Some(&challenge)),
        Err(error) => {
            tracing::info!(%error, account = %name, "blob call refused: token");
            let why = match &error {
                CallerError::WrongAudience { .. } => {
                    format!("Audience validation failed. Audience did not match: {error}.")
                }
                CallerError::Expired(_) => "Lifetime validation failed. The token is expired.".to_owned(),
                _ => format!("Signature validation failed: {error}."),
            };
            return reply.error(&StorageError::InvalidAuthenticationInfo { why }, Some(&challenge));
        }
    };
    if !caller.tenant_id.eq_ignore_ascii_case(&place.tenant_id) {
        let why = format!(
            "Issuer validation failed. Issuer did not match: the token is from tenant {}, and account '{account}' is in tenant {}.",
            caller.tenant_id, place.tenant_id
        );
        return reply.error(&StorageError::InvalidAuthenticationInfo { why }, Some(&challenge));
    }
    let request = match classify(parts.method.as_str(), parts.uri.path(), parts.uri.query().unwrap_or("")) {
        Ok(request) => request,
        Err(refused) => return refuse(&reply, refused),
    };
    let body = match answer::read_body(body, request.operation).await {
        Ok(body) => body,
        Err(refused) => return refuse(&reply, refused),
    };
    let assignments = {
        let config = state.store.config.lock().await;
        ops::effective_assignments(&config, &caller.object_id, &caller.tenant_id)
    };
    let scope = match &request.container {
        Some(container) => format!("{account_id}/blobServices/default/containers/{container}"),
        None => format!("{account_id}/blobServices/default"),
    };
    let key = account_id.to_ascii_lowercase();
    let mut services = state.blobs.lock().await;
    let now = state.emulator.clock.now_s();
    let service = match service_of(&mut services, state.blob_files.as_ref(), &key, &seed, now) {
        Ok(service) => service,
        Err(error) => {
            let why = wif_core::error_text::error_chain(&error);
            tracing::error!(error = %why, account = %name, "blob files unreadable");
            return refuse(&reply, StorageError::InternalError { why });
        }
    };
    let exists = match (&request.container, &request.blob) {
        (Some(c), Some(b)) => service
            .containers
            .get(c)
            .and_then(|c| c.blobs.get(b))
            .is_some_and(|b| b.committed_once),
        _ => false,
    };
    if let Some(refused) = authorize(&assignments, &caller.object_id, &scope, request.operation, exists) {
        return refuse(&reply, refused);
    }
    let query = parts.uri.query().unwrap_or("");
    let kept = state.blob_files.as_ref().filter(|_| request.operation.changes_state());
    let before = kept.map(|_| service.clone());
    let response = run::run(service, &request, &parts.headers, query, body, now, &endpoint, &reply)
        .unwrap_or_else(|refused| reply.error(&refused, None));
    // A change is kept before it is answered; one that cannot be kept is undone and refused.
    if let (Some(files), Some(before)) = (kept, before)
        && response.status().is_success()
        && let Err(error) = files.save(&key, service)
    {
        *service = before;
        let why = wif_core::error_text::error_chain(&error);
        tracing::error!(error = %why, account = %name, "blob change not kept");
        return refuse(&reply, StorageError::InternalError { why });
    }
    response
}

/// The account's blob service (`key`: its ARM id, lower case): in memory, else from its
/// files, else as its config seeds it.
fn service_of<'s>(
    services: &'s mut std::collections::BTreeMap<String, crate::storage::store::BlobService>,
    files: Option<&BlobFiles>,
    key: &str,
    seed: &[crate::config::SeedContainer],
    now: i64,
) -> Result<&'s mut crate::storage::store::BlobService, persist::PersistError> {
    if !services.contains_key(key)
        && let Some(files) = files
        && let Some(kept) = files.load(key)?
    {
        services.insert(key.to_owned(), kept);
    }
    Ok(services.entry(key.to_owned()).or_insert_with(|| seeded(seed, now)))
}

/// The containers of the storage account `name` and their blobs' names, in name order, as the
/// operator's console lists them (`None`: no such account).
pub async fn names(
    state: &AzureState,
    name: &str,
) -> Result<Option<Vec<(String, Vec<String>)>>, persist::PersistError> {
    let found = {
        let config = state.store.config.lock().await;
        ops::find_storage_account(&config, name).map(|(a, p)| (p.account_id(&a.name), a.containers.clone()))
    };
    let Some((account_id, seed)) = found else {
        return Ok(None);
    };
    let mut services = state.blobs.lock().await;
    let now = state.emulator.clock.now_s();
    let service = service_of(
        &mut services,
        state.blob_files.as_ref(),
        &account_id.to_ascii_lowercase(),
        &seed,
        now,
    )?;
    Ok(Some(
        service
            .containers
            .iter()
            .map(|(container, c)| {
                let blobs = c
                    .blobs
                    .iter()
                    .filter(|(_, b)| b.committed_once)
                    .map(|(n, _)| n.clone())
                    .collect();
                (container.clone(), blobs)
            })
            .collect(),
    ))
}

/// The blob service an account starts with: its config's `containers:`.
fn seeded(seed: &[crate::config::SeedContainer], now: i64) -> crate::storage::store::BlobService {
    let mut service = crate::storage::store::BlobService::default();
    for container in seed {
        let mut blobs = std::collections::BTreeMap::new();
        for blob in &container.blobs {
            let etag = service.next_etag(now);
            blobs.insert(
                blob.name.clone(),
                crate::storage::store::Blob {
                    content: blob.content.clone().into_bytes().into(),
                    content_type: blob.content_type.clone(),
                    etag,
                    last_modified: now,
                    committed_once: true,
                    ..Default::default()
                },
            );
        }
        let etag = service.next_etag(now);
        service.containers.insert(
            container.name.clone(),
            crate::storage::store::Container {
                etag,
                last_modified: now,
                blobs,
                ..Default::default()
            },
        );
    }
    service
}

/// Forgets the blobs of accounts that ARM deleted (by their ids), in memory and on disk, so an
/// account made again under the same name starts empty, as in Azure. A file that cannot be
/// removed is logged: the account is gone either way.
pub async fn forget_accounts(state: &AzureState, account_ids: &[String]) {
    let mut services = state.blobs.lock().await;
    for id in account_ids {
        let key = id.to_ascii_lowercase();
        services.remove(&key);
        if let Some(files) = &state.blob_files
            && let Err(error) = files.remove(&key)
        {
            tracing::warn!(error = %wif_core::error_text::error_chain(&error), account = %id, "blob file of a deleted account not removed");
        }
    }
}

/// Storage's 403 unless one of the caller's assignments grants what the operation requires.
fn authorize(
    assignments: &[rbac::Assignment],
    principal: &str,
    scope: &str,
    operation: BlobOperation,
    exists: bool,
) -> Option<StorageError> {
    let scope = Scope::new(scope);
    let requirement = operation.requirement(exists);
    let allowed = requirement.iter().any(|(plane, action)| {
        matches!(
            rbac::evaluate(assignments, principal, &scope, *plane, action),
            Decision::Allowed { .. }
        )
    });
    (!allowed).then(|| StorageError::AuthorizationPermissionMismatch {
        why: format!(
            "principal {principal} holds no role assignment granting {} at {} or above",
            requirement.iter().map(|(_, a)| *a).collect::<Vec<_>>().join(" or "),
            scope.as_str()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_blob_hosts_under_the_suffix_are_accounts() {
        let suffix = "storage.wif.test";
        assert_eq!(account_of_host("acct.blob.storage.wif.test", suffix), Some("acct"));
        assert_eq!(account_of_host("acct.BLOB.Storage.Wif.Test:8443", suffix), Some("acct"));
        for other in [
            "acct.blob.storage.wif.test.evil",
            "blob.storage.wif.test",
            ".blob.storage.wif.test",
            "a.b.blob.storage.wif.test",
            "acct.vault.wif.test",
            "127.0.0.1:443",
        ] {
            assert_eq!(account_of_host(other, suffix), None, "{other}");
        }
        assert_eq!(endpoint("acct", suffix), "https://acct.blob.storage.wif.test/");
    }
}
