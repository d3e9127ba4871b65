//! Credential rules, matching and its diagnosis, the claim-size limit and the closest issuer.

use super::*;

#[test]
fn claims_over_the_field_limit_are_named_before_any_match() {
    let long = "s".repeat(MAX_FIELD_LEN + 1);
    let audiences = vec!["api://AzureADTokenExchange".to_owned()];
    let claims = |issuer, subject| AssertionClaims {
        issuer,
        subject,
        audiences: &audiences,
    };
    assert_eq!(oversized_claim(&claims("https://i/", "ok")), None);
    assert_eq!(
        oversized_claim(&claims("https://i/", &long)),
        Some(OversizedClaim {
            claim: "sub",
            length: MAX_FIELD_LEN + 1
        })
    );
    assert_eq!(oversized_claim(&claims(&long, &long)).map(|o| o.claim), Some("iss"));
    // 600 two-byte characters are 1200 bytes and still within the limit.
    let wide = "é".repeat(MAX_FIELD_LEN);
    assert_eq!(oversized_claim(&claims("https://i/", &wide)), None);
    let long_audience = vec![long.clone()];
    let by_audience = AssertionClaims {
        issuer: "https://i/",
        subject: "s",
        audiences: &long_audience,
    };
    assert_eq!(oversized_claim(&by_audience).map(|o| o.claim), Some("aud"));
    assert_eq!(
        oversized_claim(&claims("https://i/", &long)).unwrap().to_string(),
        "the token's sub is 601 characters long, and a federated identity credential holds at most 600, so none can match it"
    );
}

#[test]
fn the_closest_issuer_is_the_one_a_typo_away() {
    let fics = [
        fic("a", "https://oidc.example/cluster-1/", "s", "a"),
        fic("b", "https://other.example/", "s", "a"),
    ];
    assert!(trusts_issuer(&fics, "https://other.example/"));
    assert!(!trusts_issuer(&fics, "https://other.example"));
    assert_eq!(
        closest_issuer(&fics, "https://oidc.example/cluster-1"),
        Some("https://oidc.example/cluster-1/")
    );
    assert_eq!(
        closest_issuer(&fics, "https://other.example"),
        Some("https://other.example/")
    );
    assert_eq!(closest_issuer(&[], "https://other.example"), None);
}

fn fic(name: &str, issuer: &str, subject: &str, audience: &str) -> FederatedCredential {
    FederatedCredential {
        name: name.into(),
        issuer: issuer.into(),
        subject: subject.into(),
        audiences: vec![audience.into()],
        description: None,
    }
}

const ISS: &str = "https://oidc.example/cluster/";
const AUD: &str = "api://AzureADTokenExchange";
const SUB: &str = "system:serviceaccount:demo:app";

fn assertion<'a>(iss: &'a str, sub: &'a str, aud: &'a [String]) -> AssertionClaims<'a> {
    AssertionClaims {
        issuer: iss,
        subject: sub,
        audiences: aud,
    }
}

#[test]
fn exact_match_wins() {
    let fics = [
        fic("other", ISS, "system:serviceaccount:demo:other", AUD),
        fic("app", ISS, SUB, AUD),
    ];
    let aud = vec!["https://kubernetes.default.svc".to_owned(), AUD.to_owned()];
    assert_eq!(match_credential(&fics, &assertion(ISS, SUB, &aud)).unwrap().name, "app");
}

