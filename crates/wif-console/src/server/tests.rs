//! The console served for real: the emulator with the plane and the console beside it, on
//! loopback with real TLS, asked by reqwest as a browser would (cookies, forms, the live feed).

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HOST, LOCATION, ORIGIN, SET_COOKIE};
use wif_azure::AzurePlane;

use crate::Console;
use crate::access::LoginKeys;

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const APP: &str = "11111111-0000-4000-8000-000000000001";
const SUB: &str = "5ab5c71b-0000-4000-8000-000000000001";

struct Served {
    url: String,
    client: reqwest::Client,
    keys: Arc<LoginKeys>,
    plane: wif_azure::PlaneHandle,
    _emulator: wif_sts::LocalEmulator,
}

async fn served() -> Served {
    let yaml = format!(
        "tenants: [{{tenantId: {TENANT}, applications: [{{displayName: console-app, appId: {APP}}}]}}]\n\
         subscriptions: [{{subscriptionId: {SUB}, tenantId: {TENANT}, resourceGroups: [{{name: rg, location: westeurope}}]}}]\n"
    );
    let config: wif_azure::AzureConfig = serde_saphyr::from_str(&yaml).expect("config");
    let (directory, plane) = AzurePlane::new(config, ".".into(), None).expect("plane");
    let console = Console::new([9u8; 32]);
    let handle = plane.handle();
    let emulator = wif_sts::Emulator::new(directory)
        .plane(plane.beside(console.beside()))
        .start_local()
        .await
        .expect("emulator");
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem.as_bytes()).expect("ca");
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client");
    Served {
        url: emulator.url.clone(),
        client,
        keys: console.keys(),
        plane: handle,
        _emulator: emulator,
    }
}

impl Served {
    fn link(&self, nonce: u8) -> String {
        let token = self.keys.mint([nonce; 16], wif_core::clock::unix_now());
        format!("{}/_console/login?token={token}", self.url)
    }

    /// Logs in; the session cookie and the CSRF token of its pages.
    async fn login(&self, nonce: u8) -> (String, String) {
        let answer = self.client.get(self.link(nonce)).send().await.expect("login");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        let cookie = answer
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .expect("a cookie")
            .to_owned();
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/_console"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        let cookie = cookie.split(';').next().unwrap_or_default().to_owned();
        let page = self.get("/_console/", &cookie).await.1;
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a csrf field")
            .to_owned();
        (cookie, csrf)
    }

    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let answer = self
            .client
            .get(format!("{}{path}", self.url))
            .header(COOKIE, cookie)
            .send()
            .await
            .expect("get");
        (answer.status(), answer.text().await.unwrap_or_default())
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.url))
            .header(COOKIE, cookie)
            .form(form)
            .send()
            .await
            .expect("post")
    }

    fn config(&self) -> wif_azure::AzureConfig {
        let state = self.plane.state().expect("started");
        state.store.config.try_lock().expect("unlocked").clone()
    }
}

const PAGES: [&str; 8] = [
    "/_console/",
    "/_console",
    "/_console/identities",
    "/_console/roles",
    "/_console/resources",
    "/_console/exchanges",
    "/_console/exchanges/events",
    "/_console/credentials/new?parent=11111111-0000-4000-8000-000000000001",
];

