//! Reading federated identity credentials in the shapes users have them: the emulator's
//! directory file (tenants → applications and user-assigned identities → credentials), a list
//! as `az identity federated-credential list -o json` prints it, Graph's `{"value": [...]}`,
//! or one credential. Azure's lists do not say whose credentials they are: an entry's
//! `clientId` / `appId` does, or the caller's `CLIENT_ID=FILE`. Pure: text in.

use serde_json::Value;

use super::facts::ClientCredentials;
use crate::fic::FederatedCredential;

/// A credential file that cannot be used, with the words to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct CredentialFileError {
    /// The file.
    pub source_name: String,
    /// What is wrong.
    pub message: String,
    /// The parser's error, naming the file, when the text is not YAML.
    #[source]
    pub yaml: Option<crate::yaml::NamedError>,
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// One credential entry in any of the shapes; `None` when it is not one.
fn credential(entry: &Value) -> Option<FederatedCredential> {
    let issuer = text(entry, "issuer")?;
    let subject = text(entry, "subject")?;
    let audiences = entry
        .get("audiences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    Some(FederatedCredential {
        name: text(entry, "name").unwrap_or("(unnamed)").to_owned(),
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
        audiences,
        description: None,
    })
}

/// The credentials of `text` (YAML or JSON), read from `source_name`; `client_id` ties entries
/// that name no client id.
pub fn parse_credentials(
    text_in: &str,
    source_name: &str,
    client_id: Option<&str>,
) -> Result<Vec<ClientCredentials>, CredentialFileError> {
    let error = |message: String| CredentialFileError {
        source_name: source_name.to_owned(),
        message,
        yaml: None,
    };
    let documents = crate::yaml::parse_named_stream(text_in, source_name).map_err(|e| CredentialFileError {
        source_name: source_name.to_owned(),
        message: format!(
            "invalid YAML or JSON{}",
            e.document.map(|n| format!(", document {n}")).unwrap_or_default()
        ),
        yaml: Some(e.source),
    })?;
    let [document] = documents.as_slice() else {
        return Err(error(format!("expected one document, found {}", documents.len())));
    };
    if let Some(tenants) = document.get("tenants").and_then(Value::as_array) {
        return Ok(from_directory(tenants));
    }
    let entries: Vec<&Value> = match document {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => match map.get("value").and_then(Value::as_array) {
            Some(items) => items.iter().collect(),
            None => vec![document],
        },
        _ => Vec::new(),
    };
    if entries.is_empty() && !matches!(document, Value::Array(_) | Value::Object(_)) {
        return Err(error(not_a_credential_file()));
    }
    let mut by_client: Vec<ClientCredentials> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(fic) = credential(entry) else {
            return Err(error(format!(
                "entry {} is not a federated identity credential (it needs issuer and subject); {}",
                i + 1,
                not_a_credential_file()
            )));
        };
        let owner = client_id
            .or_else(|| text(entry, "clientId"))
            .or_else(|| text(entry, "appId"))
            .ok_or_else(|| {
                error(format!(
                    "credential '{}' names no client id (Azure's lists do not): pass --federated-credentials CLIENT_ID={source_name}",
                    fic.name
                ))
            })?;
        match by_client.iter_mut().find(|c| c.client_id.eq_ignore_ascii_case(owner)) {
            Some(existing) => existing.credentials.push(fic),
            None => by_client.push(ClientCredentials {
                client_id: owner.to_owned(),
                owner: format!("the identity of {source_name}"),
                credentials: vec![fic],
            }),
        }
    }
    Ok(by_client)
}

fn not_a_credential_file() -> String {
    "expected the emulator's directory (tenants: ...), `az identity federated-credential list -o json` output, Graph's {\"value\": [...]}, or one credential".into()
}

fn from_directory(tenants: &[Value]) -> Vec<ClientCredentials> {
    let mut out = Vec::new();
    for tenant in tenants {
        let tenant_id = text(tenant, "tenantId").unwrap_or("(no tenant id)");
        let parents = [
            ("applications", "appId", "displayName", "application"),
            ("userAssignedIdentities", "clientId", "name", "managed identity"),
        ];
        for (list, id_key, name_key, what) in parents {
            for parent in tenant.get(list).and_then(Value::as_array).into_iter().flatten() {
                let Some(client_id) = text(parent, id_key) else {
                    continue;
                };
                let name = text(parent, name_key).unwrap_or(client_id);
                out.push(ClientCredentials {
                    client_id: client_id.to_owned(),
                    owner: format!("{what} '{name}' in tenant {tenant_id}"),
                    credentials: parent
                        .get("federatedIdentityCredentials")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(credential)
                        .collect(),
                });
            }
        }
    }
    out
}
