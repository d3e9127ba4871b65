//! A trust store the JVM reads as it is: Java's `JKS` format holding trusted certificates only
//! (what `keytool -importcert` writes). The JVM takes no PEM bundle for its default trust
//! (`javax.net.ssl.trustStore` names a key store), so `wif up` writes its CA in this form for
//! `JAVA_TOOL_OPTIONS`. The format is small and fixed: a header, one entry per certificate,
//! and a SHA-1 over the password, a fixed phrase and everything before it (an integrity
//! check, not a secret: a trust store holds only public certificates).

/// Why a trust store could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustStoreError {
    /// An alias or password the format cannot hold (not printable ASCII, or over 255 bytes).
    #[error("a trust store alias or password must be 1-255 printable ASCII characters: {0:?}")]
    BadText(String),
    /// A certificate over the format's 4 GiB length field, or more entries than it counts.
    #[error("a certificate or the number of certificates is too large for a JKS trust store")]
    TooLarge,
}

/// The phrase Java's JKS integrity digest mixes in after the password.
const WHITENER: &[u8] = b"Mighty Aphrodite";

fn checked_text(text: &str) -> Result<&str, TrustStoreError> {
    let fine = !text.is_empty() && text.len() <= 255 && text.bytes().all(|b| b.is_ascii_graphic());
    if fine {
        Ok(text)
    } else {
        Err(TrustStoreError::BadText(text.to_owned()))
    }
}

/// Java's `writeUTF` of ASCII text: a two-byte length, then the bytes.
fn put_utf(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// A JKS trust store of `certificates` (alias, DER), created at `created_ms` (milliseconds
/// since the epoch, as Java keeps it), its integrity keyed by `password`. Aliases are
/// lower-cased, as the JVM looks them up.
///
/// ```
/// let ca = wif_server::pki::LocalCa::new("example CA").expect("a CA");
/// let der = wif_server::pki::pem_certificates(ca.cert_pem()).remove(0);
/// let store = wif_server::trust_store::jks(&[("wif-up-ca", der.as_slice())], "changeit", 0).expect("a store");
/// assert_eq!(&store[..4], &[0xFE, 0xED, 0xFE, 0xED]);
/// ```
pub fn jks(certificates: &[(&str, &[u8])], password: &str, created_ms: u64) -> Result<Vec<u8>, TrustStoreError> {
    let password = checked_text(password)?;
    let count = u32::try_from(certificates.len()).map_err(|_| TrustStoreError::TooLarge)?;
    let mut out = Vec::new();
    out.extend_from_slice(&0xFEED_FEEDu32.to_be_bytes());
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    for (alias, der) in certificates {
        let alias = checked_text(alias)?.to_ascii_lowercase();
        let length = u32::try_from(der.len()).map_err(|_| TrustStoreError::TooLarge)?;
        // Tag 2: a trusted certificate entry.
        out.extend_from_slice(&2u32.to_be_bytes());
        put_utf(&mut out, &alias);
        out.extend_from_slice(&created_ms.to_be_bytes());
        put_utf(&mut out, "X.509");
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(der);
    }
    // The password as Java's chars (UTF-16, big-endian), the phrase, then the store.
    let mut keyed: Vec<u8> = password.bytes().flat_map(|b| [0, b]).collect();
    keyed.extend_from_slice(WHITENER);
    keyed.extend_from_slice(&out);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &keyed);
    out.extend_from_slice(digest.as_ref());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_javas() {
        let cert = [0x30u8, 0x03, 0x02, 0x01, 0x05];
        let store = jks(&[("Wif-CA", &cert)], "changeit", 0x0102_0304_0506_0708).unwrap();
        let mut expected = vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        expected.extend_from_slice(&[0, 6]);
        expected.extend_from_slice(b"wif-ca");
        expected.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        expected.extend_from_slice(&[0, 5]);
        expected.extend_from_slice(b"X.509");
        expected.extend_from_slice(&[0, 0, 0, 5]);
        expected.extend_from_slice(&cert);
        assert_eq!(&store[..expected.len()], expected.as_slice());
        assert_eq!(store.len(), expected.len() + 20);
        // The digest covers the password: another password gives another digest.
        let other = jks(&[("Wif-CA", &cert)], "another", 0x0102_0304_0506_0708).unwrap();
        assert_eq!(store[..expected.len()], other[..expected.len()]);
        assert_ne!(store[expected.len()..], other[expected.len()..]);
    }

    #[test]
    fn the_digest_matches_keytools() {
        // An empty store as keytool writes it, byte for byte.
        let empty = jks(&[], "changeit", 0).unwrap();
        assert_eq!(
            empty.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "feedfeed0000000200000000".to_owned() + EMPTY_STORE_DIGEST
        );
    }

    /// What `keytool -genkeypair` then `-delete` (JDK 17, JKS, password "changeit") left: the
    /// empty store's digest.
    const EMPTY_STORE_DIGEST: &str = "e2686e45fb43dfa4d992dd41ceb6b21c6330d792";

    #[test]
    fn text_the_format_cannot_hold_is_refused() {
        for bad in ["", "has space", "é", &"a".repeat(256)] {
            assert_eq!(
                jks(&[(bad, &[0x30, 0x00])], "changeit", 0),
                Err(TrustStoreError::BadText(bad.to_owned()))
            );
            assert_eq!(jks(&[], bad, 0), Err(TrustStoreError::BadText(bad.to_owned())));
        }
    }
}
