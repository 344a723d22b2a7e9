use core::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value};
use smart_core::{
    ClientId, Clock, JwksUrl, OsRandom, RandomSource, SystemClock, TokenUrl, TransportPolicy,
};

use crate::{Algorithm, Error, JwsSigner, PrivateKey, b64url, sign_compact};

/// The `client_assertion_type` sent with a client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest assertion lifetime SMART allows, and the default: five minutes
/// ([client-confidential-asymmetric.html#request](https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html#request)).
pub const MAX_LIFETIME: Duration = Duration::from_secs(300);

/// Random bytes in each `jti`: 256 bits, 43 base64url characters.
pub const JTI_BYTES: usize = 32;

smart_core::secret_string! {
    /// A signed client assertion (a compact JWS, RFC 7523 §2.2), sent once as the
    /// `client_assertion` form field with `client_assertion_type` = [`CLIENT_ASSERTION_TYPE`].
    ///
    /// It is a credential until it expires: `Debug` prints `ClientAssertion([redacted])`, the
    /// memory is zeroized on drop, and it is not `Clone` (make a fresh one for every request;
    /// servers refuse a `jti` they have seen). Read it with `expose_secret()`.
    pub struct ClientAssertion;
}

/// Makes SMART client assertions for one client: RS384 or ES384 JWTs with a fresh `jti` each
/// ([client-confidential-asymmetric.html#request](https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html#request),
/// RFC 7523 §3).
///
/// Header: `alg`, `typ: "JWT"`, `kid`, and `jku` when set. Claims: `iss` and `sub` = the
/// client id, `aud` = the token endpoint URL exactly as given (a string, never an array),
/// `iat` = now, `exp` = now + lifetime (at most 300 s, the default), `jti` = 256 random bits
/// in base64url.
///
/// Cloning is cheap and shares the signer.
///
/// ```
/// # #[cfg(feature = "es384")] {
/// use smart_core::{ClientId, FixedClock, RandomError, TokenUrl};
/// use smart_jwt_assertion::{AssertionSigner, PrivateKey, decode_unverified};
///
/// let key = PrivateKey::generate_p384()?;
/// let signer = AssertionSigner::from_key(&key, "key-1", None)?;
/// let client_id = ClientId::parse("my-app").unwrap();
/// let token_url = TokenUrl::parse("https://ehr.example/token").unwrap();
///
/// let clock = FixedClock::from_unix_seconds(1_700_000_000);
/// let mut zeros = |buf: &mut [u8]| -> Result<(), RandomError> { buf.fill(0); Ok(()) };
/// let assertion = signer.sign_with(&client_id, &token_url, &clock, &mut zeros)?;
///
/// let (header, claims) = decode_unverified(assertion.expose_secret())?;
/// assert_eq!(header["alg"], "ES384");
/// assert_eq!(header["kid"], "key-1");
/// assert_eq!(claims["aud"], "https://ehr.example/token");
/// assert_eq!(claims["exp"], 1_700_000_300);
/// assert_eq!(claims["jti"], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
/// # }
/// # Ok::<(), smart_jwt_assertion::Error>(())
/// ```
#[derive(Clone)]
pub struct AssertionSigner {
    signer: Arc<dyn JwsSigner>,
    kid: String,
    jku: Option<JwksUrl>,
    lifetime: Duration,
}

impl AssertionSigner {
    /// An assertion signer over any [`JwsSigner`] (an in-memory key, a KMS, an HSM).
    ///
    /// `kid` is the key id the public key is registered under; SMART requires it in every
    /// assertion header. It is used exactly as given.
    ///
    /// # Errors
    ///
    /// [`Error::MissingKid`] for an empty or blank `kid`; [`Error::AssertionAlgorithm`] unless
    /// the signer's algorithm is RS384 or ES384.
    pub fn new(signer: impl JwsSigner + 'static, kid: impl Into<String>) -> Result<Self, Error> {
        let kid = kid.into();
        if kid.trim().is_empty() {
            return Err(Error::MissingKid);
        }
        let alg = signer.algorithm();
        if !alg.is_client_assertion_algorithm() {
            return Err(Error::AssertionAlgorithm { alg });
        }
        Ok(Self {
            signer: Arc::new(signer),
            kid,
            jku: None,
            lifetime: MAX_LIFETIME,
        })
    }

    /// An assertion signer over `key`, with `alg` or the key's default (RS384 for RSA, ES384
    /// for P-384).
    ///
    /// # Errors
    ///
    /// As [`PrivateKey::signer`] and [`AssertionSigner::new`]: the algorithm must fit the key
    /// and be RS384 or ES384; `kid` must not be blank.
    pub fn from_key(
        key: &PrivateKey,
        kid: impl Into<String>,
        alg: Option<Algorithm>,
    ) -> Result<Self, Error> {
        Self::new(key.signer(alg)?, kid)
    }

