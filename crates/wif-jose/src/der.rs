//! The little DER this crate needs: walking a certificate to its SubjectPublicKeyInfo, and
//! reading an SPKI's algorithm, curve and key. Anything else is aws-lc-rs's job.

/// A malformed or unsupported structure; `what` says where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed DER: {what}")]
pub struct DerError {
    /// What could not be read.
    pub what: &'static str,
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const NULL: u8 = 0x05;

const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

/// An elliptic curve JOSE knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// P-256 (ES256).
    P256,
    /// P-384 (ES384).
    P384,
    /// P-521 (ES512).
    P521,
}

impl Curve {
    /// The JWK `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// From a JWK `crv`.
    pub fn from_name(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            _ => None,
        }
    }

    /// Bytes of one coordinate.
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    fn oid(self) -> &'static [u8] {
        match self {
            Curve::P256 => OID_P256,
            Curve::P384 => OID_P384,
            Curve::P521 => OID_P521,
        }
    }
}

/// The public key inside an SPKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpkiKey {
    /// RSA: modulus and exponent, big-endian, without leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// EC: the curve and the uncompressed point `04 || x || y`.
    Ec {
        /// Curve.
        curve: Curve,
        /// Uncompressed point.
        point: Vec<u8>,
    },
}

struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Reader { input }
    }

    /// Reads one TLV: (tag, contents, whole encoding).
    fn read(&mut self, what: &'static str) -> Result<(u8, &'a [u8], &'a [u8]), DerError> {
        let err = DerError { what };
        let [tag, first, rest @ ..] = self.input else {
            return Err(err);
        };
        let (len, header) = if *first < 0x80 {
            (usize::from(*first), 2)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return Err(err);
            }
            let len = rest[..count].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + count)
        };
        let end = header
            .checked_add(len)
            .filter(|end| *end <= self.input.len())
            .ok_or(err)?;
        let whole = &self.input[..end];
        let contents = &self.input[header..end];
        self.input = &self.input[end..];
        Ok((*tag, contents, whole))
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], DerError> {
        let (found, contents, _) = self.read(what)?;
        if found == tag {
            Ok(contents)
        } else {
            Err(DerError { what })
        }
    }
}

/// The SubjectPublicKeyInfo (whole encoding) of an X.509 certificate.
pub fn certificate_spki(cert: &[u8]) -> Result<&[u8], DerError> {
    let mut outer = Reader::new(cert);
    let certificate = outer.expect(SEQUENCE, "certificate")?;
    let tbs = Reader::new(certificate).expect(SEQUENCE, "tbsCertificate")?;
    let mut fields = Reader::new(tbs);
    let (tag, _, _) = fields.read("version or serial")?;
    if tag == 0xa0 {
        fields.expect(INTEGER, "serial number")?;
    } else if tag != INTEGER {
        return Err(DerError { what: "serial number" });
    }
    for what in ["signature algorithm", "issuer", "validity", "subject"] {
        fields.expect(SEQUENCE, what)?;
    }
    let (tag, _, spki) = fields.read("subjectPublicKeyInfo")?;
    if tag != SEQUENCE {
        return Err(DerError {
            what: "subjectPublicKeyInfo",
        });
    }
    Ok(spki)
}

/// The validity window of an X.509 certificate, Unix seconds (`notBefore`, `notAfter`).
pub fn certificate_validity(cert: &[u8]) -> Result<(i64, i64), DerError> {
    let mut outer = Reader::new(cert);
    let certificate = outer.expect(SEQUENCE, "certificate")?;
    let tbs = Reader::new(certificate).expect(SEQUENCE, "tbsCertificate")?;
    let mut fields = Reader::new(tbs);
    let (tag, _, _) = fields.read("version or serial")?;
    if tag == 0xa0 {
        fields.expect(INTEGER, "serial number")?;
    }
    fields.expect(SEQUENCE, "signature algorithm")?;
    fields.expect(SEQUENCE, "issuer")?;
    let mut validity = Reader::new(fields.expect(SEQUENCE, "validity")?);
    let mut time = |what| -> Result<i64, DerError> {
        let (tag, value, _) = validity.read(what)?;
        parse_time(tag, value).ok_or(DerError { what })
    };
    Ok((time("notBefore")?, time("notAfter")?))
}

/// UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, tag 0x18).
fn parse_time(tag: u8, value: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(value).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if text.len() == 12 => {
            let yy: i64 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let field = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
    let (month, day, hour, minute, second) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant), then seconds.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

fn strip_leading_zeros(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes[start..].to_vec()
}

/// Reads an SPKI: RSA or EC on P-256/384/521; anything else is refused.
pub fn parse_spki(spki: &[u8]) -> Result<SpkiKey, DerError> {
    let info = Reader::new(spki).expect(SEQUENCE, "subjectPublicKeyInfo")?;
    let mut fields = Reader::new(info);
    let algorithm = fields.expect(SEQUENCE, "algorithm identifier")?;
    let key_bits = fields.expect(BIT_STRING, "public key bit string")?;
    let [0, key @ ..] = key_bits else {
        return Err(DerError {
            what: "public key bit string",
        });
    };
    let mut algo = Reader::new(algorithm);
    let oid = algo.expect(OID, "algorithm oid")?;
    if oid == OID_RSA_ENCRYPTION {
        if !algo.input.is_empty() {
            algo.expect(NULL, "rsa parameters")?;
        }
        let rsa = Reader::new(key).expect(SEQUENCE, "RSAPublicKey")?;
        let mut ints = Reader::new(rsa);
        let n = strip_leading_zeros(ints.expect(INTEGER, "RSA modulus")?);
        let e = strip_leading_zeros(ints.expect(INTEGER, "RSA exponent")?);
        return Ok(SpkiKey::Rsa { n, e });
    }
    if oid == OID_EC_PUBLIC_KEY {
        let curve_oid = algo.expect(OID, "named curve")?;
        let curve = [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| c.oid() == curve_oid)
            .ok_or(DerError {
                what: "unknown private key curve, must be 256, 384, or 521",
            })?;
        if key.len() != 1 + 2 * curve.coordinate_len() || key[0] != 0x04 {
            return Err(DerError {
                what: "EC point (only uncompressed points are supported)",
            });
        }
        return Ok(SpkiKey::Ec {
            curve,
            point: key.to_vec(),
        });
    }
    Err(DerError {
        what: "key algorithm (only RSA and EC keys are supported)",
    })
}

fn encode_tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// The SPKI of an RSA key given as PKCS#1 `RSAPublicKey` DER.
pub fn rsa_spki_from_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let algorithm = [encode_tlv(OID, OID_RSA_ENCRYPTION), encode_tlv(NULL, &[])].concat();
    let bits = [&[0u8][..], pkcs1].concat();
    encode_tlv(
        SEQUENCE,
        &[encode_tlv(SEQUENCE, &algorithm), encode_tlv(BIT_STRING, &bits)].concat(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_garbage_input_is_an_error() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 1],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x02, 0x01, 0x00],
        ] {
            assert!(parse_spki(bad).is_err(), "{bad:?}");
            assert!(certificate_spki(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(parse_time(0x17, b"251013145434Z"), Some(1_760_367_274));
        assert_eq!(parse_time(0x18, b"20991231235959Z"), Some(4_102_444_799));
        assert_eq!(
            parse_time(0x17, b"491231235959Z"),
            Some(2_524_607_999),
            "YY < 50 is 20YY"
        );
        for bad in [&b"701301000000Z"[..], b"7001010000Z", b"700101000000", b"xx0101000000Z"] {
            assert_eq!(parse_time(0x17, bad), None);
        }
    }

    #[test]
    fn long_lengths_encode() {
        let long = encode_tlv(OID, &[7; 300]);
        assert_eq!(&long[..4], &[OID, 0x82, 0x01, 0x2c]);
        let mut r = Reader::new(&long);
        assert_eq!(r.expect(OID, "x").unwrap().len(), 300);
    }
}
