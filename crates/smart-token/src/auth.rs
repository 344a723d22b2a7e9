//! Client authentication at the token endpoint: one type used by every call, refresh,
//! introspection and revocation included.

use core::fmt;
#[cfg(feature = "private-key-jwt")]
use std::sync::{Arc, Mutex, PoisonError};

use base64ct::{Base64, Encoding};
use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use smart_core::{ClientId, Redactions, TokenUrl};
#[cfg(feature = "private-key-jwt")]
use smart_core::{Clock, OsRandom, RandomSource, SystemClock};

use crate::auth_method::AuthMethod;
use crate::error::TokenError;
use crate::secrets::ClientSecret;

#[cfg(feature = "private-key-jwt")]
use smart_jwt_assertion::CLIENT_ASSERTION_TYPE;

/// How the client id and secret go into the Basic header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BasicEncoding {
    /// `base64(client_id:secret)` as given: what safire, client-js and Inferno expect.
    Raw,
    /// RFC 6749 §2.3.1: both form-urlencoded first.
    FormUrlEncoded,
}

/// A `client_secret_basic` header, and every secret it carries for [`Redactions`].
#[derive(Clone)]
struct BasicHeader {
    header: HeaderValue,
    redactions: Redactions,
}

impl BasicHeader {
    fn new(client_id: &ClientId, secret: &ClientSecret, encoding: BasicEncoding) -> Self {
        let credentials = match encoding {
            BasicEncoding::Raw => format!("{}:{}", client_id.as_str(), secret.expose_secret()),
            BasicEncoding::FormUrlEncoded => {
                let encoded_secret = smart_core::Secret::new(smart_core::form::encode_component(
                    secret.expose_secret(),
                ));
                format!(
                    "{}:{}",
                    smart_core::form::encode_component(client_id.as_str()),
                    encoded_secret.expose_secret()
                )
            }
        };
        let credentials = smart_core::Secret::new(credentials);
        let encoded = smart_core::Secret::new(Base64::encode_string(
            credentials.expose_secret().as_bytes(),
        ));
        let mut redactions = Redactions::new();
        redactions
            .secret(secret.expose_secret())
            .exact(credentials.expose_secret())
            .exact(encoded.expose_secret());
        let value = smart_core::Secret::new(format!("Basic {}", encoded.expose_secret()));
        let mut header = HeaderValue::from_str(value.expose_secret())
            .expect("base64 output is visible ASCII, which header values accept");
        header.set_sensitive(true);
        Self { header, redactions }
    }
}

#[derive(Clone)]
enum Method {
    None,
    SecretBasic {
        secret: ClientSecret,
        encoding: BasicEncoding,
        /// The header and the secrets in it, made once (every request sends the same).
        prepared: BasicHeader,
    },
    SecretPost {
        secret: ClientSecret,
    },
    #[cfg(feature = "private-key-jwt")]
    PrivateKeyJwt(Assertions),
    #[cfg(feature = "private-key-jwt")]
    External(Arc<dyn AssertionSource>),
}

/// Makes the `client_assertion` of a `private_key_jwt` client when
/// [`smart_jwt_assertion::AssertionSigner`]'s SMART header (`typ`, `kid`, `jku`) is not the
/// one wanted: UDAP assertions carry an `x5c` certificate chain instead, and extra claims.
///
/// Called once for every token-endpoint request, refresh, introspection and revocation
/// included; each call must return a fresh assertion (new `jti`, `exp` at most 300 s ahead).
#[cfg(feature = "private-key-jwt")]
pub trait AssertionSource: Send + Sync {
    /// A fresh assertion for `client_id` at `audience` (the token endpoint).
    ///
    /// # Errors
    ///
    /// Any signing error; the request is not built.
    fn assertion(
        &self,
        client_id: &ClientId,
        audience: &TokenUrl,
    ) -> Result<smart_jwt_assertion::ClientAssertion, smart_jwt_assertion::Error>;

    /// Form fields sent beside the assertion (UDAP sends `udap=1`). None by default.
    fn extra_form_fields(&self) -> &[(&'static str, &'static str)] {
        &[]
    }

