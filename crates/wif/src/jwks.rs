//! `wif jwks`: the JWKS of a cluster's service-account keys, equal in content to `azwi jwks`
//! (same kid, alg and key fields), for self-managed clusters publishing their issuer.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use wif_jose::{JwkSet, PublicKey, jwks_of, public_keys_from_pem};

use crate::files::write_private;

/// `wif jwks` flags.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  wif jwks --public-keys sa.pub\n  wif jwks --public-keys sa.pub,old.pub --output-file jwks.json"
)]
pub struct JwksArgs {
    /// PEM files with public keys, certificates or private keys (several blocks each);
    /// repeat the flag or separate with commas.
    #[arg(long, value_delimiter = ',', required = true, value_name = "FILE")]
    pub public_keys: Vec<String>,
    /// Write the JWKS here (mode 0600) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<String>,
}

/// Reads every key of every file, naming the file on error.
pub fn read_public_keys(paths: &[String]) -> Result<Vec<PublicKey>> {
    let mut keys = Vec::new();
    for path in paths {
        let pem = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
        keys.extend(public_keys_from_pem(&pem).with_context(|| path.clone())?);
    }
    Ok(keys)
}

/// The JWKS of the keys in `paths`.
pub fn jwks_from_files(paths: &[String]) -> Result<JwkSet> {
    Ok(jwks_of(&read_public_keys(paths)?))
}

/// Runs `wif jwks`.
pub fn run(args: &JwksArgs) -> Result<()> {
    let json = jwks_from_files(&args.public_keys)?.to_pretty_json();
    match &args.output_file {
        Some(path) => write_private(Path::new(path), json.as_bytes(), true),
        None => {
            println!("{json}");
            Ok(())
        }
    }
}
