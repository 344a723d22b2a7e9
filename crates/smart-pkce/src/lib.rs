#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
#[cfg(feature = "serde")]
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use smart_core::{OsRandom, RandomError, RandomSource, Secret, ct_eq};
use zeroize::Zeroizing;

/// Shortest code verifier RFC 7636 §4.1 allows.
pub const MIN_VERIFIER_LEN: usize = 43;
/// Longest code verifier RFC 7636 §4.1 allows, and the length [`PkceVerifier::generate`] makes.
pub const MAX_VERIFIER_LEN: usize = 128;
/// Length of a generated [`State`]: 16 random bytes as lowercase hex.
pub const STATE_LEN: usize = 32;
/// Longest state [`State::parse`] accepts.
pub const MAX_STATE_LEN: usize = 512;
/// The `code_challenge_method` of every challenge this crate makes: `S256` (SHA-256; `plain`
/// is never used).
pub const CHALLENGE_METHOD: &str = "S256";

/// What can go wrong making or checking a verifier or state. Messages never contain the value.
// `Display` and `Error` are written by hand (below), not derived with thiserror, so that this
// crate builds no proc macro.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// A code verifier (given or requested) is outside RFC 7636's 43..=128 characters.
    VerifierLength {
        /// The length, in bytes, that was given or asked for.
        len: usize,
    },
    /// A code verifier contains a character outside `[A-Za-z0-9-._~]`.
    VerifierCharacter {
        /// Byte offset of the first offending character.
        position: usize,
    },
    /// A code challenge is not 43 base64url characters (the S256 form).
    ChallengeFormat {
        /// Length of the value, in bytes.
        len: usize,
    },
    /// A state is too short to be unguessable or too long to be reasonable.
    StateLength {
        /// Length of the value, in bytes.
        len: usize,
    },
    /// A state contains a character outside `[A-Za-z0-9-._~]`.
    StateCharacter {
        /// Byte offset of the first offending character.
        position: usize,
    },
    /// The random number generator failed.
    Random(RandomError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VerifierLength { len } => write!(
                f,
                "code verifier must be 43 to 128 characters long (RFC 7636 section 4.1), got {len}"
            ),
            Self::VerifierCharacter { position } => write!(
                f,
                "code verifier contains a character outside the unreserved set [A-Za-z0-9-._~] at byte {position} (RFC 7636 section 4.1)"
            ),
            Self::ChallengeFormat { len } => write!(
                f,
                "code challenge must be 43 base64url characters (S256), got {len} bytes"
            ),
            Self::StateLength { len } => write!(
                f,
                "state must be {STATE_LEN} to {MAX_STATE_LEN} characters long, got {len}"
            ),
            Self::StateCharacter { position } => write!(
                f,
                "state contains a character outside the unreserved set [A-Za-z0-9-._~] at byte {position}"
            ),
            // Transparent, as thiserror's `#[error(transparent)]` would be.
            Self::Random(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Random(error) => error.source(),
            _ => None,
        }
    }
}

impl From<RandomError> for Error {
    fn from(error: RandomError) -> Self {
        Self::Random(error)
    }
}

/// The first byte of `value` outside RFC 3986's unreserved set, if any.
fn first_reserved_byte(value: &str) -> Option<usize> {
    value
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')))
}

/// A PKCE code verifier (RFC 7636 §4.1): a one-time secret sent with the code exchange.
///
/// Zeroized on drop, redacted in `Debug`, not `Clone`.
///
/// It cannot be copied or printed:
///
/// ```compile_fail
/// let verifier = smart_pkce::PkceVerifier::generate().unwrap();
/// let copy = verifier.clone();
/// ```
///
/// ```compile_fail
/// let verifier = smart_pkce::PkceVerifier::generate().unwrap();
/// println!("{verifier}");
/// ```
///
/// ```
/// let verifier = smart_pkce::PkceVerifier::generate().unwrap();
/// assert_eq!(format!("{verifier:?}"), "PkceVerifier([redacted])");
/// ```
pub struct PkceVerifier(Secret<String>);

