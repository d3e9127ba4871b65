//! A cluster's OIDC issuer on this machine, for the demo and tests: [`LocalIssuer`] serves its
//! documents on loopback over TLS from a CA made for it and mints the tokens kube-apiserver
//! would project; [`StaticIssuer`] has no server at all, its JWKS written to a file the
//! emulator reads (`jwksFile`).

use std::path::Path;

use wif_jose::kubernetes::{BoundPod, ProjectedToken, random_uuid};
use wif_jose::{Algorithm, KeyError, SigningKey};
use wif_server::{LocalOptions, LocalServer};

use crate::documents::{DocumentsError, IssuerDocuments};

/// Why a local issuer did not start or mint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalIssuerError {
    /// A key or a token could not be made.
    #[error("cannot make the issuer's key or token")]
    Key(#[from] KeyError),
    /// Its documents could not be made.
    #[error(transparent)]
    Documents(#[from] DocumentsError),
    /// Its server did not start.
    #[error("cannot start the issuer's server")]
    Serve(#[from] wif_server::ServiceError),
    /// No free port, or the JWKS file could not be written.
    #[error("cannot prepare the issuer")]
    Io(#[from] std::io::Error),
}

/// An issuer serving its discovery document and JWKS on loopback until dropped.
#[derive(Debug)]
pub struct LocalIssuer {
    /// The issuer URL (`https://127.0.0.1:PORT/`), as in the tokens' `iss`.
    pub url: String,
    /// Its signing key.
    pub key: SigningKey,
    server: LocalServer,
}

impl LocalIssuer {
    /// Starts one with a new key on a free loopback port.
    ///
    /// ```
    /// # async fn example() -> Result<(), wif_issuer::LocalIssuerError> {
    /// let issuer = wif_issuer::LocalIssuer::start().await?;
    /// let token = issuer.mint("demo", "app", Some("web-0"))?;
    /// assert!(token.starts_with("eyJ"));
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().expect("a runtime").block_on(example()).expect("the example runs");
    /// ```
    pub async fn start() -> Result<Self, LocalIssuerError> {
        let key = SigningKey::generate(Algorithm::RS256)?;
        // The issuer URL names the port, so the port is chosen before the documents are made.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let url = format!("https://{addr}/");
        let documents = IssuerDocuments::new(&url, None, std::slice::from_ref(key.public_key()))?;
        let options = LocalOptions {
            addr,
            ca_name: "wif local issuer CA".into(),
            tls_min_version: "1.3".into(),
            ..LocalOptions::default()
        };
        let server = LocalServer::start(documents.router(), Default::default(), options).await?;
        Ok(LocalIssuer { url, key, server })
    }

    /// The CA its certificate chains to (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.server.ca_pem
    }

    /// A projected token for `namespace/service_account`, bound to `pod` when given, audience
    /// `api://AzureADTokenExchange`, valid an hour from now.
    pub fn mint(&self, namespace: &str, service_account: &str, pod: Option<&str>) -> Result<String, LocalIssuerError> {
        let mut token =
            ProjectedToken::for_service_account(&self.url, namespace, service_account, wif_core::clock::unix_now())?;
        token.pod = match pod {
            Some(name) => Some(BoundPod {
                name: name.into(),
                uid: random_uuid()?,
            }),
            None => None,
        };
        Ok(token.sign(&self.key)?)
    }
}

/// A cluster's issuer without a server: a signing key whose JWKS is written to a file the
/// emulator reads (`jwksFile`), and the projected tokens kubelet would write.
#[derive(Debug)]
pub struct StaticIssuer {
    /// The issuer URL, as in the tokens' `iss`.
    pub url: String,
    /// The key that signs its tokens.
    pub key: SigningKey,
    jwks_file: String,
}

impl StaticIssuer {
    /// A new key for `url`, its JWKS written to `dir/jwks.json`.
    pub fn create(url: &str, dir: &Path) -> Result<Self, LocalIssuerError> {
        let key = SigningKey::generate(Algorithm::RS256)?;
        let jwks = wif_jose::jwks_of(std::slice::from_ref(key.public_key())).to_pretty_json();
        std::fs::write(dir.join("jwks.json"), jwks)?;
        Ok(StaticIssuer {
            url: url.to_owned(),
            key,
            jwks_file: "jwks.json".into(),
        })
    }

    /// The directory's `issuers:` section trusting it (relative to `dir`).
    pub fn issuers_section(&self) -> String {
        format!(
            "issuers:\n  - {{ issuer: \"{}\", jwksFile: {} }}\n",
            self.url, self.jwks_file
        )
    }

    /// A projected token for `namespace/service_account`, issued now, valid an hour.
    pub fn token(&self, namespace: &str, service_account: &str) -> Result<String, LocalIssuerError> {
        Ok(
            ProjectedToken::for_service_account(&self.url, namespace, service_account, wif_core::clock::unix_now())?
                .sign(&self.key)?,
        )
    }
}