#[tokio::test]
async fn without_a_session_nothing_is_shown_and_nothing_changes() {
    let served = served().await;
    for cookie in [
        "",
        "wif_console=",
        "wif_console=Q48Q8nY67jeXTFHVkQGwDEAhWSsLW0nGIIlY1sm_XLg",
    ] {
        for page in PAGES {
            let (status, body) = served.get(page, cookie).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{page} with {cookie:?}");
            assert!(!body.contains(APP) && !body.contains(TENANT), "{page}: {body}");
            assert!(body.contains("log in with the link"), "{body}");
        }
        let answer = served
            .post("/_console/credentials", cookie, &[("parent", APP), ("name", "x")])
            .await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    // Forged, mangled and reused login links.
    let forged = LoginKeys::new([1u8; 32]).mint([1u8; 16], wif_core::clock::unix_now());
    for token in [forged.as_str(), "", "a.b.c", &"A".repeat(5000)] {
        let (status, body) = served.get(&format!("/_console/login?token={token}"), "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:.30}");
        assert!(
            body.contains("not made by this console") && !body.contains(APP),
            "{body}"
        );
    }
    let link = served.link(2);
    assert_eq!(
        served.client.get(&link).send().await.expect("first").status(),
        StatusCode::SEE_OTHER
    );
    let again = served.client.get(&link).send().await.expect("again");
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert!(again.text().await.unwrap_or_default().contains("used already"));
    let config = served.config();
    assert!(
        config.tenants[0].applications[0]
            .federated_identity_credentials
            .is_empty()
    );
}

#[tokio::test]
async fn only_a_loopback_host_is_answered() {
    let served = served().await;
    let (cookie, _) = served.login(1).await;
    for host in ["example.com", "login.microsoftonline.com", "127.0.0.1.nip.io:443"] {
        let answer = served
            .client
            .get(format!("{}/_console/identities", served.url))
            .header(HOST, host)
            .header(COOKIE, &cookie)
            .send()
            .await
            .expect("get");
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{host}");
    }
    let (status, page) = served.get("/_console/identities", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(APP) && page.contains("console-app"), "{page}");
}

#[tokio::test]
async fn a_credential_added_through_the_form_is_in_the_directory_and_markup_is_escaped() {
    let served = served().await;
    let (cookie, csrf) = served.login(1).await;
    let issuer = "https://oidc.example/";
    let form = |name: &'static str, namespace: &'static str, description: &'static str| {
        vec![
            ("parent", APP),
            ("scenario", "kubernetes"),
            ("issuer", issuer),
            ("namespace", namespace),
            ("service_account", "app"),
            ("name", name),
            ("description", description),
            ("audience", ""),
        ]
    };
    // No CSRF token, a wrong one, another origin: refused, nothing written.
    let answer = served
        .post("/_console/credentials", &cookie, &form("a1", "prod", ""))
        .await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let mut wrong = form("a1", "prod", "");
    wrong.push(("csrf", "not-the-token"));
    assert_eq!(
        served.post("/_console/credentials", &cookie, &wrong).await.status(),
        StatusCode::FORBIDDEN
    );
    let mut elsewhere = form("a1", "prod", "");
    elsewhere.push(("csrf", &csrf));
    let answer = served
        .client
        .post(format!("{}/_console/credentials", served.url))
        .header(COOKIE, &cookie)
        .header(ORIGIN, "https://evil.example")
        .form(&elsewhere)
        .send()
        .await
        .expect("post");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert!(
        served.config().tenants[0].applications[0]
            .federated_identity_credentials
            .is_empty()
    );

    // Markup in the name: Entra's refusal, inline and escaped.
    let mut probe = form("<img src=x onerror=alert(1)>", "prod", "");
    probe.push(("csrf", &csrf));
    let answer = served.post("/_console/credentials", &cookie, &probe).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let page = answer.text().await.unwrap_or_default();
    assert!(page.contains("role=\"alert\""), "{page}");
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;") && !page.contains("<img"),
        "{page}"
    );

    // A good one, with markup in its description: added, and shown as text.
    let mut good = form("app-prod", "production", "<script>alert(2)</script>");
    good.push(("csrf", &csrf));
    let answer = served.post("/_console/credentials", &cookie, &good).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        answer.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
        Some(format!("/_console/identities#fic-{APP}-app-prod").as_str())
    );
    let fics = served.config().tenants[0].applications[0]
        .federated_identity_credentials
        .clone();
    assert_eq!(fics.len(), 1);
    assert_eq!(fics[0].subject, "system:serviceaccount:production:app");
    assert_eq!(fics[0].audiences, ["api://AzureADTokenExchange"]);
    let (_, page) = served.get("/_console/identities", &cookie).await;
    assert!(
        page.contains("&lt;script&gt;alert(2)&lt;/script&gt;") && !page.contains("<script>alert"),
        "{page}"
    );
    // The same issuer and subject again: Entra's duplicate rule, inline.
    let mut twice = form("app-prod-2", "production", "");
    twice.push(("csrf", &csrf));
    let answer = served.post("/_console/credentials", &cookie, &twice).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let page = answer.text().await.unwrap_or_default();
    assert!(page.contains("role=\"alert\""), "{page}");
    assert!(
        page.contains("value=\"app-prod-2\""),
        "the form keeps what was typed: {page}"
    );

    // Removed again.
    let answer = served
        .post(
            "/_console/credentials/delete",
            &cookie,
            &[("parent", APP), ("name", "app-prod"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert!(
        served.config().tenants[0].applications[0]
            .federated_identity_credentials
            .is_empty()
    );
}

#[tokio::test]
async fn a_role_assignment_added_through_the_form_is_arms_and_a_refusal_is_armss() {
    let served = served().await;
    let (cookie, csrf) = served.login(1).await;
    let scope = format!("/subscriptions/{SUB}/resourceGroups/rg");
    let object_id = wif_azure::ops::principals(&served.config())[0].object_id.clone();
    let answer = served
        .post(
            "/_console/roles",
            &cookie,
            &[
                ("scope", &scope),
                ("role", "Reader"),
                ("principal", &object_id),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let config = served.config();
    assert_eq!(config.role_assignments.len(), 1);
    assert_eq!(config.role_assignments[0].scope, scope);
    assert_eq!(config.role_assignments[0].principal_id, object_id);
    let (_, page) = served.get("/_console/roles", &cookie).await;
    assert!(page.contains("Reader") && page.contains(&object_id), "{page}");
    let again = served
        .post(
            "/_console/roles",
            &cookie,
            &[
                ("scope", &scope),
                ("role", "Reader"),
                ("principal", &object_id),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap_or_default().contains("already exists"));
    let unknown = served
        .post(
            "/_console/roles",
            &cookie,
            &[
                ("scope", &scope),
                ("role", "Wizard"),
                ("principal", &object_id),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let page = unknown.text().await.unwrap_or_default();
    assert!(
        page.contains("Role 'Wizard' doesn't exist.") || page.contains("Role &#39;Wizard&#39; doesn&#39;t exist."),
        "{page}"
    );
    assert_eq!(served.config().role_assignments.len(), 1);
}

#[tokio::test]
async fn a_token_request_reaches_the_live_feed_and_the_page() {
    let served = served().await;
    let (cookie, _) = served.login(1).await;
    let mut events = served
        .client
        .get(format!("{}/_console/exchanges/events?after=0", served.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("events");
    assert_eq!(events.status(), StatusCode::OK);
    let refused = served
        .client
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", served.url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "<b>bold</b>"),
            ("scope", "x/.default"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "invalid_client: no such application"
    );
    let mut seen = String::new();
    while !seen.contains("\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), events.chunk())
            .await
            .expect("an event in time")
            .expect("the stream")
            .expect("a chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: exchange") && seen.contains("id: 1"), "{seen}");
    assert!(
        seen.contains("\"outcome\":\"refused\"") && seen.contains("<b>bold</b>"),
        "JSON, set as text by the page: {seen}"
    );
    let (_, page) = served.get("/_console/exchanges", &cookie).await;
    assert!(
        page.contains("data-seq=\"1\"") && page.contains("data-outcome=\"refused\""),
        "{page}"
    );
    assert!(
        page.contains("&lt;b&gt;bold&lt;/b&gt;") && !page.contains("<b>bold"),
        "{page}"
    );
}