    /// A short description for `Debug` output (never key material).
    fn describe(&self) -> &'static str {
        "external assertion source"
    }
}

/// What a `private_key_jwt` client needs to make a fresh assertion for every request.
#[cfg(feature = "private-key-jwt")]
#[derive(Clone)]
struct Assertions {
    signer: smart_jwt_assertion::AssertionSigner,
    clock: Arc<dyn Clock>,
    rng: Arc<Mutex<dyn RandomSource + Send>>,
}

/// How a client authenticates to the token, introspection and revocation endpoints
/// ([app-launch.html#request-5](https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#request-5)).
///
/// | method | body | header |
/// |---|---|---|
/// | public | `client_id` | none |
/// | `client_secret_basic` | no `client_id` | `Authorization: Basic base64(client_id:secret)` |
/// | `client_secret_post` | `client_id`, `client_secret` | none |
/// | `private_key_jwt` | `client_assertion_type`, a fresh `client_assertion`; no `client_id` | none |
///
/// `Debug` never shows the secret or the key.
///
/// ```
/// use smart_core::ClientId;
/// use smart_token::{AuthMethod, ClientAuth, ClientSecret};
///
/// let auth = ClientAuth::client_secret_basic(ClientId::parse("my-app")?, ClientSecret::new("s3cr3t"));
/// assert_eq!(auth.method(), AuthMethod::ClientSecretBasic);
/// assert!(!format!("{auth:?}").contains("s3cr3t"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ClientAuth {
    client_id: ClientId,
    method: Method,
}

impl ClientAuth {
    /// A public client: it sends its `client_id` and nothing else.
    #[must_use]
    pub fn public(client_id: ClientId) -> Self {
        Self {
            client_id,
            method: Method::None,
        }
    }

    /// `client_secret_basic` with the credentials sent raw in the header, as SMART servers,
    /// safire and the Inferno test kit expect. See [`ClientAuth::with_rfc6749_basic_encoding`].
    ///
    /// Building a request fails with [`TokenError::EmptyClientSecret`] for an empty secret,
    /// and with [`TokenError::AmbiguousBasicCredentials`] when the client id contains `:`
    /// (the raw header could not be split; the RFC 6749 encoding escapes it).
    #[must_use]
    pub fn client_secret_basic(client_id: ClientId, secret: ClientSecret) -> Self {
        let prepared = BasicHeader::new(&client_id, &secret, BasicEncoding::Raw);
        Self {
            client_id,
            method: Method::SecretBasic {
                secret,
                encoding: BasicEncoding::Raw,
                prepared,
            },
        }
    }

    /// `client_secret_post`: the id and secret in the form body. Building a request fails with
    /// [`TokenError::EmptyClientSecret`] for an empty secret.
    #[must_use]
    pub fn client_secret_post(client_id: ClientId, secret: ClientSecret) -> Self {
        Self {
            client_id,
            method: Method::SecretPost { secret },
        }
    }

    /// `private_key_jwt`: every request carries a fresh assertion signed by `signer`, with
    /// `aud` set to the token endpoint URL.
    #[cfg(feature = "private-key-jwt")]
    #[must_use]
    pub fn private_key_jwt(
        client_id: ClientId,
        signer: smart_jwt_assertion::AssertionSigner,
    ) -> Self {
        Self {
            client_id,
            method: Method::PrivateKeyJwt(Assertions {
                signer,
                clock: Arc::new(SystemClock),
                rng: Arc::new(Mutex::new(OsRandom)),
            }),
        }
    }

    /// `private_key_jwt` with assertions made by `source` (for example a UDAP assertion that
    /// carries an `x5c` chain): every request calls it for a fresh assertion.
    #[cfg(feature = "private-key-jwt")]
    #[must_use]
    pub fn private_key_jwt_from(client_id: ClientId, source: Arc<dyn AssertionSource>) -> Self {
        Self {
            client_id,
            method: Method::External(source),
        }
    }

