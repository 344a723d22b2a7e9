//! Token responses: typed, lenient on the deviations real servers make, and honest about them.
//! ([app-launch.html#response-5](https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#response-5),
//! [scopes-and-launch-context.html](https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token)).

use core::fmt;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use smart_core::clean_server_text;
use smart_core::json::{field_names, parse_object};
use smart_core::{Clock, Redactions, SystemClock, escape_text};

use crate::error::{OAuthError, Operation, TokenError};
use crate::scope::{ScopeError, ScopeSet};
use crate::secrets::{AccessToken, IdToken, RefreshToken};

mod context;
mod fields;

pub use self::context::{FhirContextItem, LaunchContext};
pub use self::fields::Deviation;
use self::fields::take_seconds;
pub(crate) use self::fields::{take_present_string, take_scope, take_string};

/// A successful token response (RFC 6749 §5.1 with the SMART fields).
///
/// Parsing is lenient on known server deviations (a string `expires_in`, an array `scope`,
/// `bearer` in any case) and lists each one in [`TokenResponse::deviations`]. `Debug` shows no
/// token.
///
/// ```
/// use smart_core::FixedClock;
/// use smart_token::TokenResponse;
///
/// let body = br#"{
///   "access_token": "m7rt6i7s9nuxkjvi8vsx",
///   "token_type": "bearer",
///   "expires_in": "3600",
///   "scope": "launch/patient patient/Observation.rs openid fhirUser",
///   "patient": "123",
///   "need_patient_banner": true,
///   "fhirContext": [{"reference": "Appointment/A1"}]
/// }"#;
/// let response = http::Response::builder().status(200).body(body.to_vec())?;
/// let token = TokenResponse::from_response(&response, &FixedClock::from_unix_seconds(1_000))?;
///
/// assert_eq!(token.access_token().expose_secret(), "m7rt6i7s9nuxkjvi8vsx");
/// assert_eq!(token.expires_in(), Some(3600));
/// assert_eq!(smart_core::unix_seconds(token.expires_at().unwrap()), 4_600);
/// assert_eq!(token.context().patient(), Some("123"));
/// assert_eq!(token.context().fhir_context()[0].role(), "launch");
/// // The string expires_in is accepted, and reported.
/// assert_eq!(token.deviations().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TokenResponse {
    access_token: AccessToken,
    token_type: Option<String>,
    expires_in: Option<u64>,
    expires_at: Option<SystemTime>,
    scope: Option<ScopeSet>,
    refresh_token: Option<RefreshToken>,
    id_token: Option<IdToken>,
    context: LaunchContext,
    authorization_details: Option<Value>,
    extra: Map<String, Value>,
    deviations: Vec<Deviation>,
}

impl TokenResponse {
    /// Reads a token endpoint's answer, with the system clock for `expires_at`.
    ///
    /// # Errors
    ///
    /// As [`TokenResponse::from_response`].
    pub fn parse(response: &http::Response<Vec<u8>>) -> Result<Self, TokenError> {
        Self::from_response(response, &SystemClock)
    }

    /// Reads a token endpoint's answer; `clock` turns `expires_in` into `expires_at`.
    ///
    /// # Errors
    ///
    /// - [`TokenError::OAuth`] for a non-2xx status (with the OAuth error fields when the body
    ///   has them);
    /// - [`TokenError::Body`] when a 2xx body is not a usable JSON object (empty, HTML, an
    ///   array, duplicate keys, ...);
    /// - [`TokenError::MissingField`] when there is no non-empty string `access_token` (the
    ///   error lists the field names received, never their values);
    /// - [`TokenError::UnsupportedTokenType`] when `token_type` is not Bearer in any case (an
    ///   empty `token_type` counts as missing: [`Deviation::EmptyString`] and
    ///   [`Deviation::TokenTypeMissing`], and the token is used as a Bearer token);
    /// - [`TokenError::UnusableToken`] when the access token cannot go into a header.
    pub fn from_response(
        response: &http::Response<Vec<u8>>,
        clock: &dyn Clock,
    ) -> Result<Self, TokenError> {
        Self::from_response_redacting(response, clock, &Redactions::new())
    }

