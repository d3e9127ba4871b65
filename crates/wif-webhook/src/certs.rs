//! The webhook's own serving certificate, as upstream's rotator keeps it: a self-signed CA
//! (`azure-workload-identity-ca`) and a serving certificate for the Service's DNS names, stored
//! in the Secret `azure-wi-webhook-server-cert` as `ca.crt`, `ca.key`, `tls.crt`, `tls.key`,
//! valid ten years and renewed when less than 90 days remain. This module decides and issues;
//! [`crate::rotation`] talks to the API server.

use std::collections::BTreeMap;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use wif_core::contract;

/// Renew when less than this much validity remains (upstream's look-ahead).
pub const RENEW_BEFORE_SECONDS: i64 = 90 * 86_400;
/// Validity of what we issue.
pub const VALIDITY_SECONDS: i64 = 10 * 365 * 86_400;

/// The Secret's four files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertBundle {
    /// `ca.crt`.
    pub ca_cert_pem: String,
    /// `ca.key`.
    pub ca_key_pem: String,
    /// `tls.crt`.
    pub cert_pem: String,
    /// `tls.key`.
    pub key_pem: String,
}

impl CertBundle {
    /// As Secret data.
    pub fn to_data(&self) -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([
            ("ca.crt".to_owned(), self.ca_cert_pem.as_bytes().to_vec()),
            ("ca.key".to_owned(), self.ca_key_pem.as_bytes().to_vec()),
            ("tls.crt".to_owned(), self.cert_pem.as_bytes().to_vec()),
            ("tls.key".to_owned(), self.key_pem.as_bytes().to_vec()),
        ])
    }

    /// From Secret data, when all four are there and are text.
    pub fn from_data(data: &BTreeMap<String, Vec<u8>>) -> Option<Self> {
        let text = |k: &str| {
            data.get(k)
                .and_then(|v| String::from_utf8(v.clone()).ok())
                .filter(|s| !s.is_empty())
        };
        Some(CertBundle {
            ca_cert_pem: text("ca.crt")?,
            ca_key_pem: text("ca.key")?,
            cert_pem: text("tls.crt")?,
            key_pem: text("tls.key")?,
        })
    }
}

/// The Service's DNS names in `namespace`.
pub fn dns_names(namespace: &str) -> Vec<String> {
    let service = contract::WEBHOOK_SERVICE_NAME;
    vec![
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// Why the Secret's certificates must be (re)issued, or `None` when they are good.
pub fn renewal_reason(data: &BTreeMap<String, Vec<u8>>, namespace: &str, now: i64) -> Option<String> {
    let Some(bundle) = CertBundle::from_data(data) else {
        return Some("the Secret lacks ca.crt, ca.key, tls.crt or tls.key".into());
    };
    for (name, pem) in [("ca.crt", &bundle.ca_cert_pem), ("tls.crt", &bundle.cert_pem)] {
        let der = match wif_jose::pem::parse_pem(pem.as_bytes()) {
            Ok(blocks) if blocks.first().is_some_and(|b| b.label == "CERTIFICATE") => blocks[0].der.clone(),
            _ => return Some(format!("{name} is not a PEM certificate")),
        };
        match wif_jose::der::certificate_validity(&der) {
            Ok((_, not_after)) if not_after - now < RENEW_BEFORE_SECONDS => {
                return Some(format!("{name} expires at {not_after}"));
            }
            Ok(_) => {}
            Err(e) => return Some(format!("{name}: {e}")),
        }
        if name == "tls.crt"
            && !dns_names(namespace)
                .iter()
                .all(|n| der.windows(n.len()).any(|w| w == n.as_bytes()))
        {
            return Some(format!("tls.crt is not for {}", dns_names(namespace)[0]));
        }
    }
    let generated = std::path::Path::new("(secret)");
    if let Err(e) = wif_server::tls::certified_key_from_pem(
        bundle.cert_pem.as_bytes(),
        bundle.key_pem.as_bytes(),
        generated,
        generated,
    ) {
        return Some(format!("tls.key does not serve tls.crt: {e}"));
    }
    None
}

fn validity(params: &mut CertificateParams, now: i64) -> Result<(), rcgen::Error> {
    let from =
        time::OffsetDateTime::from_unix_timestamp(now - 3600).map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
    let until = time::OffsetDateTime::from_unix_timestamp(now + VALIDITY_SECONDS)
        .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
    params.not_before = from;
    params.not_after = until;
    Ok(())
}

/// A new CA and serving certificate for the Service in `namespace`.
pub fn issue(namespace: &str, now: i64) -> Result<CertBundle, rcgen::Error> {
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "azure-workload-identity-ca");
    ca.distinguished_name
        .push(DnType::OrganizationName, "azure-workload-identity");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut ca, now)?;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let names = dns_names(namespace);
    let mut serving = CertificateParams::default();
    serving.distinguished_name.push(DnType::CommonName, names[0].as_str());
    serving.subject_alt_names = names
        .iter()
        .map(|n| n.clone().try_into().map(SanType::DnsName))
        .collect::<Result<_, _>>()?;
    validity(&mut serving, now)?;
    let key = KeyPair::generate()?;
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let cert = serving.signed_by(&key, &issuer)?;
    Ok(CertBundle {
        ca_cert_pem: ca_cert.pem(),
        ca_key_pem: issuer.key().serialize_pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_900_000_000;

    #[test]
    fn issued_bundles_are_good_until_the_look_ahead() {
        let bundle = issue("azure-workload-identity-system", NOW).unwrap();
        let data = bundle.to_data();
        assert_eq!(CertBundle::from_data(&data), Some(bundle));
        assert_eq!(renewal_reason(&data, "azure-workload-identity-system", NOW), None);
        let late = NOW + VALIDITY_SECONDS - RENEW_BEFORE_SECONDS + 10;
        assert!(
            renewal_reason(&data, "azure-workload-identity-system", late)
                .unwrap()
                .contains("expires")
        );
        assert!(
            renewal_reason(&data, "other-namespace", NOW)
                .unwrap()
                .contains("is not for")
        );
    }

    #[test]
    fn broken_secrets_are_renewed() {
        let good = issue("ns", NOW).unwrap().to_data();
        let mut missing_ca = good.clone();
        missing_ca.remove("ca.crt"); // upstream's #814: pre-populated by something else
        assert!(renewal_reason(&missing_ca, "ns", NOW).unwrap().contains("lacks"));
        let mut garbage = good.clone();
        garbage.insert("tls.crt".into(), b"not a certificate".to_vec());
        assert!(renewal_reason(&garbage, "ns", NOW).is_some());
        let mut mismatched = good.clone();
        mismatched.insert("tls.key".into(), issue("ns", NOW).unwrap().key_pem.into_bytes());
        assert!(
            renewal_reason(&mismatched, "ns", NOW)
                .unwrap()
                .contains("does not serve")
        );
        assert!(renewal_reason(&BTreeMap::new(), "ns", NOW).is_some());
    }
}
