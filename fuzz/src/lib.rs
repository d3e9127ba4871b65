//! What each fuzz target does with its input, as plain functions: the targets in
//! fuzz_targets/ call them under libFuzzer (nightly), and crates/wif/tests/it/fuzz_replay.rs
//! includes this file to replay every corpus on stable. Each must answer any bytes, never
//! panic; results are dropped, since the property fuzzed is "no panic, no hang".

use std::sync::LazyLock;

use wif_jose::{Algorithm, JwkSet, SigningKey, Validation, jwks_of};

static KEYS: LazyLock<JwkSet> = LazyLock::new(|| {
    let keys: Vec<_> = [Algorithm::RS256, Algorithm::ES256]
        .into_iter()
        .filter_map(|a| SigningKey::generate(a).ok())
        .map(|k| k.public_key().clone())
        .collect();
    jwks_of(&keys)
});

/// The JWT/JWS parser and verifier, the JWKS parser and the PEM key reader.
pub fn jwt(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = wif_jose::decode_unverified(text);
        let _ = wif_jose::verify(text, &KEYS, &Validation::default(), 1_900_000_000);
    }
    if let Ok(set) = JwkSet::from_json(data) {
        let _ = wif_jose::verify("e30.e30.", &set, &Validation::default(), 0);
    }
    let _ = wif_jose::public_keys_from_pem(data);
}

/// DER, PEM and X.509: raw DER as a certificate, an SPKI and a PKCS#1 key; the bytes as PEM;
/// and as the webhook's certificate Secret (tls.crt), whose check once panicked on a date.
pub fn x509(data: &[u8]) {
    let _ = wif_jose::der::certificate_spki(data);
    let _ = wif_server::pki::certificate_validity(data);
    let _ = wif_jose::der::parse_spki(data);
    let _ = wif_jose::der::rsa_spki_from_pkcs1(data);
    if let Ok(blocks) = wif_jose::pem::parse_pem(data) {
        for block in blocks.iter().take(4) {
            let _ = wif_server::pki::certificate_validity(&block.der);
            let _ = wif_jose::der::parse_spki(&block.der);
        }
    }
    let _ = wif_jose::public_keys_from_pem(data);
    let _ = SigningKey::from_pem(data);
    static SECRET: LazyLock<std::collections::BTreeMap<String, Vec<u8>>> = LazyLock::new(|| {
        wif_webhook::certs::issue("ns", 1_900_000_000)
            .map(|b| b.to_data())
            .unwrap_or_default()
    });
    let mut secret = SECRET.clone();
    secret.insert("tls.crt".into(), data.to_vec());
    let _ = wif_webhook::certs::renewal_reason(&secret, "ns", 1_900_000_000);
    let mut pem_secret = SECRET.clone();
    pem_secret.insert(
        "ca.crt".into(),
        wif_jose::pem::encode_pem("CERTIFICATE", data).into_bytes(),
    );
    let _ = wif_webhook::certs::renewal_reason(&pem_secret, "ns", 1_900_000_000);
}

/// An AdmissionReview body: decoded, planned against an annotated ServiceAccount, answered.
pub fn admission(data: &[u8]) {
    static SETTINGS: LazyLock<wif_core::WebhookSettings> =
        LazyLock::new(|| wif_core::WebhookSettings::new("33333333-0000-4000-8000-000000000003"));
    let Ok(review) = wif_webhook::review::decode(data) else {
        return;
    };
    let account = wif_webhook::accounts::account(
        &review.namespace,
        "app",
        &[(
            "azure.workload.identity/client-id",
            "11111111-0000-4000-8000-000000000001",
        )],
    );
    let outcome = match &review.pod {
        Ok(pod) => {
            let request = wif_core::MutationRequest {
                pod,
                namespace: &review.namespace,
                service_account: &account,
                pod_name_hint: None,
            };
            wif_core::plan_mutation(&request, &SETTINGS)
        }
        Err(denial) => Err(denial.clone()),
    };
    let _ = wif_webhook::review::respond(&review, &outcome);
}

static DIRECTORY: LazyLock<Option<wif_sts::Directory>> = LazyLock::new(|| {
    let yaml = "tenants:\n  - tenantId: aaaaaaaa-0000-4000-8000-00000000000a\n    domain: contoso.onmicrosoft.com\n    applications:\n      - displayName: reader\n        appId: 11111111-0000-4000-8000-000000000001\n        federatedIdentityCredentials:\n          - { name: k8s, issuer: \"https://oidc.example/\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }\n";
    wif_sts::Directory::from_yaml(yaml, std::path::Path::new(".")).ok()
});

/// A token request's form, through every step before the issuer's keys are needed, on both
/// endpoints (duplicated, odd and oversized fields included).
pub fn token_form(data: &[u8]) {
    let Some(directory) = DIRECTORY.as_ref() else {
        return;
    };
    let Some(form) = wif_sts::exchange::Form::parse(data) else {
        return;
    };
    for endpoint in [wif_sts::exchange::Endpoint::V2, wif_sts::exchange::Endpoint::V1] {
        for tenant in [
            "aaaaaaaa-0000-4000-8000-00000000000a",
            "contoso.onmicrosoft.com",
            "common",
        ] {
            if let Ok(prepared) =
                wif_sts::exchange::prepare(directory, endpoint, tenant, &form, "https://127.0.0.1:8444")
            {
                let refused = wif_sts::exchange::verify(&prepared, &KEYS).err();
                if let Some(error) = refused {
                    let _ = wif_sts::exchange::signature_error(&prepared, &error);
                }
            }
        }
    }
}

