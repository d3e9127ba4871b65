//! What the console's forms carry and the pure steps from a form to an operation: the portal's
//! "Add credential" (the Kubernetes scenario builds the subject from namespace and service
//! account, as the portal does) and "Add role assignment" (a built-in role by name). Entra's
//! and ARM's own rules are not repeated here: the operation refuses with their words.
//!
//! ```
//! use wif_console::forms::{CredentialForm, Scenario};
//!
//! let form = CredentialForm {
//!     scenario: Scenario::Kubernetes,
//!     issuer: "https://oidc.example/".into(),
//!     namespace: "production".into(),
//!     service_account: "app".into(),
//!     name: "app-production".into(),
//!     ..CredentialForm::default()
//! };
//! let fic = form.credential().expect("complete");
//! assert_eq!(fic.subject, "system:serviceaccount:production:app");
//! assert_eq!(fic.audiences, ["api://AzureADTokenExchange"]);
//! ```

use serde::Deserialize;
use wif_core::fic::FederatedCredential;

/// The audience the portal fills in.
pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";
const SA_PREFIX: &str = "system:serviceaccount:";

/// The portal's federated credential scenarios, as the console offers them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// "Kubernetes accessing Azure resources": issuer, namespace and service account.
    #[default]
    Kubernetes,
    /// "Other issuer": issuer and a free subject.
    Other,
}

/// The "Add credential" form, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CredentialForm {
    /// Whose credential: the parent's client id.
    pub parent: String,
    /// The scenario.
    pub scenario: Scenario,
    /// "Cluster issuer URL" / "Issuer".
    pub issuer: String,
    /// "Namespace" (Kubernetes).
    pub namespace: String,
    /// "Service account" (Kubernetes).
    pub service_account: String,
    /// "Subject identifier" (other issuers).
    pub subject: String,
    /// "Name".
    pub name: String,
    /// "Description".
    pub description: String,
    /// "Audience".
    pub audience: String,
}

/// A form that cannot become a credential yet: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct FormProblem {
    /// The field's label.
    pub field: &'static str,
    /// What is wrong.
    pub why: &'static str,
}

impl CredentialForm {
    /// The form prefilled from an exchange that needed a credential: the assertion's issuer
    /// and subject (a service account's subject fills namespace and service account).
    pub fn prefilled(parent: &str, issuer: &str, subject: &str) -> Self {
        let mut form = CredentialForm {
            parent: parent.to_owned(),
            issuer: issuer.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            ..CredentialForm::default()
        };
        match service_account_of(subject) {
            Some((namespace, name)) => {
                form.namespace = namespace.to_owned();
                form.service_account = name.to_owned();
                form.name = wif_core::fic::name_for_service_account(namespace, name);
            }
            None if !subject.is_empty() => {
                form.scenario = Scenario::Other;
                form.subject = subject.to_owned();
            }
            None => {}
        }
        form
    }

    /// The subject the form names: built for Kubernetes, as typed otherwise.
    pub fn subject(&self) -> String {
        match self.scenario {
            Scenario::Kubernetes => format!("{SA_PREFIX}{}:{}", self.namespace.trim(), self.service_account.trim()),
            Scenario::Other => self.subject.trim().to_owned(),
        }
    }

    /// The credential, once every field it needs is there.
    pub fn credential(&self) -> Result<FederatedCredential, FormProblem> {
        let missing = |field| FormProblem { field, why: "required" };
        let (issuer_label, subject_label) = match self.scenario {
            Scenario::Kubernetes => ("Cluster issuer URL", "Service account"),
            Scenario::Other => ("Issuer", "Subject identifier"),
        };
        if self.issuer.trim().is_empty() {
            return Err(missing(issuer_label));
        }
        if self.scenario == Scenario::Kubernetes {
            if self.namespace.trim().is_empty() {
                return Err(missing("Namespace"));
            }
            if self.service_account.trim().is_empty() {
                return Err(missing(subject_label));
            }
            if self.namespace.contains(':') || self.service_account.contains(':') {
                return Err(FormProblem {
                    field: "Namespace",
                    why: "a namespace or service account name has no ':' (the subject is built from them)",
                });
            }
        } else if self.subject.trim().is_empty() {
            return Err(missing(subject_label));
        }
        if self.name.trim().is_empty() {
            return Err(missing("Name"));
        }
        let audience = match self.audience.trim() {
            "" => DEFAULT_AUDIENCE,
            typed => typed,
        };
        Ok(FederatedCredential {
            name: self.name.trim().to_owned(),
            issuer: self.issuer.trim().to_owned(),
            subject: self.subject(),
            audiences: vec![audience.to_owned()],
            description: Some(self.description.trim().to_owned()).filter(|d| !d.is_empty()),
        })
    }
}

