//! `azure_core::credentials::TokenCredential` for [`FederatedCredential`], so every Azure SDK
//! for Rust client (they take `Arc<dyn TokenCredential>`) can use wif's cache and identities.

use azure_core::credentials::{AccessToken as AzureAccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::error::{Error, ErrorKind};
use azure_core::time::OffsetDateTime;

use crate::credential::FederatedCredential;

#[async_trait::async_trait]
impl TokenCredential for FederatedCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzureAccessToken> {
        let scope = match scopes {
            [one] => *one,
            _ => {
                return Err(Error::with_message(
                    ErrorKind::Credential,
                    "wif-client gets a token for exactly one scope (RESOURCE/.default)",
                ));
            }
        };
        let token = FederatedCredential::get_token(self, scope)
            .await
            .map_err(|e| Error::with_message(ErrorKind::Credential, e.to_string()))?;
        let expires_on = OffsetDateTime::from_unix_timestamp(token.expires_on)
            .map_err(|e| Error::with_message(ErrorKind::Credential, format!("bad expiry: {e}")))?;
        Ok(AzureAccessToken::new(Secret::new(token.token.to_string()), expires_on))
    }
}
