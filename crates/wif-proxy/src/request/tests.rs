//! IMDS and App Service requests as SDKs send them, and each refusal.

use super::*;

fn imds(query: &str) -> Result<TokenRequest, Refusal> {
    parse_query(Protocol::Imds, Some(query))
}

fn description(result: Result<impl std::fmt::Debug, Refusal>) -> (u16, String, String) {
    let refusal = result.expect_err("a refusal");
    (refusal.status, refusal.error, refusal.description)
}

#[test]
fn imds_headers_the_ssrf_rules() {
    let ok = Headers {
        metadata: Some(b"true"),
        ..Headers::default()
    };
    assert_eq!(check_imds_headers(&ok), Ok(()));
    let upper = Headers {
        metadata: Some(b"True"),
        ..Headers::default()
    };
    assert_eq!(check_imds_headers(&upper), Ok(()));
    for metadata in [None, Some(&b"false"[..]), Some(b""), Some(b"true ")] {
        let headers = Headers {
            metadata,
            ..Headers::default()
        };
        assert_eq!(
            description(check_imds_headers(&headers)),
            (
                400,
                "invalid_request".into(),
                "Required metadata header not specified".into()
            )
        );
    }
    let forwarded = Headers {
        metadata: Some(b"true"),
        forwarded_for: true,
        ..Headers::default()
    };
    let (status, _, text) = description(check_imds_headers(&forwarded));
    assert_eq!(status, 400);
    assert!(
        text.starts_with("Requests carrying an X-Forwarded-For header are refused"),
        "{text}"
    );
}

#[test]
fn app_service_secret() {
    let with = |value: Option<&'static [u8]>| Headers {
        identity_header: value,
        ..Headers::default()
    };
    assert_eq!(
        check_app_service_secret(&with(Some(b"s3cret")), Some(b"s3cret")),
        Ok(())
    );
    for wrong in [None, Some(&b"s3cre"[..]), Some(b"s3cret2"), Some(b"S3CRET")] {
        let (status, error, _) = description(check_app_service_secret(&with(wrong), Some(b"s3cret")));
        assert_eq!((status, error.as_str()), (401, "unauthorized"), "{wrong:?}");
    }
    let (status, _, text) = description(check_app_service_secret(&with(Some(b"x")), None));
    assert_eq!(status, 404);
    assert!(text.contains("IDENTITY_HEADER"), "{text}");
    let forwarded = Headers {
        identity_header: Some(b"s3cret"),
        forwarded_for: true,
        ..Headers::default()
    };
    assert_eq!(
        description(check_app_service_secret(&forwarded, Some(b"s3cret"))).0,
        400
    );
}

#[test]
fn queries_as_sdks_send_them() {
    let plain = imds("api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net").unwrap();
    assert_eq!(plain.resource, "https://vault.azure.net");
    assert_eq!(plain.selector, Selector::Default);
    assert_eq!(plain.scope(), "https://vault.azure.net/.default");
    let chosen = imds("api-version=2018-02-01&resource=https://management.azure.com/&client_id=c-1").unwrap();
    assert_eq!(chosen.selector, Selector::ClientId("c-1".into()));
    assert_eq!(chosen.scope(), "https://management.azure.com//.default");
    let empty_selector = imds("resource=r&client_id=").unwrap();
    assert_eq!(
        empty_selector.selector,
        Selector::Default,
        "an empty client_id is no client_id"
    );
    let mi = imds("resource=r&mi_res_id=/subscriptions/s/x").unwrap();
    assert_eq!(
        mi.selector,
        Selector::Unmapped {
            parameter: "mi_res_id",
            value: "/subscriptions/s/x".into()
        }
    );
    assert_eq!(scope_of("api://x/.default"), "api://x/.default");
    let app = parse_query(
        Protocol::AppService,
        Some("api-version=2019-08-01&resource=r&principal_id=p"),
    )
    .unwrap();
    assert!(matches!(
        app.selector,
        Selector::Unmapped {
            parameter: "principal_id",
            ..
        }
    ));
}

#[test]
fn every_query_refusal() {
    assert_eq!(
        description(imds("api-version=2018-02-01")),
        (
            400,
            "invalid_request".into(),
            "Required query variable 'resource' is missing".into()
        )
    );
    assert_eq!(description(parse_query(Protocol::Imds, None)).0, 400);
    assert_eq!(description(imds("resource=")).0, 400);
    let (_, _, twice) = description(imds("resource=a&resource=b"));
    assert_eq!(twice, "the query parameter 'resource' is given more than once");
    let (_, _, several) = description(imds("resource=a&client_id=c&object_id=o"));
    assert_eq!(
        several,
        "give one identity selector, not several (client_id, object_id)"
    );
    let (_, error, _) = description(imds("resource=a%20b"));
    assert_eq!(error, "invalid_resource");
    let long = format!("resource={}", "r".repeat(MAX_RESOURCE_CHARS + 1));
    assert_eq!(description(imds(&long)).1, "invalid_resource");
    let huge = format!("resource=r&x={}", "y".repeat(MAX_QUERY_BYTES));
    assert!(description(imds(&huge)).2.contains("more than 8192"));
    let control = "resource=r&client_id=%01";
    assert!(description(imds(control)).2.contains("control characters"));
    let (_, _, version) = description(parse_query(Protocol::AppService, Some("resource=r")));
    assert_eq!(
        version,
        "api-version must be 2019-08-01 (App Service's managed-identity protocol)"
    );
    let (_, _, old) = description(parse_query(
        Protocol::AppService,
        Some("api-version=2017-09-01&resource=r"),
    ));
    assert!(old.starts_with("api-version must be"));
    let (_, _, bad_name) = description(imds("resource=r&a%01b=1&a%01b=2"));
    assert_eq!(bad_name, "the query parameter 'ab' is given more than once");
}