    /// For `client_secret_basic`: form-urlencode the id and secret before base64, as RFC 6749
    /// §2.3.1 says. Some strict servers need it; many SMART servers and test kits reject it
    /// when the secret has characters such as `+`, `/` or `=`. No effect on other methods.
    #[must_use]
    pub fn with_rfc6749_basic_encoding(mut self) -> Self {
        if let Method::SecretBasic {
            secret,
            encoding,
            prepared,
        } = &mut self.method
        {
            *encoding = BasicEncoding::FormUrlEncoded;
            *prepared = BasicHeader::new(&self.client_id, secret, *encoding);
        }
        self
    }

    /// For `private_key_jwt`: the clock that sets `iat` and `exp` (tests fix it). No effect on
    /// other methods.
    #[cfg(feature = "private-key-jwt")]
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        if let Method::PrivateKeyJwt(assertions) = &mut self.method {
            assertions.clock = clock;
        }
        self
    }

    /// For `private_key_jwt`: the randomness for each `jti` (tests make it deterministic). No
    /// effect on other methods.
    #[cfg(feature = "private-key-jwt")]
    #[must_use]
    pub fn with_rng(mut self, rng: impl RandomSource + Send + 'static) -> Self {
        if let Method::PrivateKeyJwt(assertions) = &mut self.method {
            assertions.rng = Arc::new(Mutex::new(rng));
        }
        self
    }

    /// The client id.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The authentication method.
    #[must_use]
    pub fn method(&self) -> AuthMethod {
        match self.method {
            Method::None => AuthMethod::None,
            Method::SecretBasic { .. } => AuthMethod::ClientSecretBasic,
            Method::SecretPost { .. } => AuthMethod::ClientSecretPost,
            #[cfg(feature = "private-key-jwt")]
            Method::PrivateKeyJwt(_) | Method::External(_) => AuthMethod::PrivateKeyJwt,
        }
    }

    /// Adds the authentication to a request: form fields into `form`, a header into `headers`.
    /// `audience` is the token endpoint, the `aud` of assertions.
    ///
    /// Refuses an empty client secret ([`TokenError::EmptyClientSecret`]) and, with the raw
    /// Basic encoding, a `client_id` containing `:` ([`TokenError::AmbiguousBasicCredentials`]).
    /// Every secret it adds is recorded in `redactions`: the client secret (raw and in the
    /// encodings it may be echoed in), the Basic credentials' base64, the assertion.
    pub(crate) fn apply(
        &self,
        audience: &TokenUrl,
        form: &mut Vec<(String, String)>,
        headers: &mut HeaderMap,
        redactions: &mut Redactions,
    ) -> Result<(), TokenError> {
        #[cfg(not(feature = "private-key-jwt"))]
        let _ = audience;
        match &self.method {
            Method::None => form.push(("client_id".into(), self.client_id.as_str().into())),
            Method::SecretBasic {
                secret,
                encoding,
                prepared,
            } => {
                if secret.expose_secret().trim().is_empty() {
                    return Err(TokenError::EmptyClientSecret {
                        method: AuthMethod::ClientSecretBasic,
                    });
                }
                if *encoding == BasicEncoding::Raw && self.client_id.as_str().contains(':') {
                    return Err(TokenError::AmbiguousBasicCredentials);
                }
                redactions.extend(&prepared.redactions);
                headers.insert(AUTHORIZATION, prepared.header.clone());
            }
            Method::SecretPost { secret } => {
                if secret.expose_secret().trim().is_empty() {
                    return Err(TokenError::EmptyClientSecret {
                        method: AuthMethod::ClientSecretPost,
                    });
                }
                redactions.secret(secret.expose_secret());
                form.push(("client_id".into(), self.client_id.as_str().into()));
                form.push(("client_secret".into(), secret.expose_secret().into()));
            }
            #[cfg(feature = "private-key-jwt")]
            Method::PrivateKeyJwt(assertions) => {
                let mut rng = assertions
                    .rng
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let assertion = assertions
                    .signer
                    .sign_with(
                        &self.client_id,
                        audience,
                        assertions.clock.as_ref(),
                        &mut *rng,
                    )
                    .map_err(TokenError::Assertion)?;
                redactions.secret(assertion.expose_secret());
                form.push(("client_assertion_type".into(), CLIENT_ASSERTION_TYPE.into()));
                form.push(("client_assertion".into(), assertion.expose_secret().into()));
            }
            #[cfg(feature = "private-key-jwt")]
            Method::External(source) => {
                let assertion = source
                    .assertion(&self.client_id, audience)
                    .map_err(TokenError::Assertion)?;
                form.push(("client_assertion_type".into(), CLIENT_ASSERTION_TYPE.into()));
                form.push(("client_assertion".into(), assertion.expose_secret().into()));
                for (name, value) in source.extra_form_fields() {
                    form.push(((*name).into(), (*value).into()));
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { client_id, method } = self;
        let mut debug = f.debug_struct("ClientAuth");
        debug.field("client_id", client_id);
        match method {
            Method::None => debug.field("method", &"none"),
            Method::SecretBasic {
                secret, encoding, ..
            } => debug
                .field("method", &"client_secret_basic")
                .field("secret", secret)
                .field("encoding", encoding),
            Method::SecretPost { secret } => debug
                .field("method", &"client_secret_post")
                .field("secret", secret),
            #[cfg(feature = "private-key-jwt")]
            Method::PrivateKeyJwt(Assertions {
                signer,
                clock: _,
                rng: _,
            }) => debug
                .field("method", &"private_key_jwt")
                .field("kid", &signer.kid())
                .field("alg", &signer.algorithm()),
            #[cfg(feature = "private-key-jwt")]
            Method::External(source) => debug
                .field("method", &"private_key_jwt")
                .field("source", &source.describe()),
        };
        debug.finish()
    }
}

#[cfg(all(test, feature = "private-key-jwt"))]
mod tests {
    use super::*;
    use crate::TokenRequest;

    struct Fixed;

    impl AssertionSource for Fixed {
        fn assertion(
            &self,
            client_id: &ClientId,
            audience: &TokenUrl,
        ) -> Result<smart_jwt_assertion::ClientAssertion, smart_jwt_assertion::Error> {
            Ok(smart_jwt_assertion::ClientAssertion::new(format!(
                "{}|{}",
                client_id.as_str(),
                audience.as_str()
            )))
        }

        fn extra_form_fields(&self) -> &[(&'static str, &'static str)] {
            &[("udap", "1")]
        }
    }

    struct Failing;

    impl AssertionSource for Failing {
        fn assertion(
            &self,
            _: &ClientId,
            _: &TokenUrl,
        ) -> Result<smart_jwt_assertion::ClientAssertion, smart_jwt_assertion::Error> {
            Err(smart_jwt_assertion::SignError::new("the HSM is offline").into())
        }
    }

    #[test]
    fn external_assertions_go_into_the_form() {
        let auth =
            ClientAuth::private_key_jwt_from(ClientId::parse("c1").unwrap(), Arc::new(Fixed));
        assert_eq!(auth.method(), AuthMethod::PrivateKeyJwt);
        assert!(format!("{auth:?}").contains("external assertion source"));
        let token_url = TokenUrl::parse("https://ehr.example/token").unwrap();
        let request = TokenRequest::client_credentials(None)
            .unwrap()
            .build(&token_url, &auth)
            .unwrap();
        let body = String::from_utf8(request.body().clone()).unwrap();
        let fields: Vec<(String, String)> =
            smart_core::url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
        assert!(fields.contains(&(
            "client_assertion".into(),
            "c1|https://ehr.example/token".into()
        )));
        assert!(fields.contains(&("client_assertion_type".into(), CLIENT_ASSERTION_TYPE.into())));
        assert!(fields.contains(&("udap".into(), "1".into())));
        assert!(!fields.iter().any(|(name, _)| name == "client_id"));
    }

    #[test]
    fn a_failing_source_fails_the_request() {
        let auth =
            ClientAuth::private_key_jwt_from(ClientId::parse("c1").unwrap(), Arc::new(Failing));
        let token_url = TokenUrl::parse("https://ehr.example/token").unwrap();
        let result = TokenRequest::client_credentials(None)
            .unwrap()
            .build(&token_url, &auth);
        assert!(matches!(result, Err(TokenError::Assertion(_))));
    }
}
