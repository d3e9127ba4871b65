//! The blob data plane over real TLS through the CONNECT front, with tokens the Azure SDK for
//! Rust's `WorkloadIdentityCredential` gets from one projected token (seed 000): an owner makes
//! a container and blobs in tenant R's account, the reader reads and is refused a write, the
//! writer of tenant W is refused at R's account, and bad input gets Storage's codes.

use reqwest::StatusCode;

use super::*;

mod bad_input;
mod kept;
mod seed;

const READER_TENANT: &str = TENANT;
const WRITER_TENANT: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const OWNER: &str = "0a0a0a0a-0000-4000-8000-000000000001";
const READER: &str = "0b0b0b0b-0000-4000-8000-000000000002";
const WRITER: &str = "0c0c0c0c-0000-4000-8000-000000000003";
const SUB_R: &str = "5ab5c71b-0000-4000-8000-0000000000a1";
const SUB_W: &str = "5ab5c71b-0000-4000-8000-0000000000b1";
const BLOB_OWNER: &str = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
const BLOB_CONTRIBUTOR: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

fn yaml(issuers: &str) -> String {
    let owner_arm = owner_arm_assignment();
    let app = |name: &str, id: &str| {
        format!(
            "      - {{ displayName: {name}, appId: {id}, objectId: {id}, federatedIdentityCredentials: [{{ name: k8s, issuer: \"{ISSUER}\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }}] }}\n"
        )
    };
    let assignment = |n: u32, sub: &str, account: &str, role: &str, principal: &str| {
        format!(
            "  - {{ name: 0a55a55a-0000-4000-8000-00000000000{n}, scope: /subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{account}, roleDefinitionId: /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}, principalId: {principal}, principalType: ServicePrincipal }}\n"
        )
    };
    format!(
        "tenants:\n  - tenantId: {READER_TENANT}\n    applications:\n{}{}  - tenantId: {WRITER_TENANT}\n    applications:\n{}subscriptions:\n  - {{ subscriptionId: {SUB_R}, tenantId: {READER_TENANT}, callerRole: None, resourceGroups: [{{ name: rg, location: eastus, storageAccounts: [{{ name: stread, location: eastus, containers: [{{ name: seeded, blobs: [{{ name: docs/hello.txt, content: \"hello from the config\", contentType: text/plain }}] }}] }}] }}] }}\n  - {{ subscriptionId: {SUB_W}, tenantId: {WRITER_TENANT}, callerRole: None, resourceGroups: [{{ name: rg, location: eastus, storageAccounts: [{{ name: stwrite, location: eastus }}] }}] }}\nroleAssignments:\n{}{}{}{}{issuers}",
        app("owner", OWNER),
        app("reader", READER),
        app("writer", WRITER),
        assignment(1, SUB_R, "stread", BLOB_OWNER, OWNER),
        assignment(2, SUB_R, "stread", BLOB_READER, READER),
        assignment(3, SUB_W, "stwrite", BLOB_CONTRIBUTOR, WRITER),
        owner_arm,
    )
}

/// The owner app manages the accounts through ARM too: Owner at subscription R.
fn owner_arm_assignment() -> String {
    format!(
        "  - {{ name: 0a55a55a-0000-4000-8000-000000000004, scope: /subscriptions/{SUB_R}, roleDefinitionId: /subscriptions/{SUB_R}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635, principalId: {OWNER}, principalType: ServicePrincipal }}\n"
    )
}

struct Plane {
    _emulator: wif_sts::LocalEmulator,
    http: reqwest::Client,
    url: String,
    ca_pem: String,
    token_file: PathBuf,
}

impl Plane {
    async fn token(&self, client: &str, tenant: &str) -> String {
        let credential = credential_as(&self.url, &self.ca_pem, self.token_file.clone(), client, tenant);
        let token = credential
            .get_token(&["https://storage.azure.com/.default"], None)
            .await
            .unwrap();
        token.token.secret().to_owned()
    }

    /// An ARM token of `client` in `tenant`, from the Rust SDK's credential.
    async fn arm_token(&self, client: &str, tenant: &str) -> String {
        let credential = credential_as(&self.url, &self.ca_pem, self.token_file.clone(), client, tenant);
        let token = credential
            .get_token(&["https://management.azure.com/.default"], None)
            .await
            .unwrap();
        token.token.secret().to_owned()
    }

    /// A request to `account`'s blob host; `token` as a bearer when given.
    async fn call(
        &self,
        method: reqwest::Method,
        account: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let mut request = self
            .http
            .request(method, format!("https://{account}.blob.storage.wif.test{path}"))
            .header("x-ms-version", "2025-05-05")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.text().await.unwrap())
    }
}

async fn start() -> Plane {
    let dir = std::env::temp_dir().join(format!("wif-azure-blob-{}", random_uuid().unwrap()));
    start_in(&dir, None).await
}

/// The plane over `dir` (the issuer's files and the token there), keeping its state in
/// `state_file` when given.
async fn start_in(dir: &std::path::Path, state_file: Option<PathBuf>) -> Plane {
    std::fs::create_dir_all(dir).unwrap();
    // A new key for each start: the token file and the JWKS the emulator reads are rewritten.
    let issuer = wif_issuer::StaticIssuer::create(ISSUER, dir).unwrap();
    let config: wif_azure::AzureConfig = serde_saphyr::from_str(&yaml(&issuer.issuers_section())).unwrap();
    let (directory, plane) = wif_azure::AzurePlane::new(config, dir.to_path_buf(), state_file).unwrap();
    let emulator = wif_sts::Emulator::new(directory)
        .plane(plane)
        .start_local()
        .await
        .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, issuer.token("demo", "app").unwrap()).unwrap();
    let http = through_front(&emulator);
    Plane {
        url: emulator.url.clone(),
        ca_pem: emulator.ca_pem.clone(),
        _emulator: emulator,
        http,
        token_file,
    }
}

fn code(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
