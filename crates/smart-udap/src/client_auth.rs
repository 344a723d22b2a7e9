//! UDAP JWT-based client authentication (UDAP Security STU2 §4.2.1 and §5.2.1): assertions
//! signed with the registered client's key, carrying its `x5c` chain, for the token endpoint
//! (`authorization_code` and B2B `client_credentials`).

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde_json::{Map, Value};
use smart_core::{ClientId, Clock, OsRandom, RandomSource, SystemClock, TokenUrl, unix_seconds};
use smart_jwt_assertion::{Algorithm, CLIENT_ASSERTION_TYPE, ClientAssertion, SignError};
use smart_token::{AssertionSource, ClientAuth};

use crate::credentials::{UdapCredentials, new_jti};
use crate::error::UdapError;

/// Lifetime of an assertion: 5 minutes, the most STU2 allows.
pub const ASSERTION_LIFETIME: u64 = 300;

/// The `hl7-b2b` authorization extension object (STU2 §5.2.1.1), required in B2B
/// `client_credentials` assertions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct B2bExtension {
    /// Always `"1"`.
    pub version: String,
    /// The requesting organization's identifier (a URI). Required.
    pub organization_id: String,
    /// The purposes of use (codes from the community's value set). At least one.
    pub purpose_of_use: Vec<String>,
    /// The organization's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    /// The human requestor's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_name: Option<String>,
    /// The human requestor's identifier (an NPI for a US practitioner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    /// The human requestor's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_role: Option<String>,
    /// Consent policies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub consent_policy: Vec<String>,
    /// Consent references.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub consent_reference: Vec<String>,
}

impl B2bExtension {
    /// An extension for `organization_id` with the purposes of use.
    #[must_use]
    pub fn new(organization_id: impl Into<String>, purpose_of_use: Vec<String>) -> Self {
        Self {
            version: "1".into(),
            organization_id: organization_id.into(),
            purpose_of_use,
            organization_name: None,
            subject_name: None,
            subject_id: None,
            subject_role: None,
            consent_policy: Vec::new(),
            consent_reference: Vec::new(),
        }
    }
}

/// Makes UDAP client assertions for one registered client: header `{"alg", "x5c"}`, claims
/// `iss` = `sub` = `client_id`, `aud` = the token endpoint, `iat`, `exp` = `iat` + 300, a
/// fresh `jti`, and `extensions` (`hl7-b2b`) when set.
///
/// Use it directly ([`UdapClientAssertion::form_fields`]) or as a
/// [`smart_token::ClientAuth`] ([`UdapClientAssertion::into_client_auth`]) in the usual
/// token requests, which then also send `udap=1`.
pub struct UdapClientAssertion {
    credentials: Arc<UdapCredentials>,
    algorithm: Algorithm,
    extensions: Map<String, Value>,
    clock: Arc<dyn Clock>,
    rng: Arc<Mutex<dyn RandomSource + Send>>,
}

impl UdapClientAssertion {
    /// Assertions signed by `credentials` with `algorithm` or the first compatible one in
    /// `advertised` (the server's `token_endpoint_auth_signing_alg_values_supported`).
    ///
    /// # Errors
    ///
    /// [`UdapError::InvalidSetting`] when no algorithm fits.
    pub fn new(
        credentials: Arc<UdapCredentials>,
        advertised: &[&str],
        algorithm: Option<Algorithm>,
    ) -> Result<Self, UdapError> {
        let algorithm = credentials.select_algorithm(algorithm, advertised)?;
        Ok(Self {
            credentials,
            algorithm,
            extensions: Map::new(),
            clock: Arc::new(SystemClock),
            rng: Arc::new(Mutex::new(OsRandom)),
        })
    }

    /// Adds the `hl7-b2b` extension (B2B `client_credentials`).
    #[must_use]
    pub fn with_b2b(mut self, extension: &B2bExtension) -> Self {
        if let Ok(value) = serde_json::to_value(extension) {
            self.extensions.insert("hl7-b2b".into(), value);
        }
        self
    }

