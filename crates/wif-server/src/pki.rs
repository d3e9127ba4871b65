//! A self-signed PKI for local use and tests: a CA and serving certificates for loopback
//! names, made with rcgen on aws-lc-rs; and the one X.509 check TLS needs beyond webpki's, a
//! certificate's validity window (webpki takes a trust anchor's dates on trust).

use der::Decode;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use rustls::sign::CertifiedKey;

use crate::tls::{TlsError, certified_key_from_pem};

/// A CA that can sign serving certificates.
pub struct LocalCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa").finish_non_exhaustive()
    }
}

/// A serving certificate and its key, PEM.
#[derive(Debug, Clone)]
pub struct ServingCert {
    /// Certificate (PEM).
    pub cert_pem: String,
    /// Private key (PKCS#8 PEM).
    pub key_pem: String,
}

impl LocalCa {
    /// A new CA named `common_name`.
    pub fn new(common_name: &str) -> Result<Self, rcgen::Error> {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(LocalCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate (PEM), for clients' trust stores.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A serving certificate for DNS names and IP addresses (given as text).
    pub fn issue(&self, names: &[&str]) -> Result<ServingCert, rcgen::Error> {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("localhost"));
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.to_string().try_into().map(SanType::DnsName),
            })
            .collect::<Result<_, _>>()?;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(ServingCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Loopback names every local server's certificate carries.
pub const LOOPBACK_NAMES: [&str; 3] = ["127.0.0.1", "::1", "localhost"];

/// Why a local CA and its serving key could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalTlsError {
    /// The CA or the certificate.
    #[error("cannot make a certificate")]
    Certificate(#[from] rcgen::Error),
    /// The key pair rustls would serve.
    #[error(transparent)]
    Key(#[from] TlsError),
}

/// A fresh CA and a serving key for the loopback names and `extra_names`.
#[derive(Debug)]
pub struct LocalTls {
    /// The CA's certificate (PEM): what clients trust.
    pub ca_pem: String,
    /// The serving certificate and key.
    pub key: CertifiedKey,
}

impl LocalTls {
    /// A CA named `ca_name` and a certificate it signed for the loopback names and `extra_names`.
    pub fn new(ca_name: &str, extra_names: &[String]) -> Result<Self, LocalTlsError> {
        let ca = LocalCa::new(ca_name)?;
        let mut names: Vec<&str> = LOOPBACK_NAMES.to_vec();
        names.extend(
            extra_names
                .iter()
                .map(String::as_str)
                .filter(|n| !LOOPBACK_NAMES.contains(n)),
        );
        let serving = ca.issue(&names)?;
        let generated = std::path::Path::new("(generated)");
        let key = certified_key_from_pem(
            serving.cert_pem.as_bytes(),
            serving.key_pem.as_bytes(),
            generated,
            generated,
        )?;
        Ok(LocalTls {
            ca_pem: ca.cert_pem().to_owned(),
            key,
        })
    }
}

/// A certificate whose DER does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DER: certificate")]
pub struct CertificateError(#[source] der::Error);

/// The validity window of an X.509 certificate (DER), in Unix seconds: `(notBefore, notAfter)`.
///
/// ```
/// let ca = wif_server::pki::LocalCa::new("example CA").expect("a CA");
/// let der = wif_server::pki::pem_certificates(ca.cert_pem()).remove(0);
/// let (not_before, not_after) = wif_server::pki::certificate_validity(&der).expect("a certificate");
/// assert!(not_before < not_after);
/// ```
pub fn certificate_validity(cert: &[u8]) -> Result<(i64, i64), CertificateError> {
    let cert = x509_cert::Certificate::from_der(cert).map_err(CertificateError)?;
    let validity = cert.tbs_certificate().validity();
    let seconds = |time: x509_cert::time::Time| i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    Ok((seconds(validity.not_before), seconds(validity.not_after)))
}

/// The certificates (DER) of a PEM text; blocks that are not certificates are skipped.
pub fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .map(|der| der.to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_ca_is_valid_now_and_garbage_is_refused() {
        let ca = LocalCa::new("test CA").unwrap();
        let der = pem_certificates(ca.cert_pem()).remove(0);
        let (not_before, not_after) = certificate_validity(&der).unwrap();
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        assert!(not_before <= now && now < not_after, "{not_before} {now} {not_after}");
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 1],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(certificate_validity(bad).is_err(), "{bad:?}");
        }
    }
}
