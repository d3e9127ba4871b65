//! An issuer's keys from PEM files: the private key that signs projected tokens, and the
//! public keys its JWKS publishes (several files, several blocks each, during a rotation).

use std::path::{Path, PathBuf};

use wif_jose::{KeyError, PublicKey, SigningKey};

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Its PEM holds no usable key.
    #[error("{}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: KeyError,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    std::fs::read(path).map_err(|source| KeyFileError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The signing key in `path` (PKCS#8, PKCS#1 or SEC1 PEM).
pub fn signing_key_from_file(path: &Path) -> Result<SigningKey, KeyFileError> {
    SigningKey::from_pem(&read(path)?).map_err(|source| KeyFileError::Key {
        path: path.to_path_buf(),
        source,
    })
}

/// Every public key of every file in `paths`, in order.
pub fn public_keys_from_files(paths: &[impl AsRef<Path>]) -> Result<Vec<PublicKey>, KeyFileError> {
    let mut keys = Vec::new();
    for path in paths {
        let path = path.as_ref();
        keys.extend(
            wif_jose::public_keys_from_pem(&read(path)?).map_err(|source| KeyFileError::Key {
                path: path.to_path_buf(),
                source,
            })?,
        );
    }
    Ok(keys)
}