impl PkceVerifier {
    /// A fresh 128-character verifier from the OS CSPRNG (768 random bits).
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when the OS has no randomness to give.
    pub fn generate() -> Result<Self, Error> {
        Self::generate_with_rng(&mut OsRandom, MAX_VERIFIER_LEN)
    }

    /// A fresh verifier of `len` characters from the OS CSPRNG.
    ///
    /// # Errors
    ///
    /// [`Error::VerifierLength`] unless `len` is within `43..=128`; [`Error::Random`] when the
    /// OS has no randomness to give.
    pub fn generate_with_len(len: usize) -> Result<Self, Error> {
        Self::generate_with_rng(&mut OsRandom, len)
    }

    /// A fresh verifier of `len` characters drawn from `rng`.
    ///
    /// Each character carries six random bits: the verifier is the base64url encoding of
    /// `ceil(len * 3 / 4)` random bytes, cut to `len` characters.
    ///
    /// # Errors
    ///
    /// [`Error::VerifierLength`] unless `len` is within `43..=128`; [`Error::Random`] when
    /// `rng` fails.
    pub fn generate_with_rng(rng: &mut impl RandomSource, len: usize) -> Result<Self, Error> {
        if !(MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&len) {
            return Err(Error::VerifierLength { len });
        }
        let mut bytes = Zeroizing::new(vec![0u8; len.div_ceil(4) * 3]);
        rng.fill(&mut bytes)?;
        let mut encoded = Base64UrlUnpadded::encode_string(&bytes);
        encoded.truncate(len);
        Ok(Self(Secret::new(encoded)))
    }

    /// Checks a caller-supplied verifier against RFC 7636 §4.1: 43 to 128 characters from
    /// `[A-Za-z0-9-._~]`.
    ///
    /// # Errors
    ///
    /// [`Error::VerifierLength`] or [`Error::VerifierCharacter`]; the error never contains the
    /// value.
    pub fn parse(value: impl Into<String>) -> Result<Self, Error> {
        let value = Secret::new(value.into());
        let text = value.expose_secret();
        if !(MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&text.len()) {
            return Err(Error::VerifierLength { len: text.len() });
        }
        if let Some(position) = first_reserved_byte(text) {
            return Err(Error::VerifierCharacter { position });
        }
        Ok(Self(value))
    }

    /// The `S256` challenge of this verifier.
    #[must_use]
    pub fn challenge(&self) -> PkceChallenge {
        PkceChallenge::s256(self.expose_secret())
    }

    /// The verifier, for the `code_verifier` form field.
    ///
    /// # Security
    ///
    /// Send it only to the token endpoint; do not log it or keep it after the exchange.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for PkceVerifier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose_secret())
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for PkceVerifier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// A PKCE code challenge (RFC 7636 §4.2), always of the `S256` method.
///
/// It is public: it travels in the authorization URL.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PkceChallenge(String);

impl PkceChallenge {
    /// `BASE64URL(SHA-256(ASCII(verifier)))`, unpadded.
    fn s256(verifier: &str) -> Self {
        Self(Base64UrlUnpadded::encode_string(&Sha256::digest(
            verifier.as_bytes(),
        )))
    }

    /// Checks a challenge received from elsewhere (an authorization server does this): 43
    /// base64url characters.
    ///
    /// # Errors
    ///
    /// [`Error::ChallengeFormat`] for anything else.
    pub fn parse(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        let valid = value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(value))
        } else {
            Err(Error::ChallengeFormat { len: value.len() })
        }
    }

    /// The challenge, for the `code_challenge` parameter.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The method, for the `code_challenge_method` parameter: always `S256`.
    #[must_use]
    pub fn method(&self) -> &'static str {
        CHALLENGE_METHOD
    }

    /// Whether `verifier` is the one this challenge was made from, compared in constant time.
    /// A verifier that breaks RFC 7636 §4.1 never matches.
    ///
    /// An authorization server checks the `code_verifier` of a token request against the
    /// `code_challenge` it kept from the authorization request:
    ///
    /// ```
    /// use smart_pkce::{PkceChallenge, PkceVerifier};
    ///
    /// // RFC 7636 Appendix B.
    /// let challenge = PkceChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")?;
    /// assert!(challenge.is_satisfied_by("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
    /// assert!(!challenge.is_satisfied_by("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
    /// // Not a valid verifier at all (too short): never satisfies.
    /// assert!(!challenge.is_satisfied_by("short"));
    ///
    /// let verifier = PkceVerifier::generate()?;
    /// assert!(verifier.challenge().is_satisfied_by(verifier.expose_secret()));
    /// # Ok::<(), smart_pkce::Error>(())
    /// ```
    #[must_use]
    pub fn is_satisfied_by(&self, verifier: &str) -> bool {
        match PkceVerifier::parse(verifier) {
            Ok(verifier) => ct_eq(verifier.challenge().0.as_bytes(), self.0.as_bytes()),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for PkceChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PkceChallenge").field(&self.0).finish()
    }
}

