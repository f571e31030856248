//! Just enough DER and PEM to read public keys (SPKI, PKCS#1, X.509 certificates) and PKCS#8
//! private key headers, and to write a PKCS#1 `RSAPublicKey`. Every read is bounds-checked.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::ConfigError;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;

const OID_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x23];
const OID_ED25519: &[u8] = &[0x2B, 0x65, 0x70];

/// The elliptic curves this crate verifies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// Bytes of one coordinate (and of one half of a fixed-size signature).
    pub(crate) const fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }

    pub(crate) const fn jwk_name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }

    pub(crate) fn from_jwk_name(name: &str) -> Option<Self> {
        match name {
            "P-256" => Some(Self::P256),
            "P-384" => Some(Self::P384),
            "P-521" => Some(Self::P521),
            _ => None,
        }
    }
}

/// A public key's type and raw components.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicParts {
    /// Big-endian modulus and exponent, without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// The uncompressed point `04 || x || y`.
    Ec { curve: Curve, point: Vec<u8> },
    /// The 32-byte public key.
    Ed25519 { x: Vec<u8> },
}

/// The kind of a PKCS#8 private key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PrivateKind {
    Rsa,
    Ec(Curve),
    Ed25519,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Reads one TLV with a definite length; returns its tag and contents.
    fn read(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return None;
            }
            let (bytes, after) = rest.split_at_checked(count)?;
            rest = after;
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        };
        let (content, after) = rest.split_at_checked(len)?;
        self.0 = after;
        Some((tag, content))
    }

    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.read()? {
            (t, content) if t == tag => Some(content),
            _ => None,
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn invalid(why: &'static str) -> ConfigError {
    ConfigError::InvalidKey(why)
}

/// Strips the leading zero bytes of a DER INTEGER (it must be positive).
fn positive(int: &[u8]) -> Option<Vec<u8>> {
    if int.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let start = int.iter().position(|b| *b != 0).unwrap_or(int.len());
    let value = int.get(start..)?;
    (!value.is_empty()).then(|| value.to_vec())
}

/// Parses a PKCS#1 `RSAPublicKey`.
pub(crate) fn parse_rsa_public(der: &[u8]) -> Result<PublicParts, ConfigError> {
    let mut outer = Reader(der);
    let mut seq = Reader(outer.expect(SEQUENCE).ok_or(invalid("not an RSA public key"))?);
    let n = seq
        .expect(INTEGER)
        .and_then(positive)
        .ok_or(invalid("bad RSA modulus"))?;
    let e = seq
        .expect(INTEGER)
        .and_then(positive)
        .ok_or(invalid("bad RSA exponent"))?;
    if !seq.is_empty() || !outer.is_empty() {
        return Err(invalid("trailing data in RSA public key"));
    }
    Ok(PublicParts::Rsa { n, e })
}

/// Parses an X.509 `SubjectPublicKeyInfo`.
pub(crate) fn parse_spki(der: &[u8]) -> Result<PublicParts, ConfigError> {
    let mut outer = Reader(der);
    let mut spki = Reader(
        outer
            .expect(SEQUENCE)
            .ok_or(invalid("not a SubjectPublicKeyInfo"))?,
    );
    let mut alg = Reader(spki.expect(SEQUENCE).ok_or(invalid("bad algorithm identifier"))?);
    let oid = alg.expect(OID).ok_or(invalid("bad algorithm identifier"))?;
    let bits = spki.expect(BIT_STRING).ok_or(invalid("bad public key bits"))?;
    let Some((0, key)) = bits.split_first() else {
        return Err(invalid("bad public key bits"));
    };
    if !outer.is_empty() {
        return Err(invalid("trailing data after SubjectPublicKeyInfo"));
    }
    match oid {
        OID_RSA => parse_rsa_public(key),
        OID_EC => {
            let curve = match alg.expect(OID) {
                Some(OID_P256) => Curve::P256,
                Some(OID_P384) => Curve::P384,
                Some(OID_P521) => Curve::P521,
                _ => return Err(invalid("unsupported elliptic curve")),
            };
            ec_point(curve, key.to_vec())
        }
        OID_ED25519 => ed25519(key.to_vec()),
        _ => Err(invalid("unsupported public key algorithm")),
    }
}

/// Checks an uncompressed point's shape (the curve check happens when the key is parsed).
pub(crate) fn ec_point(curve: Curve, point: Vec<u8>) -> Result<PublicParts, ConfigError> {
    if point.len() != 1 + 2 * curve.coordinate_len() || point.first() != Some(&4) {
        return Err(invalid(
            "EC public key must be an uncompressed point of the curve's size",
        ));
    }
    Ok(PublicParts::Ec { curve, point })
}

pub(crate) fn ed25519(x: Vec<u8>) -> Result<PublicParts, ConfigError> {
    if x.len() != 32 {
        return Err(invalid("Ed25519 public key must be 32 bytes"));
    }
    Ok(PublicParts::Ed25519 { x })
}

/// Extracts the `SubjectPublicKeyInfo` of an X.509 certificate.
pub(crate) fn parse_certificate(der: &[u8]) -> Result<PublicParts, ConfigError> {
    let bad = || invalid("not an X.509 certificate");
    let mut cert = Reader(Reader(der).expect(SEQUENCE).ok_or_else(bad)?);
    let tbs = cert.expect(SEQUENCE).ok_or_else(bad)?;
    let mut tbs = Reader(tbs);
    // [0] version (optional), serialNumber, signature, issuer, validity, subject, spki.
    let (mut tag, _) = tbs.read().ok_or_else(bad)?;
    if tag == 0xA0 {
        tag = tbs.read().ok_or_else(bad)?.0;
    }
    if tag != INTEGER {
        return Err(bad());
    }
    for _ in 0..4 {
        tbs.expect(SEQUENCE).ok_or_else(bad)?;
    }
    let before = tbs.0;
    tbs.expect(SEQUENCE).ok_or_else(bad)?;
    let consumed = before.len() - tbs.0.len();
    let whole = before.get(..consumed).ok_or_else(bad)?;
    parse_spki(whole)
}

/// Reads the key kind of a PKCS#8 `PrivateKeyInfo` (the key itself is parsed by the backend).
pub(crate) fn pkcs8_kind(der: &[u8]) -> Result<PrivateKind, ConfigError> {
    let bad = || invalid("not a PKCS#8 private key");
    let mut info = Reader(Reader(der).expect(SEQUENCE).ok_or_else(bad)?);
    info.expect(INTEGER).ok_or_else(bad)?;
    let mut alg = Reader(info.expect(SEQUENCE).ok_or_else(bad)?);
    info.expect(OCTET_STRING).ok_or_else(bad)?;
    match alg.expect(OID).ok_or_else(bad)? {
        OID_RSA => Ok(PrivateKind::Rsa),
        OID_ED25519 => Ok(PrivateKind::Ed25519),
        OID_EC => match alg.expect(OID) {
            Some(OID_P256) => Ok(PrivateKind::Ec(Curve::P256)),
            Some(OID_P384) => Ok(PrivateKind::Ec(Curve::P384)),
            Some(OID_P521) => Ok(PrivateKind::Ec(Curve::P521)),
            _ => Err(invalid("unsupported elliptic curve")),
        },
        _ => Err(invalid("unsupported private key algorithm")),
    }
}

/// Encodes a PKCS#1 `RSAPublicKey`.
pub(crate) fn encode_rsa_public(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, value: &[u8]) {
        let pad = value.first().is_some_and(|b| b & 0x80 != 0);
        out.push(INTEGER);
        length(out, value.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(value);
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    integer(&mut body, n);
    integer(&mut body, e);
    let mut out = Vec::with_capacity(body.len() + 6);
    out.push(SEQUENCE);
    length(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

fn length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// A decoded PEM block.
#[derive(Debug)]
pub(crate) struct Pem {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// Decodes the first PEM block of `text` (RFC 7468).
pub(crate) fn parse_pem(text: &str) -> Result<Pem, ConfigError> {
    let bad = || invalid("not a PEM document");
    let start = text.find("-----BEGIN ").ok_or_else(bad)?;
    let rest = text.get(start + 11..).ok_or_else(bad)?;
    let (label, rest) = rest.split_once("-----").ok_or_else(bad)?;
    let end_marker = format!("-----END {label}-----");
    let (body, _) = rest.split_once(end_marker.as_str()).ok_or_else(bad)?;
    let base64: String = body.split_ascii_whitespace().collect();
    let der = STANDARD.decode(base64).map_err(|_| bad())?;
    Ok(Pem {
        label: label.to_owned(),
        der,
    })
}

/// Reads a public key from PEM (`PUBLIC KEY`, `RSA PUBLIC KEY`, `CERTIFICATE`) or DER (SPKI,
/// PKCS#1, certificate: tried in that order).
pub(crate) fn parse_public(bytes: &[u8]) -> Result<PublicParts, ConfigError> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if text.contains("-----BEGIN ") {
            let pem = parse_pem(text)?;
            return match pem.label.as_str() {
                "PUBLIC KEY" => parse_spki(&pem.der),
                "RSA PUBLIC KEY" => parse_rsa_public(&pem.der),
                "CERTIFICATE" => parse_certificate(&pem.der),
                _ => Err(invalid(
                    "expected a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE PEM block",
                )),
            };
        }
    }
    parse_spki(bytes)
        .or_else(|_| parse_rsa_public(bytes))
        .or_else(|_| parse_certificate(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_public_keys_round_trip_through_pkcs1() {
        let n = [0xC1u8; 256];
        let der = encode_rsa_public(&n, &[1, 0, 1]);
        assert_eq!(
            parse_rsa_public(&der).unwrap(),
            PublicParts::Rsa {
                n: n.to_vec(),
                e: vec![1, 0, 1]
            }
        );
    }

    #[test]
    fn truncated_or_hostile_der_is_an_error_not_a_panic() {
        let der = encode_rsa_public(&[0xC1u8; 256], &[1, 0, 1]);
        for cut in 0..der.len() {
            assert!(parse_rsa_public(&der[..cut]).is_err());
            assert!(parse_spki(&der[..cut]).is_err());
            assert!(parse_certificate(&der[..cut]).is_err());
            assert!(pkcs8_kind(&der[..cut]).is_err());
        }
        for bytes in [
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff][..],
            &[0x30, 0x89][..],
            &[0x30][..],
            &[][..],
        ] {
            assert!(parse_public(bytes).is_err());
        }
    }
}