    /// As [`TokenResponse::from_response`], with every secret of the request that was sent
    /// (its [`crate::request_redactions`]) replaced by `[redacted]` in whatever text of the
    /// server the error keeps: `error`, `error_description`, `error_uri`, the excerpt of a
    /// non-JSON error body, an unknown `token_type`, field names.
    ///
    /// ```
    /// use smart_core::{ClientId, SystemClock, TokenUrl};
    /// use smart_token::{ClientAuth, ClientSecret, RefreshToken, TokenRequest, TokenResponse};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let auth = ClientAuth::client_secret_basic(ClientId::parse("app")?, ClientSecret::new("s3cret"));
    /// let request = TokenRequest::refresh_token(&RefreshToken::new("rt-123"), None)
    ///     .build(&TokenUrl::parse("https://ehr.example/token")?, &auth)?;
    /// let sent = smart_token::request_redactions(&request);
    /// let answer = http::Response::builder().status(401).body(
    ///     br#"{"error": "invalid_client", "error_description": "no client app:s3cret"}"#.to_vec(),
    /// )?;
    /// let error = TokenResponse::from_response_redacting(&answer, &SystemClock, &sent).unwrap_err();
    /// assert!(error.to_string().contains("no client [redacted]"));
    /// assert!(!error.to_string().contains("s3cret"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`TokenResponse::from_response`].
    pub fn from_response_redacting(
        response: &http::Response<Vec<u8>>,
        clock: &dyn Clock,
        redactions: &Redactions,
    ) -> Result<Self, TokenError> {
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(OAuthError::from_response_redacting(
                Operation::Token,
                status,
                response.body(),
                redactions,
            )
            .into());
        }
        let object = crate::error::refuse_compressed(response)
            .and_then(|()| parse_object(response.body()))
            .map_err(|reason| {
                TokenError::Body {
                    operation: Operation::Token,
                    status,
                    reason,
                }
                .redacted(redactions)
            })?;
        Self::from_object(object, status, clock.now()).map_err(|error| error.redacted(redactions))
    }

    pub(crate) fn from_object(
        mut object: Map<String, Value>,
        status: u16,
        now: SystemTime,
    ) -> Result<Self, TokenError> {
        let access_token = match object.get("access_token") {
            Some(Value::String(token)) if !token.is_empty() => AccessToken::new(token.clone()),
            _ => {
                return Err(TokenError::MissingField {
                    operation: Operation::Token,
                    status,
                    field: "access_token",
                    received_fields: field_names(&object),
                });
            }
        };
        object.remove("access_token");
        if !access_token
            .expose_secret()
            .bytes()
            .all(|b| b.is_ascii_graphic())
        {
            return Err(TokenError::UnusableToken {
                field: "access_token",
            });
        }
        let mut deviations = Vec::new();
        let token_type = take_present_string(&mut object, "token_type", &mut deviations);
        match &token_type {
            None => deviations.push(Deviation::TokenTypeMissing),
            Some(kind) if kind.eq_ignore_ascii_case("bearer") => {}
            Some(other) => {
                return Err(TokenError::UnsupportedTokenType {
                    token_type: clean_server_text(other),
                });
            }
        }
        let expires_in = take_seconds(&mut object, "expires_in", &mut deviations);
        let expires_at = match expires_in {
            Some(seconds) => {
                let at = now.checked_add(Duration::from_secs(seconds));
                if at.is_none() {
                    deviations.push(Deviation::ExpiresInUnusable {
                        reason: "too large",
                    });
                }
                at
            }
            None => None,
        };
        let scope = take_scope(&mut object, &mut deviations);
        let refresh_token = take_present_string(&mut object, "refresh_token", &mut deviations)
            .map(RefreshToken::new);
        let id_token =
            take_present_string(&mut object, "id_token", &mut deviations).map(IdToken::new);
        let context = LaunchContext::take(&mut object, &mut deviations);
        let authorization_details = object.remove("authorization_details");
        Ok(Self {
            access_token,
            token_type,
            expires_in: expires_at.and(expires_in),
            expires_at,
            scope,
            refresh_token,
            id_token,
            context,
            authorization_details,
            extra: object,
            deviations,
        })
    }

    /// The access token.
    #[must_use]
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// `token_type` as received (`Bearer` in any case), or `None` when missing or empty (both
    /// recorded as deviations; the token is used as a Bearer token).
    #[must_use]
    pub fn token_type(&self) -> Option<&str> {
        self.token_type.as_deref()
    }

    /// Lifetime in seconds, as granted.
    #[must_use]
    pub fn expires_in(&self) -> Option<u64> {
        self.expires_in
    }

    /// When the access token expires (the clock's time at parsing plus `expires_in`).
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Whether the token expires within `margin` of the clock's time; `false` when the expiry
    /// is unknown.
    #[must_use]
    pub fn expires_within(&self, margin: Duration, clock: &dyn Clock) -> bool {
        self.expires_at.is_some_and(|at| {
            clock
                .now()
                .checked_add(margin)
                .is_none_or(|limit| limit >= at)
        })
    }

    /// The granted scopes, when the server said.
    #[must_use]
    pub fn scope(&self) -> Option<&ScopeSet> {
        self.scope.as_ref()
    }

    /// The refresh token, if one was issued.
    #[must_use]
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// The `id_token`, if one was issued (unverified).
    #[must_use]
    pub fn id_token(&self) -> Option<&IdToken> {
        self.id_token.as_ref()
    }

    /// The launch context.
    #[must_use]
    pub fn context(&self) -> &LaunchContext {
        &self.context
    }

    /// `authorization_details`, as JSON.
    #[must_use]
    pub fn authorization_details(&self) -> Option<&Value> {
        self.authorization_details.as_ref()
    }

    /// Every other field, kept as received (extensions such as full-URI keys).
    #[must_use]
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// How the answer departed from the spec.
    #[must_use]
    pub fn deviations(&self) -> &[Deviation] {
        &self.deviations
    }

    /// Sets the expiry of a response restored from a store (`expires_in` is kept as granted).
    pub(crate) fn restore_expiry(&mut self, expires_at: Option<SystemTime>) {
        self.expires_at = expires_at;
        if expires_at.is_none() {
            self.expires_in = None;
        }
    }

    /// Keeps `previous` as the refresh token when this response has none (a refresh that does
    /// not rotate the token: the old one stays valid).
    pub fn keep_refresh_token(&mut self, previous: Option<&RefreshToken>) {
        if self.refresh_token.is_none() {
            self.refresh_token = previous.cloned();
        }
    }

    /// Fills in the granted scope from the request when the server left it out (RFC 6749
    /// §5.1: the scope is then the one requested). An empty `scope` the server did send
    /// (`""` or `[]`) is not "left out": it stays empty, so nothing is assumed granted.
    pub fn assume_scope(&mut self, requested: &ScopeSet) {
        if self.scope.is_none() {
            self.scope = Some(requested.clone());
        }
    }

    /// Compares the granted scope with `requested`: a missing `scope` becomes the requested
    /// one ([`Deviation::ScopeAssumed`]), and scopes granted beyond the request are reported
    /// ([`Deviation::ScopeBeyondRequest`]). The client does this on every code exchange and
    /// narrowing refresh.
    pub fn compare_scope(&mut self, requested: &ScopeSet) {
        match &self.scope {
            None => {
                self.scope = Some(requested.clone());
                self.deviations.push(Deviation::ScopeAssumed);
            }
            Some(granted) => {
                let beyond = requested.compare(granted);
                if !beyond.beyond_request().is_empty() {
                    let scopes = beyond
                        .beyond_request()
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    self.deviations
                        .push(Deviation::ScopeBeyondRequest { scopes });
                }
            }
        }
    }

    /// Removes an `id_token` that failed verification, listing why as
    /// [`Deviation::IdTokenRefused`] (what the client does with a refreshed `id_token` that
    /// does not verify).
    pub fn refuse_id_token(&mut self, reason: String) {
        self.id_token = None;
        self.deviations.push(Deviation::IdTokenRefused { reason });
    }

    /// Whether the granted scopes cover `scope` (`patient/Observation.rs?category=laboratory`,
    /// `launch/patient`, `offline_access`): a broader grant (`patient/*.rs`) covers a narrower
    /// request. `false` when the answer carries no scope (call [`Self::compare_scope`] first
    /// to read a missing scope as the requested one).
    ///
    /// # Errors
    ///
    /// [`ScopeError`] when `scope` is not a scope.
    pub fn granted(&self, scope: &str) -> Result<bool, ScopeError> {
        let scope: crate::scope::Scope = scope.parse()?;
        Ok(self
            .scope
            .as_ref()
            .is_some_and(|granted| granted.covers(&scope)))
    }

    /// Checks the answer against the SMART token-response rules for `flow`, like safire's
    /// `token_response_valid?`: a finding per problem, one `log::warn!` each, never an error.
    #[must_use]
    pub fn validate(&self, flow: Flow) -> ValidationReport {
        let mut findings = Vec::new();
        // Empty counts as missing (safire's `present?`); parsing already reads an empty string
        // as absent, this also covers a response built or restored otherwise.
        if self.scope.as_ref().is_none_or(ScopeSet::is_empty) {
            findings.push(Finding::Missing("scope"));
        }
        match self.token_type.as_deref() {
            None => findings.push(Finding::Missing("token_type")),
            Some(blank) if blank.trim().is_empty() => findings.push(Finding::Missing("token_type")),
            Some("Bearer" | "bearer") => {}
            Some(other) => findings.push(Finding::TokenTypeCase {
                found: clean_server_text(other),
                flow,
            }),
        }
        if flow == Flow::BackendServices {
            if self.expires_in.is_none() {
                findings.push(Finding::Missing("expires_in"));
            }
            if self.refresh_token.is_some() {
                findings.push(Finding::RefreshTokenForBackend);
            }
        }
        findings.extend(self.deviations.iter().cloned().map(Finding::Deviation));
        for finding in &findings {
            log::warn!("SMART token response non-compliance: {finding}");
        }
        ValidationReport { findings }
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            access_token,
            token_type,
            expires_in,
            expires_at,
            scope,
            refresh_token,
            id_token,
            context,
            authorization_details,
            extra,
            deviations,
        } = self;
        f.debug_struct("TokenResponse")
            .field("access_token", access_token)
            .field("token_type", token_type)
            .field("expires_in", expires_in)
            .field("expires_at", expires_at)
            .field("scope", &scope.as_ref().map(ToString::to_string))
            .field("refresh_token", refresh_token)
            .field("id_token", id_token)
            .field("context", context)
            .field(
                "authorization_details",
                &authorization_details.as_ref().map(|_| "[json]"),
            )
            .field("extra_fields", &extra.keys().collect::<Vec<_>>())
            .field("deviations", deviations)
            .finish()
    }
}