impl fmt::Display for PkceChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The OAuth `state` parameter: an unguessable value that ties the callback to the request
/// (RFC 6749 §10.12; SMART requires at least 122 bits).
///
/// Generated states hold 128 bits as 32 lowercase hex characters. Zeroized on drop, redacted in
/// `Debug`, not `Clone`; compare with [`State::matches`], which runs in constant time.
///
/// It cannot be copied, printed or compared with `==`:
///
/// ```compile_fail
/// let state = smart_pkce::State::generate().unwrap();
/// let copy = state.clone();
/// ```
///
/// ```compile_fail
/// let state = smart_pkce::State::generate().unwrap();
/// println!("{state}");
/// ```
///
/// ```compile_fail
/// let state = smart_pkce::State::generate().unwrap();
/// let same = state == smart_pkce::State::generate().unwrap();
/// ```
pub struct State(Secret<String>);

impl State {
    /// A fresh state from the OS CSPRNG.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when the OS has no randomness to give.
    pub fn generate() -> Result<Self, Error> {
        Self::generate_with_rng(&mut OsRandom)
    }

    /// A fresh state drawn from `rng`.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when `rng` fails.
    pub fn generate_with_rng(rng: &mut impl RandomSource) -> Result<Self, Error> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut bytes = Zeroizing::new([0u8; STATE_LEN / 2]);
        rng.fill(bytes.as_mut())?;
        let mut text = String::with_capacity(STATE_LEN);
        for byte in bytes.iter() {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        Ok(Self(Secret::new(text)))
    }

    /// Checks a state kept by the app (for example restored from a session store): 32 to 512
    /// characters from `[A-Za-z0-9-._~]`.
    ///
    /// ```
    /// use smart_pkce::{Error, State};
    ///
    /// let state = State::parse("0123456789abcdef0123456789abcdef")?;
    /// assert!(state.matches("0123456789abcdef0123456789abcdef"));
    /// assert!(!state.matches("0123456789abcdef0123456789abcde0"));
    ///
    /// // Too short to be unguessable, or with characters a URL would have to escape:
    /// assert!(matches!(State::parse("abc"), Err(Error::StateLength { len: 3 })));
    /// let spaced = "0123456789abcdef 0123456789abcdef";
    /// assert!(matches!(State::parse(spaced), Err(Error::StateCharacter { position: 16 })));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::StateLength`] or [`Error::StateCharacter`]; the error never contains the value.
    pub fn parse(value: impl Into<String>) -> Result<Self, Error> {
        let value = Secret::new(value.into());
        let text = value.expose_secret();
        if !(STATE_LEN..=MAX_STATE_LEN).contains(&text.len()) {
            return Err(Error::StateLength { len: text.len() });
        }
        if let Some(position) = first_reserved_byte(text) {
            return Err(Error::StateCharacter { position });
        }
        Ok(Self(value))
    }

    /// Whether `received` (the `state` of a callback) equals this state, compared in constant
    /// time.
    #[must_use]
    pub fn matches(&self, received: &str) -> bool {
        ct_eq(self.expose_secret().as_bytes(), received.as_bytes())
    }

    /// The state, for the `state` parameter.
    ///
    /// # Security
    ///
    /// Do not log it. Compare a returned state with [`State::matches`], never with `==`.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("State([redacted])")
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl Serialize for State {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose_secret())
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}
