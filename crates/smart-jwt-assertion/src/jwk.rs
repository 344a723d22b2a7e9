use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use smart_core::json::parse_object;
use zeroize::{Zeroize, Zeroizing};

use crate::{Algorithm, Error, b64url, b64url_decode};

/// A public JSON Web Key (RFC 7517 §4, RFC 7518 §6).
///
/// The members this crate uses are typed: `kty`, `kid`, `use`, `alg`, and `n`/`e` (RSA) or
/// `crv`/`x`/`y` (EC). Every other member (`key_ops`, `x5c`, `x5t#S256`, vendor members) is
/// kept as it was and serialised back.
///
/// A `Jwk` is public by construction: the private members `d`, `p`, `q`, `dp`, `dq`, `qi`,
/// `oth` and `k` are zeroized and dropped when one is parsed, so a private JWK read by mistake
/// is never published. Load private keys with
/// [`PrivateKey::from_jwk`](crate::PrivateKey::from_jwk).
///
/// ```
/// use smart_jwt_assertion::Jwk;
///
/// let jwk = Jwk::parse(r#"{"kty": "EC", "crv": "P-384", "kid": "k1", "d": "c2VjcmV0",
///     "x": "...", "y": "...", "x5t#S256": "abc"}"#)?;
/// assert_eq!(jwk.kid(), Some("k1"));
/// let json = serde_json::to_string(&jwk).unwrap();
/// assert!(!json.contains("\"d\""), "private members are dropped");
/// assert!(json.contains("x5t#S256"), "other members are kept");
/// # Ok::<(), smart_jwt_assertion::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    kty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    key_use: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// The public members of a key, base64url-encoded.
pub(crate) enum PublicMembers {
    #[cfg_attr(
        not(feature = "rs384"),
        expect(dead_code, reason = "made by RSA keys only")
    )]
    Rsa { n: String, e: String },
    #[cfg_attr(
        not(feature = "es384"),
        expect(dead_code, reason = "made by P-384 keys only")
    )]
    Ec { x: String, y: String },
}

impl PublicMembers {
    /// RFC 7638 §3: SHA-256 over the required members, in lexicographic order, no whitespace.
    pub(crate) fn thumbprint(&self) -> String {
        let canonical = match self {
            Self::Rsa { n, e } => format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, quote(e), quote(n)),
            Self::Ec { x, y } => format!(
                r#"{{"crv":"P-384","kty":"EC","x":{},"y":{}}}"#,
                quote(x),
                quote(y)
            ),
        };
        b64url(&Sha256::digest(canonical.as_bytes()))
    }
}

/// A JSON string literal.
fn quote(value: &str) -> String {
    Value::from(value).to_string()
}

fn string_member(
    object: &mut Map<String, Value>,
    member: &'static str,
) -> Result<Option<String>, Error> {
    match object.remove(member) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(Error::InvalidJwk {
            member: Some(member),
            problem: "is not a string",
        }),
    }
}

/// A base64url member of a private JWK, decoded into a buffer that is zeroized on drop.
#[cfg_attr(
    not(any(feature = "rs384", feature = "es384")),
    expect(dead_code, reason = "only the key modules read private members")
)]
pub(crate) fn b64url_member(
    object: &Map<String, Value>,
    member: &'static str,
) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    match object.get(member) {
        None => Ok(None),
        Some(Value::String(value)) => b64url_decode(value)
            .map(|bytes| Some(Zeroizing::new(bytes)))
            .ok_or(Error::InvalidJwk {
                member: Some(member),
                problem: "is not base64url (RFC 7515 section 2, no padding)",
            }),
        Some(_) => Err(Error::InvalidJwk {
            member: Some(member),
            problem: "is not a string",
        }),
    }
}