/// Which SMART flow a token response belongs to: the rules differ slightly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// EHR or standalone launch (authorization code, refresh).
    AppLaunch,
    /// Backend Services (client credentials).
    BackendServices,
}

/// One problem with a token response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// A field the spec requires for this flow is missing.
    Missing(&'static str),
    /// `token_type` is Bearer, but written in neither `Bearer` nor `bearer`.
    TokenTypeCase {
        /// What the server sent.
        found: String,
        /// The flow checked.
        flow: Flow,
    },
    /// Backend Services servers SHOULD NOT issue refresh tokens.
    RefreshTokenForBackend,
    /// A deviation met while parsing.
    Deviation(Deviation),
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(field) => write!(f, "required field '{field}' is missing"),
            Self::TokenTypeCase { found, flow: Flow::AppLaunch } => write!(
                f,
                "token_type is \"{}\"; expected 'Bearer' (SMART App Launch)",
                escape_text(found)
            ),
            Self::TokenTypeCase { found, flow: Flow::BackendServices } => write!(
                f,
                "token_type is \"{}\"; expected 'bearer' (SMART Backend Services)",
                escape_text(found)
            ),
            Self::RefreshTokenForBackend => f.write_str(
                "a refresh_token was issued to a backend service (SMART Backend Services: servers SHOULD NOT)",
            ),
            Self::Deviation(deviation) => deviation.fmt(f),
        }
    }
}

/// The result of [`TokenResponse::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    findings: Vec<Finding>,
}

impl ValidationReport {
    /// Every problem found.
    #[must_use]
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Whether there were none.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.findings.is_empty()
    }
}