    /// Adds any other authorization extension object under `name`.
    #[must_use]
    pub fn with_extension(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extensions.insert(name.into(), value);
        self
    }

    /// The clock for `iat`, `exp` and the certificate validity check.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The randomness for `jti`.
    #[must_use]
    pub fn with_rng(mut self, rng: impl RandomSource + Send + 'static) -> Self {
        self.rng = Arc::new(Mutex::new(rng));
        self
    }

    /// The signing algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// A fresh assertion for `client_id` at `token_endpoint`.
    ///
    /// # Errors
    ///
    /// [`UdapError::ClientCertificate`] when a certificate is outside its validity period;
    /// [`UdapError::Sign`] or [`UdapError::Random`].
    pub fn assertion(
        &self,
        client_id: &ClientId,
        token_endpoint: &TokenUrl,
    ) -> Result<ClientAssertion, UdapError> {
        let now = self.clock.now();
        self.credentials.check(now, None)?;
        let iat = unix_seconds(now);
        let jti = {
            let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
            new_jti(&mut *rng)?
        };
        let mut claims = Map::new();
        claims.insert("iss".into(), Value::from(client_id.as_str()));
        claims.insert("sub".into(), Value::from(client_id.as_str()));
        claims.insert("aud".into(), Value::from(token_endpoint.as_str()));
        claims.insert("iat".into(), Value::from(iat));
        claims.insert(
            "exp".into(),
            Value::from(iat.saturating_add(ASSERTION_LIFETIME)),
        );
        claims.insert("jti".into(), Value::from(jti));
        if !self.extensions.is_empty() {
            claims.insert("extensions".into(), Value::Object(self.extensions.clone()));
        }
        self.credentials
            .sign(&claims, self.algorithm)
            .map(ClientAssertion::new)
    }

    /// The form fields for a token request: `client_assertion_type`, `client_assertion` and
    /// `udap=1`. Add `grant_type` and the grant's own fields.
    ///
    /// # Errors
    ///
    /// As [`UdapClientAssertion::assertion`].
    pub fn form_fields(
        &self,
        client_id: &ClientId,
        token_endpoint: &TokenUrl,
    ) -> Result<Vec<(String, String)>, UdapError> {
        let assertion = self.assertion(client_id, token_endpoint)?;
        Ok(vec![
            ("client_assertion_type".into(), CLIENT_ASSERTION_TYPE.into()),
            (
                "client_assertion".into(),
                assertion.expose_secret().to_owned(),
            ),
            ("udap".into(), "1".into()),
        ])
    }

    /// A [`ClientAuth`] for `client_id` that signs a fresh UDAP assertion for every request
    /// ([`smart_token::TokenRequest::build`]) and sends `udap=1`.
    #[must_use]
    pub fn into_client_auth(self, client_id: ClientId) -> ClientAuth {
        ClientAuth::private_key_jwt_from(client_id, Arc::new(self))
    }
}

impl AssertionSource for UdapClientAssertion {
    fn assertion(
        &self,
        client_id: &ClientId,
        audience: &TokenUrl,
    ) -> Result<ClientAssertion, smart_jwt_assertion::Error> {
        Self::assertion(self, client_id, audience).map_err(|error| match error {
            UdapError::Sign(inner) => inner,
            other => SignError::with_source("the UDAP assertion cannot be made", other).into(),
        })
    }

    fn extra_form_fields(&self) -> &[(&'static str, &'static str)] {
        &[("udap", "1")]
    }

    fn describe(&self) -> &'static str {
        "UDAP x5c assertion"
    }
}

impl core::fmt::Debug for UdapClientAssertion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Self {
            credentials,
            algorithm,
            extensions,
            clock: _,
            rng: _,
        } = self;
        f.debug_struct("UdapClientAssertion")
            .field("credentials", credentials)
            .field("algorithm", algorithm)
            .field("extensions", &extensions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
