//! Just enough DER to tell what kind of key a PKCS#8 or SEC1 document holds, so that the error
//! for a P-256 or Ed25519 key names it, whichever features are enabled. The key itself is
//! decoded by the `rsa` and `p384` crates.

use core::fmt::Write as _;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const NULL: u8 = 0x05;
const CONTEXT_0: u8 = 0xa0;

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const SECP384R1: &str = "1.3.132.0.34";

/// What a key document holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// An RSA key (`rsaEncryption`).
    Rsa,
    /// An elliptic-curve key on P-384.
    P384,
    /// An elliptic-curve key on another curve (its name, or its OID).
    OtherCurve(String),
    /// Another key type (its name, or its OID).
    Other(String),
}

/// A DER reader over a byte slice. Every method returns `None` on malformed input.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Reads one element: its tag and its contents.
    fn any(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.rest.split_first()?;
        if tag & 0x1f == 0x1f {
            return None; // high tag numbers never occur in these structures
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return None; // indefinite or absurd lengths
            }
            let (bytes, after) = rest.split_at_checked(count)?;
            rest = after;
            bytes
                .iter()
                .fold(0usize, |len, &byte| (len << 8) | usize::from(byte))
        };
        let (contents, after) = rest.split_at_checked(len)?;
        self.rest = after;
        Some((tag, contents))
    }

    /// Reads one element that must have `tag`.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (found, contents) = self.any()?;
        (found == tag).then_some(contents)
    }

    /// Reads the next element if it has `tag`.
    fn optional(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.rest.first() == Some(&tag) {
            self.expect(tag)
        } else {
            None
        }
    }
}

/// Classifies a PKCS#8 `PrivateKeyInfo` (RFC 5208 §5, RFC 5958 §2).
pub(crate) fn classify_pkcs8(der: &[u8]) -> Option<KeyKind> {
    let mut outer = Reader::new(der);
    let mut info = Reader::new(outer.expect(SEQUENCE)?);
    info.expect(INTEGER)?;
    let mut algorithm = Reader::new(info.expect(SEQUENCE)?);
    let oid = oid_string(algorithm.expect(OID)?)?;
    info.expect(OCTET_STRING)?;
    Some(match oid.as_str() {
        RSA_ENCRYPTION => KeyKind::Rsa,
        EC_PUBLIC_KEY => match algorithm.any() {
            Some((OID, curve)) => curve_kind(curve)?,
            Some((SEQUENCE, _)) => KeyKind::OtherCurve("with explicit parameters".into()),
            Some((NULL, _)) | None => KeyKind::OtherCurve("(not named)".into()),
            Some(_) => return None,
        },
        other => KeyKind::Other(key_type_name(other)),
    })
}

/// Classifies a SEC1 `ECPrivateKey` (RFC 5915 §3).
pub(crate) fn classify_sec1(der: &[u8]) -> Option<KeyKind> {
    let mut outer = Reader::new(der);
    let mut key = Reader::new(outer.expect(SEQUENCE)?);
    key.expect(INTEGER)?;
    let private = key.expect(OCTET_STRING)?;
    match key.optional(CONTEXT_0) {
        Some(parameters) => match Reader::new(parameters).any()? {
            (OID, curve) => curve_kind(curve),
            (SEQUENCE, _) => Some(KeyKind::OtherCurve("with explicit parameters".into())),
            _ => None,
        },
        // No parameters: the curve is known only from context. Guess from the key's size.
        None if private.len() == 48 => Some(KeyKind::P384),
        None => Some(KeyKind::OtherCurve("(not named)".into())),
    }
}

fn curve_kind(oid: &[u8]) -> Option<KeyKind> {
    let oid = oid_string(oid)?;
    Some(match oid.as_str() {
        SECP384R1 => KeyKind::P384,
        "1.2.840.10045.3.1.7" => KeyKind::OtherCurve("P-256".into()),
        "1.3.132.0.35" => KeyKind::OtherCurve("P-521".into()),
        "1.3.132.0.10" => KeyKind::OtherCurve("secp256k1".into()),
        "1.2.840.10045.3.1.1" => KeyKind::OtherCurve("P-192".into()),
        "1.3.132.0.33" => KeyKind::OtherCurve("P-224".into()),
        "1.3.36.3.3.2.8.1.1.7" => KeyKind::OtherCurve("brainpoolP256r1".into()),
        "1.3.36.3.3.2.8.1.1.11" => KeyKind::OtherCurve("brainpoolP384r1".into()),
        "1.3.36.3.3.2.8.1.1.13" => KeyKind::OtherCurve("brainpoolP512r1".into()),
        _ => KeyKind::OtherCurve(oid),
    })
}

fn key_type_name(oid: &str) -> String {
    match oid {
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.3.101.110" => "X25519".into(),
        "1.3.101.111" => "X448".into(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        "1.2.840.10046.2.1" => "DH".into(),
        other => format!("with OID {other}"),
    }
}

/// The dotted form of an OBJECT IDENTIFIER's contents.
fn oid_string(contents: &[u8]) -> Option<String> {
    let (&first, rest) = contents.split_first()?;
    let mut out = String::new();
    // The first byte packs two arcs; every OID here has a first arc of 0, 1 or 2 and a small
    // second arc, so a one-byte first subidentifier is all we need.
    if first >= 0x80 {
        return None;
    }
    let (a, b) = match first {
        0..40 => (0, first),
        40..80 => (1, first - 40),
        _ => (2, first - 80),
    };
    let _ = write!(out, "{a}.{b}");
    let mut value: u64 = 0;
    let mut pending = false;
    for &byte in rest {
        if value > (u64::MAX >> 7) {
            return None;
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        pending = true;
        if byte & 0x80 == 0 {
            let _ = write!(out, ".{value}");
            value = 0;
            pending = false;
        }
    }
    (!pending).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids() {
        assert_eq!(
            oid_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]).as_deref(),
            Some(RSA_ENCRYPTION)
        );
        assert_eq!(
            oid_string(&[0x2b, 0x81, 0x04, 0x00, 0x22]).as_deref(),
            Some(SECP384R1)
        );
        assert_eq!(oid_string(&[0x2b, 0x81]), None, "truncated subidentifier");
        assert_eq!(oid_string(&[]), None);
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        for bytes in [
            &[][..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x03, 0x02, 0x01],
            &[0x1f, 0x00],
            &[0x30, 0x05, 0x02, 0x01, 0x00, 0x30, 0x00],
        ] {
            assert_eq!(classify_pkcs8(bytes), None, "{bytes:?}");
            assert_eq!(classify_sec1(bytes), None, "{bytes:?}");
        }
    }
}