impl Jwk {
    /// Parses one public JWK, strictly: a JSON object without duplicate members, with a string
    /// `kty`, and string values for the members this type knows. Private members are dropped.
    ///
    /// # Errors
    ///
    /// [`Error::JwkJson`] when the text is not a JSON object, [`Error::InvalidJwk`] when a
    /// member is missing or of the wrong type.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let object = parse_object(json.as_bytes()).map_err(Error::JwkJson)?;
        Self::from_object(object)
    }

    /// A JWK from a parsed JSON object. Private members are zeroized and dropped.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJwk`] when `kty` is missing or a known member is not a string.
    pub fn from_object(mut object: Map<String, Value>) -> Result<Self, Error> {
        scrub_private_members(&mut object);
        for member in PRIVATE_MEMBERS {
            object.remove(member);
        }
        let kty = string_member(&mut object, "kty")?.ok_or(Error::InvalidJwk {
            member: Some("kty"),
            problem: "is missing",
        })?;
        Ok(Self {
            kty,
            kid: string_member(&mut object, "kid")?,
            key_use: string_member(&mut object, "use")?,
            alg: string_member(&mut object, "alg")?,
            n: string_member(&mut object, "n")?,
            e: string_member(&mut object, "e")?,
            crv: string_member(&mut object, "crv")?,
            x: string_member(&mut object, "x")?,
            y: string_member(&mut object, "y")?,
            extra: object,
        })
    }

    pub(crate) fn from_public(members: PublicMembers, kid: String, alg: Algorithm) -> Self {
        let (n, e, crv, x, y) = match members {
            PublicMembers::Rsa { n, e } => (Some(n), Some(e), None, None, None),
            PublicMembers::Ec { x, y } => (None, None, Some("P-384".to_owned()), Some(x), Some(y)),
        };
        Self {
            kty: alg.key_type().to_owned(),
            kid: Some(kid),
            key_use: Some("sig".to_owned()),
            alg: Some(alg.as_str().to_owned()),
            n,
            e,
            crv,
            x,
            y,
            extra: Map::new(),
        }
    }

    /// The key type: `RSA`, `EC`, or whatever the document says.
    #[must_use]
    pub fn kty(&self) -> &str {
        &self.kty
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `use` member: `sig` for signing keys.
    #[must_use]
    pub fn key_use(&self) -> Option<&str> {
        self.key_use.as_deref()
    }

    /// The `alg` member: the one algorithm this key is meant for, when given.
    #[must_use]
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// The RSA modulus, base64url.
    #[must_use]
    pub fn n(&self) -> Option<&str> {
        self.n.as_deref()
    }

    /// The RSA public exponent, base64url.
    #[must_use]
    pub fn e(&self) -> Option<&str> {
        self.e.as_deref()
    }

    /// The curve: `P-384`, `P-256`, ...
    #[must_use]
    pub fn crv(&self) -> Option<&str> {
        self.crv.as_deref()
    }

    /// The EC public point's x coordinate, base64url.
    #[must_use]
    pub fn x(&self) -> Option<&str> {
        self.x.as_deref()
    }

    /// The EC public point's y coordinate, base64url.
    #[must_use]
    pub fn y(&self) -> Option<&str> {
        self.y.as_deref()
    }

    /// Every other member, as parsed.
    #[must_use]
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// The same key under another `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The same key, meant for `alg` only. For example, a key published for `id_token`s
    /// signed with RS256 (an RSA key's [public JWK](crate::PrivateKey::public_jwk) names
    /// RS384, its default).
    ///
    /// # Errors
    ///
    /// [`Error::AlgorithmMismatch`] when `alg` does not fit the key type.
    pub fn with_alg(mut self, alg: Algorithm) -> Result<Self, Error> {
        if self.kty != alg.key_type() {
            return Err(Error::AlgorithmMismatch {
                alg,
                key: match self.kty.as_str() {
                    "RSA" => "an RSA key",
                    "EC" => "an EC key",
                    _ => "a key of another type",
                },
            });
        }
        self.alg = Some(alg.as_str().to_owned());
        Ok(self)
    }

    /// The RFC 7638 thumbprint: base64url SHA-256 of `{"e","kty","n"}` (RSA) or
    /// `{"crv","kty","x","y"}` (EC), members in that order, no whitespace.
    ///
    /// ```
    /// use smart_jwt_assertion::Jwk;
    ///
    /// // RFC 7638 section 3.1.
    /// let jwk = Jwk::parse(r#"{"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
    ///   "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#)?;
    /// assert_eq!(jwk.thumbprint()?, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    /// # Ok::<(), smart_jwt_assertion::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJwk`] when a required member is missing, [`Error::UnsupportedKeyType`]
    /// for key types other than `RSA` and `EC`.
    pub fn thumbprint(&self) -> Result<String, Error> {
        let required = |member: &'static str, value: &Option<String>| {
            value.as_deref().map(quote).ok_or(Error::InvalidJwk {
                member: Some(member),
                problem: "is missing",
            })
        };
        let canonical = match self.kty.as_str() {
            "RSA" => format!(
                r#"{{"e":{},"kty":"RSA","n":{}}}"#,
                required("e", &self.e)?,
                required("n", &self.n)?
            ),
            "EC" => format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                required("crv", &self.crv)?,
                required("x", &self.x)?,
                required("y", &self.y)?
            ),
            other => {
                return Err(Error::UnsupportedKeyType {
                    kty: crate::error::shown(other),
                });
            }
        };
        Ok(b64url(&Sha256::digest(canonical.as_bytes())))
    }

    /// Whether this key may verify `alg` signatures from the key `kid`: the key type (and for
    /// ES384 the curve) fits, `use` is absent or `sig`, `alg` is absent or `alg`, `key_ops` is
    /// absent or contains `verify`, and when `kid` is given the key has that `kid`.
    #[must_use]
    pub fn fits(&self, alg: Algorithm, kid: Option<&str>) -> bool {
        let key_ops_allow = match self.extra.get("key_ops") {
            None => true,
            Some(Value::Array(ops)) => ops.iter().any(|op| op == "verify"),
            Some(_) => false,
        };
        self.kty == alg.key_type()
            && (alg != Algorithm::Es384 || self.crv() == Some("P-384"))
            && self.key_use().is_none_or(|key_use| key_use == "sig")
            && self.alg().is_none_or(|name| name == alg.as_str())
            && key_ops_allow
            && kid.is_none_or(|kid| self.kid() == Some(kid))
    }
}

