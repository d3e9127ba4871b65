//! The token request's form: `application/x-www-form-urlencoded` fields in order, unknown
//! ones kept (and ignored), as Entra reads them.

use crate::errors::EntraError;

/// A parsed form: the first value of each field (unknown fields are kept, and ignored).
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub(super) fields: Vec<(String, String)>,
}

impl Form {
    /// Parses `application/x-www-form-urlencoded` bytes; `None` when they are not a form.
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .ok()
            .map(|fields| Form { fields })
    }

    /// A field's first value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first of `names` that appears more than once (Entra refuses a duplicated
    /// parameter, AADSTS9000411, rather than pick one).
    pub fn duplicated<'n>(&self, names: &[&'n str]) -> Option<&'n str> {
        names
            .iter()
            .copied()
            .find(|name| self.fields.iter().filter(|(k, _)| k == name).nth(1).is_some())
    }

    pub(super) fn required(&self, name: &str) -> Result<&str, EntraError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| EntraError::missing_parameter(name))
    }
}
