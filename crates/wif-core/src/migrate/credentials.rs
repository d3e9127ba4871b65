//! The federated credentials a migration needs: one per user-assigned identity and
//! ServiceAccount, named after the ServiceAccount (and, once the issuer is known, after it too),
//! and the azure-cli command that makes each.

use super::objects::IdentityPlace;

/// The audience every federated credential for Kubernetes takes.
pub const AUDIENCE: &str = "api://AzureADTokenExchange";

/// A federated credential a migrated workload needs on a user-assigned identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPlan {
    /// The identity.
    pub identity: IdentityPlace,
    /// Its client id.
    pub client_id: String,
    /// The credential's name without its issuer (`NAMESPACE-SERVICEACCOUNT`, as Entra allows
    /// names); [`CredentialPlan::name_for`] adds the issuer's.
    pub name: String,
    /// `system:serviceaccount:NAMESPACE:NAME`.
    pub subject: String,
}

impl CredentialPlan {
    /// Its name when it trusts `issuer`: the ServiceAccount's, with a short hash of the
    /// issuer, so that the same ServiceAccount of two clusters gets two credentials on a shared
    /// identity instead of the second overwriting the first (`az ... create` is a PUT).
    pub fn name_for(&self, issuer: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(issuer.as_bytes());
        let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let base: String = self.name.chars().take(120 - 1 - hash.len()).collect();
        format!("{base}-{hash}")
    }

    /// The azure-cli command that makes it, trusting `issuer`.
    pub fn az_command(&self, issuer: &str) -> String {
        [
            "az identity federated-credential create --name",
            &shell_word(&self.name_for(issuer)),
            "--identity-name",
            &shell_word(&self.identity.name),
            "--resource-group",
            &shell_word(&self.identity.resource_group),
            "--subscription",
            &shell_word(&self.identity.subscription),
            "--issuer",
            &shell_word(issuer),
            "--subject",
            &shell_word(&self.subject),
            "--audience",
            AUDIENCE,
        ]
        .join(" ")
    }
}

/// `word` as one shell word.
pub(super) fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@=".contains(c)) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
