//! The ServiceAccounts a render reads, by namespace and name: those of the stream and of
//! `--service-accounts` files (and the webhook's static account files), with their annotations,
//! all that mutation reads of them. Which pod templates run as which account is
//! [`super::opt_in`]'s.

use std::collections::BTreeMap;

use serde_json::Value;

use super::object::{RenderError, kind_of, namespace_and_name};
use crate::mutation::ServiceAccountInfo;

/// ServiceAccounts by (namespace, name).
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountIndex {
    accounts: BTreeMap<(String, String), ServiceAccountInfo>,
}

impl ServiceAccountIndex {
    /// Collects every `v1 ServiceAccount` of the documents (and of `List` items).
    pub fn from_documents(documents: &[Value], default_namespace: &str) -> Result<Self, RenderError> {
        let mut index = ServiceAccountIndex::default();
        for (i, doc) in documents.iter().enumerate() {
            index.add_document(i, doc, default_namespace)?;
        }
        Ok(index)
    }

    fn add_document(&mut self, document: usize, doc: &Value, default_namespace: &str) -> Result<(), RenderError> {
        if doc.is_null() {
            return Ok(());
        }
        let kind = kind_of(document, doc)?;
        if kind == "List" {
            for item in doc
                .get("items")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                self.add_document(document, item, default_namespace)?;
            }
        } else if kind == "ServiceAccount" {
            let info = service_account_info(document, doc, default_namespace)?;
            self.insert(info);
        }
        Ok(())
    }

    /// Adds or replaces one account.
    pub fn insert(&mut self, info: ServiceAccountInfo) {
        self.accounts.insert((info.namespace.clone(), info.name.clone()), info);
    }

    /// Adds every account of `other`, replacing same-named ones.
    pub fn extend(&mut self, other: ServiceAccountIndex) {
        self.accounts.extend(other.accounts);
    }

    /// Looks one up.
    pub fn get(&self, namespace: &str, name: &str) -> Option<&ServiceAccountInfo> {
        self.accounts.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// The account most like `namespace/name` (a typo of the name, or the same name in another
    /// namespace), as `namespace/name`, for a "did you mean".
    pub fn closest(&self, namespace: &str, name: &str) -> Option<String> {
        self.accounts
            .keys()
            .map(|(ns, n)| {
                let distance = crate::mutation::levenshtein(n, name) + if ns == namespace { 0 } else { 3 };
                (distance, format!("{ns}/{n}"))
            })
            .filter(|(distance, _)| *distance <= 3)
            .min()
            .map(|(_, found)| found)
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

fn service_account_info(
    document: usize,
    doc: &Value,
    default_namespace: &str,
) -> Result<ServiceAccountInfo, RenderError> {
    let (namespace, name) = namespace_and_name(doc, default_namespace);
    let mut annotations = BTreeMap::new();
    if let Some(found) = doc
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .filter(|a| !a.is_null())
    {
        let map = found.as_object().ok_or_else(|| RenderError {
            document,
            object: format!("ServiceAccount {namespace}/{name}"),
            message: "metadata.annotations must be a map".into(),
        })?;
        for (key, value) in map {
            let text = value.as_str().ok_or_else(|| RenderError {
                document,
                object: format!("ServiceAccount {namespace}/{name}"),
                message: format!("annotation {key:?} must be a string (quote it)"),
            })?;
            annotations.insert(key.clone(), text.to_owned());
        }
    }
    Ok(ServiceAccountInfo {
        namespace,
        name,
        annotations,
    })
}