impl<'de> Deserialize<'de> for Jwk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let object = Map::deserialize(deserializer)?;
        Self::from_object(object).map_err(D::Error::custom)
    }
}

/// A JWK Set (RFC 7517 §5): `{"keys": [...]}`.
///
/// Parsing is tolerant, as RFC 7517 §5 asks: entries that are not RSA or EC keys (`OKP`,
/// `oct`, unknown types) or that are malformed are skipped, so one odd key in a server's set
/// does not break verification with the others. Private members are dropped as in [`Jwk`].
///
/// ```
/// use smart_jwt_assertion::JwkSet;
///
/// let set = JwkSet::parse(r#"{"keys": [
///     {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty": "RSA", "kid": "k1", "n": "0vx7", "e": "AQAB"}
/// ]}"#)?;
/// assert_eq!(set.keys.len(), 1);
/// assert_eq!(set.keys[0].kid(), Some("k1"));
/// # Ok::<(), smart_jwt_assertion::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys.
    #[serde(deserialize_with = "tolerant_keys")]
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// Parses a JWK Set document (strict JSON: duplicate members are refused), skipping
    /// entries that are not usable RSA or EC keys.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJwkSet`] when the document is not a JSON object with a `keys` array.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let mut object = parse_object(json.as_bytes()).map_err(|error| Error::InvalidJwkSet {
            problem: "is not a usable JSON object",
            source: Some(error),
        })?;
        match object.remove("keys") {
            Some(Value::Array(entries)) => Ok(Self {
                keys: usable_keys(entries),
            }),
            Some(_) => Err(Error::InvalidJwkSet {
                problem: "member `keys` is not an array",
                source: None,
            }),
            None => Err(Error::InvalidJwkSet {
                problem: "has no `keys` member",
                source: None,
            }),
        }
    }

    /// The keys with this `kid`.
    pub fn find<'a>(&'a self, kid: &'a str) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys.iter().filter(move |key| key.kid() == Some(kid))
    }

    /// The set as compact JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The set as indented JSON, for files and registration forms.
    #[must_use]
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl From<Jwk> for JwkSet {
    fn from(key: Jwk) -> Self {
        Self { keys: vec![key] }
    }
}

impl FromIterator<Jwk> for JwkSet {
    fn from_iter<I: IntoIterator<Item = Jwk>>(keys: I) -> Self {
        Self {
            keys: keys.into_iter().collect(),
        }
    }
}

fn tolerant_keys<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Jwk>, D::Error> {
    Vec::<Value>::deserialize(deserializer).map(usable_keys)
}

fn usable_keys(entries: Vec<Value>) -> Vec<Jwk> {
    let total = entries.len();
    let keys: Vec<Jwk> = entries
        .into_iter()
        .filter_map(|entry| match entry {
            Value::Object(mut object) => {
                let usable = matches!(object.get("kty"), Some(Value::String(kty)) if kty == "RSA" || kty == "EC");
                if usable {
                    Jwk::from_object(object).ok()
                } else {
                    scrub_private_members(&mut object);
                    None
                }
            }
            _ => None,
        })
        .collect();
    if keys.len() < total {
        log::debug!(
            "JWK Set: skipped {} of {total} entries that are not usable RSA or EC keys",
            total - keys.len()
        );
    }
    keys
}

/// The private members of a JWK (RFC 7518 §6.2.2 and §6.3.2, and `k` of §6.4).
pub(crate) const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Zeroizes the private members of a JWK object, wherever they nest.
pub(crate) fn scrub_private_members(object: &mut Map<String, Value>) {
    for (name, value) in object.iter_mut() {
        if PRIVATE_MEMBERS.contains(&name.as_str()) {
            scrub(value);
        }
    }
}

fn scrub(value: &mut Value) {
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(members) => members.values_mut().for_each(scrub),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