/// The namespace and name of a service account's subject.
pub fn service_account_of(subject: &str) -> Option<(&str, &str)> {
    let (namespace, name) = subject.strip_prefix(SA_PREFIX)?.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

/// The "Add role assignment" form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RoleForm {
    /// The scope (a resource id).
    pub scope: String,
    /// The built-in role's name.
    pub role: String,
    /// The principal's object id.
    pub principal: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubernetes() -> CredentialForm {
        CredentialForm {
            parent: "c".into(),
            issuer: " https://oidc.example/ ".into(),
            namespace: "production".into(),
            service_account: "app".into(),
            name: "app".into(),
            ..CredentialForm::default()
        }
    }

    #[test]
    fn kubernetes_builds_the_subject_and_other_takes_it_as_typed() {
        let fic = kubernetes().credential().expect("complete");
        assert_eq!(fic.issuer, "https://oidc.example/", "trimmed");
        assert_eq!(fic.subject, "system:serviceaccount:production:app");
        assert_eq!(fic.audiences, [DEFAULT_AUDIENCE]);
        assert_eq!(fic.description, None);
        let other = CredentialForm {
            scenario: Scenario::Other,
            subject: "repo:org/app:ref:refs/heads/main".into(),
            audience: "api://custom".into(),
            description: "ci".into(),
            ..kubernetes()
        };
        let fic = other.credential().expect("complete");
        assert_eq!(fic.subject, "repo:org/app:ref:refs/heads/main");
        assert_eq!(fic.audiences, ["api://custom"]);
        assert_eq!(fic.description.as_deref(), Some("ci"));
    }

    #[test]
    fn each_missing_field_is_named() {
        type Change = fn(&mut CredentialForm);
        let cases: [(Change, &str); 5] = [
            (|f| f.issuer.clear(), "Cluster issuer URL"),
            (|f| f.namespace = " ".into(), "Namespace"),
            (|f| f.service_account.clear(), "Service account"),
            (|f| f.name.clear(), "Name"),
            (|f| f.namespace = "a:b".into(), "Namespace"),
        ];
        for (change, field) in cases {
            let mut form = kubernetes();
            change(&mut form);
            assert_eq!(form.credential().map_err(|p| p.field), Err(field));
        }
        let other = CredentialForm {
            scenario: Scenario::Other,
            ..kubernetes()
        };
        assert_eq!(other.credential().map_err(|p| p.field), Err("Subject identifier"));
    }

    #[test]
    fn an_exchange_prefills_the_form() {
        let form = CredentialForm::prefilled("c", "https://i/", "system:serviceaccount:prod:web.app");
        assert_eq!(
            (form.namespace.as_str(), form.service_account.as_str()),
            ("prod", "web.app")
        );
        assert_eq!(form.name, "prod-web-app");
        assert_eq!(form.scenario, Scenario::Kubernetes);
        let other = CredentialForm::prefilled("c", "https://i/", "repo:org/app");
        assert_eq!(
            (other.scenario, other.subject.as_str()),
            (Scenario::Other, "repo:org/app")
        );
        assert_eq!(service_account_of("system:serviceaccount::x"), None);
        assert_eq!(service_account_of("system:serviceaccount:a:b:c"), None);
    }

    #[test]
    fn forms_decode_from_urlencoded_with_missing_fields_empty() {
        let form: CredentialForm =
            serde_urlencoded::from_str("parent=c&scenario=other&subject=s&csrf=x").expect("decodes");
        assert_eq!(form.scenario, Scenario::Other);
        assert_eq!(form.issuer, "");
        assert!(serde_urlencoded::from_str::<CredentialForm>("scenario=portal").is_err());
    }
}
