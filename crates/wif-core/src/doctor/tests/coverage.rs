//! What the doctor says it did not check, and the issuer it cannot trust.

use super::*;

#[test]
fn what_was_not_checked_follows_from_the_input() {
    use Unchecked::*;
    // Manifests and credentials with the issuer, not fetched, no webhook configuration.
    assert_eq!(
        Case::new(GOOD).with_input(unchecked),
        [IssuerDocuments, WebhookRegistration]
    );
    // Manifests alone: no credential was looked at.
    let alone = Case {
        credentials: None,
        issuer: None,
        ..Case::new(GOOD)
    };
    assert_eq!(alone.run(), []);
    assert_eq!(
        alone.with_input(unchecked),
        [Credentials, IssuerDocuments, WebhookRegistration]
    );
    // Credentials without an issuer: theirs was taken as the token's.
    let no_issuer = Case {
        issuer: None,
        ..Case::new(GOOD)
    };
    assert_eq!(
        no_issuer.with_input(unchecked),
        [CredentialIssuer, IssuerDocuments, WebhookRegistration]
    );
    // Everything: the issuer fetched, the configuration among the manifests.
    let configuration = format!(
        "{GOOD}---\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {{name: azure-wi-webhook-mutating-webhook-configuration}}\nwebhooks: [{{name: mutation.azure-workload-identity.io}}]\n"
    );
    let everything = Case {
        issuer_check: Some(IssuerFacts::Fetched {
            discovery_issuer: ISSUER.into(),
            jwks_uri: format!("{ISSUER}openid/v1/jwks"),
            kids: vec!["k1".into()],
        }),
        ..Case::new(&configuration)
    };
    assert_eq!(everything.run(), []);
    assert_eq!(everything.with_input(unchecked), []);
    // Credentials alone: no workload to hold them against.
    let credentials_only = Case::new("");
    assert_eq!(credentials_only.with_input(unchecked), [Manifests, IssuerDocuments]);
    for part in [
        Manifests,
        Credentials,
        CredentialIssuer,
        IssuerDocuments,
        WebhookRegistration,
    ] {
        assert!(part.how().starts_with("pass "), "{part:?}: {}", part.how());
        assert!(part.how().contains("--"), "{part:?} names its flags: {}", part.how());
    }
}

#[test]
fn an_issuer_signed_by_a_private_ca_names_ca_file() {
    let url = format!("{ISSUER}.well-known/openid-configuration");
    let with = |ca_file: Option<&str>| Case {
        issuer_check: Some(IssuerFacts::Untrusted {
            url: url.clone(),
            ca_file: ca_file.map(str::to_owned),
        }),
        ..Case::new(GOOD)
    };
    let untrusted = only(&with(None), Rule::IssuerUnreachable);
    assert_eq!(
        untrusted.message,
        format!(
            "{url} cannot be fetched: the issuer's certificate is not signed by a CA this machine trusts: pass its CA with --ca-file FILE"
        )
    );
    assert!(
        untrusted
            .fix
            .starts_with("pass the CA that signed the issuer's certificate with --ca-file FILE")
    );
    let other_ca = only(&with(Some("other-ca.pem")), Rule::IssuerUnreachable);
    assert_eq!(
        other_ca.message,
        format!(
            "{url} cannot be fetched: the issuer's certificate is signed neither by the CA in other-ca.pem nor by one this machine trusts: pass its CA with --ca-file FILE"
        )
    );
}