#[test]
fn mismatches_in_entra_order_with_diagnosis() {
    let fics = [fic("k8s-demo-app", ISS, SUB, AUD)];
    let aud = vec![AUD.to_owned()];
    let cases = [
        (
            assertion("https://oidc.example/cluster", SUB, &aud),
            MismatchKind::Issuer,
            "differ only by a trailing slash",
        ),
        (
            assertion("https://OIDC.example/cluster/", SUB, &aud),
            MismatchKind::Issuer,
            "letter case",
        ),
        (
            assertion(ISS, "system:serviceaccount:production:app", &aud),
            MismatchKind::Subject,
            "namespace is 'demo' in the credential but 'production'",
        ),
        (
            assertion(ISS, "system:serviceaccount:demo:web", &aud),
            MismatchKind::Subject,
            "service account is 'app'",
        ),
        (
            assertion(ISS, "system:serviceaccount:Demo:app", &aud),
            MismatchKind::SubjectCaseOnly,
            "letter case",
        ),
    ];
    for (a, kind, words) in cases {
        let m = match_credential(&fics, &a).unwrap_err();
        assert_eq!(m.kind, kind, "{a:?}");
        assert_eq!(m.closest.as_deref(), Some("k8s-demo-app"));
        assert!(m.diagnosis.contains(words), "{a:?}: {}", m.diagnosis);
    }
    let other_aud = vec!["https://kubernetes.default.svc".to_owned()];
    let m = match_credential(&fics, &assertion(ISS, SUB, &other_aud)).unwrap_err();
    assert_eq!(m.kind, MismatchKind::Audience);
    assert!(
        m.diagnosis
            .contains("the projected token was requested with another audience"),
        "{}",
        m.diagnosis
    );
    let m = match_credential(&[], &assertion(ISS, SUB, &aud)).unwrap_err();
    assert_eq!(m.kind, MismatchKind::Issuer);
    assert!(m.diagnosis.contains("no federated identity credentials at all"));
}

#[test]
fn closest_is_the_one_with_fewest_differences() {
    let fics = [
        fic("far", "https://elsewhere/", "system:serviceaccount:x:y", AUD),
        fic("near", ISS, "system:serviceaccount:demo:ap", AUD),
    ];
    let aud = vec![AUD.to_owned()];
    let m = match_credential(&fics, &assertion(ISS, SUB, &aud)).unwrap_err();
    assert_eq!(m.closest.as_deref(), Some("near"));
}

#[test]
fn entra_rules() {
    assert!(check_credential(&fic("k8s-demo_app1", ISS, SUB, AUD)).is_ok());
    for bad in ["ab", "-abc", "has space", "dot.ted", &"x".repeat(121)] {
        assert!(
            matches!(
                check_credential(&fic(bad, ISS, SUB, AUD)),
                Err(CredentialRuleError::InvalidName(_))
            ),
            "{bad}"
        );
    }
    let mut two = fic("two", ISS, SUB, AUD);
    two.audiences.push("api://other".into());
    assert_eq!(check_credential(&two), Err(CredentialRuleError::AudienceCount));
    two.audiences.clear();
    assert_eq!(check_credential(&two), Err(CredentialRuleError::AudienceCount));
    assert!(matches!(
        check_credential(&fic("long", &"x".repeat(601), SUB, AUD)),
        Err(CredentialRuleError::FieldLength { field: "issuer", .. })
    ));
    assert!(matches!(
        check_credential(&fic("empty", ISS, "", AUD)),
        Err(CredentialRuleError::FieldLength { field: "subject", .. })
    ));
    let dup = [fic("one", ISS, SUB, AUD), fic("two", ISS, SUB, "api://x")];
    assert_eq!(
        check_credentials(&dup),
        Err(CredentialRuleError::DuplicateIssuerSubject { existing: "one".into() })
    );
    let names = [fic("one", ISS, SUB, AUD), fic("one", ISS, "other", AUD)];
    assert_eq!(
        check_credentials(&names),
        Err(CredentialRuleError::DuplicateName("one".into()))
    );
    let many: Vec<_> = (0..21)
        .map(|i| fic(&format!("fic-{i}"), ISS, &format!("s{i}"), AUD))
        .collect();
    assert_eq!(check_credentials(&many), Err(CredentialRuleError::TooMany));
    assert!(check_credentials(&many[..20]).is_ok());
}
