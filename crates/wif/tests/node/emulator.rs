//! `wif sts` where pods reach it: on the node's address, serving a certificate from the run's
//! test CA (`scripts/e2e-node` made it, and baked it into the derived proxy image as a platform
//! team bakes its private CA), trusting the API server as its issuer, with a reader in tenant R,
//! a writer in tenant W and a vault whose secret only the reader may read.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use serde_json::json;

use crate::cluster::{Cluster, Process, banner_field, spawn_with_banner};
use crate::var;

/// Tenant R: the reader's, and the chart's `azureTenantID`.
pub const READER_TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
/// Tenant W: the writer's, somewhere else entirely.
pub const WRITER_TENANT: &str = "dddddddd-0000-4000-8000-00000000000d";
pub const READER: &str = "11111111-0000-4000-8000-000000000001";
pub const READER_OBJECT: &str = "0b1ec700-0000-4000-8000-000000000001";
pub const WRITER: &str = "22222222-0000-4000-8000-000000000002";
pub const SUBSCRIPTION: &str = "5b5c4100-0000-4000-8000-000000000001";
pub const VAULT: &str = "kv-node";
pub const SECRET_NAME: &str = "greeting";
pub const SECRET_VALUE: &str = "hello from the local vault";
/// Namespaces whose `app` ServiceAccount the identities trust (one per scenario).
pub const TRUSTED_NAMESPACES: &[&str] = &["node-token", "node-app", "node-proxy", "node-rollout", "node-upstream"];
/// Key Vault Secrets User.
const SECRETS_USER: &str = "4633458b-17de-408a-b874-0445c86b69e6";

pub struct Emulator {
    _process: Process,
    /// `https://NODE_IP:PORT`: the authority host pods are given.
    pub url: String,
    /// `http://NODE_IP:PORT`: the CONNECT front for vault hosts.
    pub vault_proxy: String,
    /// The test CA's certificate (PEM file).
    pub ca_file: PathBuf,
    /// `https://kv-node.vault.wif.test`
    pub vault_url: String,
}

impl Emulator {
    pub fn start(cluster: &Cluster, work: &Path, node_ip: &str) -> Result<Emulator> {
        let dir = work.join("sts");
        std::fs::create_dir_all(&dir)?;
        let issuer = &cluster.server;
        let credentials = |app: &str| {
            TRUSTED_NAMESPACES
                .iter()
                .map(|ns| json!({"name": format!("{app}-{ns}"), "issuer": issuer, "subject": format!("system:serviceaccount:{ns}:app"), "audiences": ["api://AzureADTokenExchange"]}))
                .collect::<Vec<_>>()
        };
        let vault_scope =
            format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{VAULT}");
        let config = json!({
            "tenants": [
                {"tenantId": READER_TENANT, "applications": [
                    {"displayName": "reader", "appId": READER, "objectId": READER_OBJECT, "federatedIdentityCredentials": credentials("reader")},
                ]},
                {"tenantId": WRITER_TENANT, "applications": [
                    {"displayName": "writer", "appId": WRITER, "federatedIdentityCredentials": credentials("writer")},
                ]},
            ],
            "issuers": [{"issuer": issuer, "caFile": cluster.ca_file}],
            "subscriptions": [{"subscriptionId": SUBSCRIPTION, "tenantId": READER_TENANT, "callerRole": "None", "resourceGroups": [
                {"name": "rg", "location": "eastus", "keyVaults": [{"name": VAULT, "location": "eastus", "secrets": {
                    SECRET_NAME: {"name": SECRET_NAME, "versions": [{"version": "0123456789abcdef0123456789abcdef", "value": SECRET_VALUE, "created": 1_700_000_000}]},
                }}]},
            ]}],
            "roleAssignments": [{
                "name": "0a55a55a-0000-4000-8000-000000000001",
                "scope": vault_scope,
                "roleDefinitionId": format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER}"),
                "principalId": READER_OBJECT,
                "principalType": "ServicePrincipal",
            }],
        });
        let config_file = dir.join("directory.json");
        std::fs::write(&config_file, serde_json::to_vec_pretty(&config)?)?;
        let cert_dir = PathBuf::from(var("STS_CERT_DIR")?);
        let ca_file = PathBuf::from(var("TEST_CA_FILE")?);
        let mut command = Command::new(env!("CARGO_BIN_EXE_wif"));
        command
            .args(["sts", "--log-level", "info"])
            .args(["--addr", &format!("{node_ip}:0")])
            .args(["--vault-proxy-addr", &format!("{node_ip}:0")])
            .args(["--health-addr", "127.0.0.1:0"])
            .arg("--config")
            .arg(&config_file)
            .arg("--cert-dir")
            .arg(&cert_dir);
        let (process, banner) = spawn_with_banner("wif sts", &mut command, &dir.join("sts.log"))?;
        let url = banner_field(&banner, "listening on ")?;
        let vault_proxy = banner_field(&banner, "CONNECT proxy ")?;
        Ok(Emulator {
            _process: process,
            url,
            vault_proxy,
            ca_file,
            vault_url: format!("https://{VAULT}.vault.wif.test"),
        })
    }
}
