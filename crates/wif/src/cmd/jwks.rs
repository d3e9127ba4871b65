//! `wif jwks`: the JWKS of a cluster's service-account keys, equal in content to `azwi jwks`
//! (same kid, alg and key fields), for self-managed clusters publishing their issuer.

use std::path::Path;

use anyhow::Result;
use clap::Args;
use wif_issuer::key_files::public_keys_from_files;
use wif_jose::jwks_of;

use wif_issuer::files::write_private;

/// `wif jwks` flags.
#[derive(Debug, Clone, Args)]
#[command(
    help_template = crate::cmd::help_with_examples!(
        "wif jwks --public-keys sa.pub",
        "wif jwks --public-keys sa.pub,old.pub --output-file jwks.json",
    )
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

/// Runs `wif jwks`.
pub fn run(args: &JwksArgs) -> Result<()> {
    let json = jwks_of(&public_keys_from_files(&args.public_keys)?).to_pretty_json();
    match &args.output_file {
        Some(path) => Ok(write_private(Path::new(path), json.as_bytes(), true)?),
        None => {
            println!("{json}");
            Ok(())
        }
    }
}