    /// Adds a `jku` header: the URL of the app's JWK Set. SMART allows it and requires it to
    /// equal the JWKS URL registered for the client; it must be `https://`.
    ///
    /// # Errors
    ///
    /// [`Error::Jku`] when the URL is not HTTPS (loopback `http://` is refused too: the
    /// server fetches it).
    pub fn with_jku(self, jku: JwksUrl) -> Result<Self, Error> {
        self.with_jku_under(jku, TransportPolicy::STRICT)
    }

    /// [`AssertionSigner::with_jku`] under `policy`: with
    /// [`TransportPolicy::ALLOW_INSECURE_LOCALHOST`], an `http://` JWK Set on `localhost`,
    /// `127.0.0.1` or `[::1]` is accepted too, for a development server on the same machine
    /// that fetches it from there. No other `http://` URL is ever accepted.
    ///
    /// # Errors
    ///
    /// [`Error::Jku`] when `policy` refuses the URL.
    pub fn with_jku_under(mut self, jku: JwksUrl, policy: TransportPolicy) -> Result<Self, Error> {
        jku.check_transport(policy).map_err(Error::Jku)?;
        self.jku = Some(jku);
        Ok(self)
    }

    /// Sets how long assertions are valid: 1 to 300 seconds, 300 by default. Fractions of a
    /// second are dropped.
    ///
    /// # Errors
    ///
    /// [`Error::Lifetime`] outside that range.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Result<Self, Error> {
        if lifetime < Duration::from_secs(1) || lifetime > MAX_LIFETIME {
            return Err(Error::Lifetime { lifetime });
        }
        self.lifetime = Duration::from_secs(lifetime.as_secs());
        Ok(self)
    }

    /// The signing algorithm: RS384 or ES384.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.signer.algorithm()
    }

    /// The `kid` header value.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The `jku` header value, if set.
    #[must_use]
    pub fn jku(&self) -> Option<&JwksUrl> {
        self.jku.as_ref()
    }

    /// The assertion lifetime.
    #[must_use]
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A fresh assertion for `client_id` at the token endpoint `audience`, with the system
    /// clock and the OS random number generator.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when the OS has no randomness, [`Error::ClockBeforeEpoch`] when the
    /// clock reads a time before 1970, [`Error::Sign`] or [`Error::SignatureLength`] when the
    /// signer fails.
    pub fn sign(
        &self,
        client_id: &ClientId,
        audience: &TokenUrl,
    ) -> Result<ClientAssertion, Error> {
        self.sign_with(client_id, audience, &SystemClock, &mut OsRandom)
    }

    /// A fresh assertion, with the time from `clock` and the `jti` from `rng`.
    ///
    /// # Errors
    ///
    /// As [`AssertionSigner::sign`].
    pub fn sign_with(
        &self,
        client_id: &ClientId,
        audience: &TokenUrl,
        clock: &dyn Clock,
        rng: &mut dyn RandomSource,
    ) -> Result<ClientAssertion, Error> {
        // A clock before 1970 would give `iat` 0 and an assertion that expired long ago.
        let now = clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::ClockBeforeEpoch)?
            .as_secs();
        let mut jti = [0u8; JTI_BYTES];
        rng.fill(&mut jti)?;

        let mut header = Map::new();
        header.insert("typ".to_owned(), Value::from("JWT"));
        header.insert("kid".to_owned(), Value::from(self.kid.as_str()));
        if let Some(jku) = &self.jku {
            header.insert("jku".to_owned(), Value::from(jku.as_str()));
        }

        let mut claims = Map::new();
        claims.insert("iss".to_owned(), Value::from(client_id.as_str()));
        claims.insert("sub".to_owned(), Value::from(client_id.as_str()));
        claims.insert("aud".to_owned(), Value::from(audience.as_str()));
        claims.insert("iat".to_owned(), Value::from(now));
        claims.insert(
            "exp".to_owned(),
            Value::from(now.saturating_add(self.lifetime.as_secs())),
        );
        claims.insert("jti".to_owned(), Value::from(b64url(&jti)));

        sign_compact(&header, &claims, &*self.signer).map(ClientAssertion::new)
    }
}

impl fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            signer,
            kid,
            jku,
            lifetime,
        } = self;
        f.debug_struct("AssertionSigner")
            .field("alg", &signer.algorithm())
            .field("kid", kid)
            .field("jku", jku)
            .field("lifetime", lifetime)
            .finish_non_exhaustive()
    }
}