/// The emulator's directory file.
pub fn directory(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let nowhere = std::path::Path::new("/nonexistent");
        let _ = wif_sts::Directory::from_yaml(text, nowhere);
        // The whole file, the local Azure plane's part included, as wif sts and wif up read it.
        if let Ok(config) = serde_saphyr::from_str::<wif_azure::AzureConfig>(text) {
            let _ = wif_azure::store::checked(&config, nowhere);
        }
    }
}

/// A manifest stream, rendered as `wif render` renders it and written back.
pub fn manifest(data: &[u8]) {
    static SETTINGS: LazyLock<wif_core::WebhookSettings> =
        LazyLock::new(|| wif_core::WebhookSettings::new("33333333-0000-4000-8000-000000000003"));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(documents) = wif_core::yaml::parse_stream(text) else {
        return;
    };
    let Ok(accounts) = wif_core::manifest::ServiceAccountIndex::from_documents(&documents, "default") else {
        return;
    };
    let options = wif_core::manifest::RenderOptions {
        default_namespace: "default".into(),
        allow_missing_service_accounts: true,
    };
    if let Ok(outcome) = wif_core::manifest::render_documents(&documents, &accounts, &SETTINGS, &options) {
        let rendered: Vec<_> = outcome.documents.into_iter().flatten().collect();
        let _ = wif_core::yaml::write_stream(&rendered);
    }
}

/// The proxy's request path: routing, the query of an IMDS and an App Service token request,
/// the identity selection over a pod's table, and the scope; the first line is the path, the
/// rest the query.
pub fn imds_query(data: &[u8]) {
    use wif_proxy::request::{Protocol, parse_query};
    static TABLE: LazyLock<Option<wif_proxy::IdentityTable>> = LazyLock::new(|| {
        let env: std::collections::HashMap<&str, &str> = [
            ("AZURE_TENANT_ID", "aaaaaaaa-0000-4000-8000-00000000000a"),
            ("AZURE_CLIENT_ID", "11111111-0000-4000-8000-000000000001"),
            ("AZURE_CLIENT_ID_WRITER", "22222222-0000-4000-8000-000000000002"),
            ("AZURE_TENANT_ID_WRITER", "bbbbbbbb-0000-4000-8000-00000000000b"),
        ]
        .into_iter()
        .collect();
        wif_proxy::IdentityTable::from_env(&env, env.keys().map(|k| (*k).to_owned())).ok()
    });
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (path, query) = text.split_once('\n').unwrap_or((text, text));
    let _ = wif_proxy::route::Route::of(path);
    for protocol in [Protocol::Imds, Protocol::AppService] {
        if let Ok(request) = parse_query(protocol, Some(query)) {
            let _ = request.scope();
            if let Some(table) = TABLE.as_ref() {
                let _ = table.select(&request.selector);
            }
        }
    }
}

/// `wif proxy init`'s reading of `iptables -t nat -S`, and both plans over it.
pub fn iptables_listing(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = wif_proxy::Redirect::default().plan_apply(&text);
    let _ = wif_proxy::Redirect::plan_undo(&text);
}

/// `wif doctor`'s input: the bytes as a credential file, and as manifests diagnosed against
/// the credentials read from them (when they are some) with a token of fixed claims.
pub fn doctor(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let credentials =
        wif_core::doctor::parse_credentials(text, "fuzz", Some("11111111-0000-4000-8000-000000000001")).ok();
    let Ok(values) = wif_core::yaml::parse_stream(text) else {
        return;
    };
    let documents: Vec<wif_core::doctor::Document> = values
        .into_iter()
        .enumerate()
        .map(|(index, value)| wif_core::doctor::Document {
            source: "fuzz".into(),
            index,
            value,
        })
        .collect();
    let settings = wif_core::WebhookSettings::new("aaaaaaaa-0000-4000-8000-00000000000a");
    let token = wif_core::doctor::TokenFacts {
        source: "token".into(),
        issuer: "https://oidc.example/".into(),
        subject: "system:serviceaccount:demo:app".into(),
        audiences: vec!["api://AzureADTokenExchange".into()],
        expires_at: Some(2_000_000_000),
        kid: Some("k".into()),
    };
    let _ = wif_core::doctor::diagnose(&wif_core::doctor::Input {
        documents: &documents,
        default_namespace: "default",
        settings: &settings,
        credentials: credentials.as_deref(),
        issuer: Some("https://oidc.example/"),
        token: Some(&token),
        issuer_check: None,
        now: 1_900_000_000,
        // Cluster mode judges more (a missing webhook registration), so fuzz that one.
        cluster: true,
    });
}

/// A CONNECT request head, as the vault proxy reads it, and the vault its host names.
pub fn connect_head(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let line = text.split('\n').next().unwrap_or_default().trim_end_matches('\r');
    if let Ok((host, _port)) = wif_server::tunnel::parse_connect(line) {
        let _ = wif_azure::vault::vault_of_host(host, "vault.wif.test");
    }
    let _ = wif_azure::vault::vault_of_host(&text, ".vault.wif.test:8443");
}
