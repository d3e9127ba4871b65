//! The webhook's own serving certificate, as upstream's rotator keeps it: a self-signed CA
//! (`azure-workload-identity-ca`) and a serving certificate for the Service's DNS names, stored
//! in the Secret `azure-wi-webhook-server-cert` as `ca.crt`, `ca.key`, `tls.crt`, `tls.key`,
//! valid ten years and renewed when less than 90 days remain. This module decides and issues;
//! [`crate::rotation`] talks to the API server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
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

/// Why the Secret's certificates must be (re)issued, or `None` when they are good: `tls.crt`
/// chains to `ca.crt` and names each of the Service's DNS names exactly, both are valid now
/// and still [`RENEW_BEFORE_SECONDS`] from now, and `tls.key` is `tls.crt`'s key. The chain,
/// dates and names are checked by rustls's own verifier (webpki, the aws-lc-rs provider), as
/// kube-apiserver's TLS client will check them: whatever it would refuse is renewed here,
/// never published as the caBundle.
pub fn renewal_reason(data: &BTreeMap<String, Vec<u8>>, namespace: &str, now: i64) -> Option<String> {
    let Some(bundle) = CertBundle::from_data(data) else {
        return Some("the Secret lacks ca.crt, ca.key, tls.crt or tls.key".into());
    };
    let Ok(ca) = CertificateDer::from_pem_slice(bundle.ca_cert_pem.as_bytes()) else {
        return Some("ca.crt is not a PEM certificate".into());
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(bundle.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Some("tls.crt is not a PEM certificate".into());
    };
    // webpki takes a trust anchor's dates on trust; kube-apiserver's Go client does not.
    match wif_server::pki::certificate_validity(&ca) {
        Err(e) => return Some(format!("ca.crt: {}", wif_core::error_text::error_chain(&e))),
        Ok((not_before, _)) if not_before > now => return Some(format!("ca.crt is not valid before {not_before}")),
        Ok((_, not_after)) if not_after.saturating_sub(now) < RENEW_BEFORE_SECONDS => {
            return Some(format!("ca.crt expires at {not_after}"));
        }
        Ok(_) => {}
    }
    let mut roots = RootCertStore::empty();
    if let Err(e) = roots.add(ca) {
        return Some(format!("ca.crt is not a usable CA certificate: {e}"));
    }
    let verifier = match WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        wif_server::tls::crypto_provider(),
    )
    .build()
    {
        Ok(verifier) => verifier,
        Err(e) => return Some(format!("ca.crt cannot verify certificates: {e}")),
    };
    let at = |unix: i64| UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(unix).unwrap_or(0)));
    for name in dns_names(namespace) {
        let Ok(server_name) = ServerName::try_from(name.clone()) else {
            return Some(format!("{name} is not a DNS name"));
        };
        if let Err(e) = verifier.verify_server_cert(leaf, intermediates, &server_name, &[], at(now)) {
            return Some(format!("tls.crt is not good for {name} under ca.crt: {e}"));
        }
        if let Err(e) = verifier.verify_server_cert(
            leaf,
            intermediates,
            &server_name,
            &[],
            at(now.saturating_add(RENEW_BEFORE_SECONDS)),
        ) {
            return Some(format!(
                "tls.crt or ca.crt expires within {} days: {e}",
                RENEW_BEFORE_SECONDS / 86_400
            ));
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
        assert_eq!(
            renewal_reason(&data, "azure-workload-identity-system", late),
            Some(format!("ca.crt expires at {}", NOW + VALIDITY_SECONDS))
        );
        assert!(
            renewal_reason(&data, "other-namespace", NOW)
                .unwrap()
                .starts_with("tls.crt is not good for azure-wi-webhook-webhook-service.other-namespace.svc")
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
        assert_eq!(
            renewal_reason(&garbage, "ns", NOW).as_deref(),
            Some("tls.crt is not a PEM certificate")
        );
        let mut mismatched = good.clone();
        mismatched.insert("tls.key".into(), issue("ns", NOW).unwrap().key_pem.into_bytes());
        assert!(
            renewal_reason(&mismatched, "ns", NOW)
                .unwrap()
                .contains("does not serve")
        );
        assert_eq!(
            renewal_reason(&BTreeMap::new(), "ns", NOW).as_deref(),
            Some("the Secret lacks ca.crt, ca.key, tls.crt or tls.key")
        );
    }

    /// A bundle whose serving certificate names only `names` (signed by its own CA), or is
    /// self-signed when `self_signed`.
    fn bundle_for(names: &[&str], self_signed: bool) -> CertBundle {
        let mut ca = CertificateParams::default();
        ca.distinguished_name.push(DnType::CommonName, "test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        validity(&mut ca, NOW).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let mut params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
        validity(&mut params, NOW).unwrap();
        let key = KeyPair::generate().unwrap();
        let ca_key_pem = ca_key.serialize_pem();
        let cert = if self_signed {
            params.self_signed(&key).unwrap()
        } else {
            params.signed_by(&key, &rcgen::Issuer::new(ca, ca_key)).unwrap()
        };
        CertBundle {
            ca_cert_pem: ca_cert.pem(),
            ca_key_pem,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    #[test]
    fn the_serving_certificate_must_name_each_service_name_exactly() {
        let names = dns_names("ns");
        let both = bundle_for(&[names[0].as_str(), names[1].as_str()], false);
        assert_eq!(
            renewal_reason(&both.to_data(), "ns", NOW),
            None,
            "the helper makes good bundles"
        );
        // Only the long name: a substring search of the DER finds the short one inside it.
        let long_only = bundle_for(&[names[1].as_str()], false);
        let reason = renewal_reason(&long_only.to_data(), "ns", NOW).unwrap();
        assert!(
            reason.starts_with(&format!("tls.crt is not good for {} under ca.crt", names[0])),
            "{reason}"
        );
    }

    #[test]
    fn a_serving_certificate_from_another_ca_is_renewed() {
        let good = issue("ns", NOW).unwrap();
        let other = issue("ns", NOW).unwrap();
        let mut data = good.to_data();
        data.insert("tls.crt".into(), other.cert_pem.into_bytes());
        data.insert("tls.key".into(), other.key_pem.into_bytes());
        let reason = renewal_reason(&data, "ns", NOW).unwrap();
        assert!(reason.contains("under ca.crt"), "{reason}");
        let names = dns_names("ns");
        let self_signed = bundle_for(&[names[0].as_str(), names[1].as_str()], true);
        assert!(
            renewal_reason(&self_signed.to_data(), "ns", NOW)
                .unwrap()
                .contains("under ca.crt")
        );
    }

    #[test]
    fn non_ascii_bytes_in_a_certificate_date_are_a_reason_not_a_panic() {
        let good = issue("ns", NOW).unwrap();
        let der = CertificateDer::from_pem_slice(good.cert_pem.as_bytes())
            .unwrap()
            .to_vec();
        // The first UTCTime (tag 0x17, 13 bytes): two of its digits become "é".
        let at = der.windows(2).position(|w| w == [0x17, 13]).unwrap() + 2;
        let mut broken = der.clone();
        broken[at] = 0xc3;
        broken[at + 1] = 0xa9;
        let pem = wif_jose::pem::encode_pem("CERTIFICATE", &broken);
        let mut data = good.to_data();
        data.insert("tls.crt".into(), pem.into_bytes());
        let reason = renewal_reason(&data, "ns", NOW).unwrap();
        assert!(reason.starts_with("tls.crt is not good for"), "{reason}");
        // And in ca.crt, the trust anchor itself.
        let ca_der = CertificateDer::from_pem_slice(good.ca_cert_pem.as_bytes())
            .unwrap()
            .to_vec();
        let at = ca_der.windows(2).position(|w| w == [0x17, 13]).unwrap() + 2;
        let mut broken_ca = ca_der.clone();
        broken_ca[at] = 0xff;
        let mut data = good.to_data();
        data.insert(
            "ca.crt".into(),
            wif_jose::pem::encode_pem("CERTIFICATE", &broken_ca).into_bytes(),
        );
        let reason = renewal_reason(&data, "ns", NOW).unwrap();
        assert!(reason.starts_with("ca.crt: malformed DER: certificate"), "{reason}");
    }
}
