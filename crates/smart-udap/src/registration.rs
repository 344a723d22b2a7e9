//! UDAP Dynamic Client Registration (UDAP Security STU2 §3): register, modify and cancel with
//! a signed software statement; sans-IO request builders and answer readers.

use std::sync::{Arc, Mutex, PoisonError};

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value};
use smart_core::json::{JsonObject, parse_object};
use smart_core::url::Url;
use smart_core::{ClientId, Clock, OsRandom, RandomSource, SystemClock, display_url, unix_seconds};
use smart_jwt_assertion::Algorithm;

use crate::credentials::{UdapCredentials, new_jti};
use crate::discovery::VerifiedUdapMetadata;
use crate::error::{RegistrationErrorCode, UdapError};
use crate::metadata::is_compact_jws;
use crate::registration_metadata::{Operation, RegistrationMetadata};

/// Lifetime of a software statement: 5 minutes (STU2 §3.1).
pub const SOFTWARE_STATEMENT_LIFETIME: u64 = 300;

smart_core::secret_string! {
    /// A signed software statement (STU2 §3.1). It authenticates the client for five
    /// minutes: `Debug` prints `SoftwareStatement([redacted])`.
    pub struct SoftwareStatement;
}

/// Builds the software statement: `metadata`'s fields plus `iss` = `sub` = `client_uri`
/// (exactly as given), `aud` = `registration_endpoint`, `iat` = now, `exp` = now + 300,
/// `jti`; signed by `credentials` with header `{"alg", "x5c"}`. The credentials are checked
/// first (validity at now, `client_uri` among the leaf's URI SANs).
///
/// # Errors
///
/// [`UdapError::InvalidSetting`] for a `client_uri` that is not an absolute URI;
/// [`UdapError::ClientCertificate`], [`UdapError::Sign`], [`UdapError::Random`].
pub fn software_statement(
    metadata: &RegistrationMetadata,
    client_uri: &str,
    registration_endpoint: &str,
    credentials: &UdapCredentials,
    algorithm: Algorithm,
    clock: &dyn Clock,
    rng: &mut dyn RandomSource,
) -> Result<SoftwareStatement, UdapError> {
    check_client_uri(client_uri)?;
    let now = clock.now();
    credentials.check(now, Some(client_uri))?;
    let iat = unix_seconds(now);
    let mut claims: JsonObject = metadata.fields().clone();
    claims.insert("iss".into(), Value::from(client_uri));
    claims.insert("sub".into(), Value::from(client_uri));
    claims.insert("aud".into(), Value::from(registration_endpoint));
    claims.insert("iat".into(), Value::from(iat));
    claims.insert(
        "exp".into(),
        Value::from(iat.saturating_add(SOFTWARE_STATEMENT_LIFETIME)),
    );
    claims.insert("jti".into(), Value::from(new_jti(rng)?));
    credentials
        .sign(&claims, algorithm)
        .map(SoftwareStatement::new)
}

/// A client URI: non-blank, absolute, with a host when http(s) (`did:` and other schemes are
/// accepted).
fn check_client_uri(client_uri: &str) -> Result<(), UdapError> {
    let bad = || UdapError::InvalidSetting {
        setting: "client_uri",
        reason: "valid: absolute URI string".to_owned(),
    };
    if client_uri.trim().is_empty() || client_uri.trim() != client_uri {
        return Err(bad());
    }
    let url = Url::parse(client_uri).map_err(|_| bad())?;
    if matches!(url.scheme(), "http" | "https") && url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(())
}

/// Registration requests for one client against one verified server: the same `client_uri`
/// and community register, then modify, then cancel (STU2 §3.3, §3.4).
///
/// ```no_run
/// # fn demo(verified: &smart_udap::VerifiedUdapMetadata, credentials: &smart_udap::UdapCredentials,
/// #         send: impl Fn(http::Request<Vec<u8>>) -> http::Response<Vec<u8>>) -> Result<(), smart_udap::UdapError> {
/// use serde_json::json;
/// use smart_udap::{UdapRegistration, read_registration};
///
/// let registration = UdapRegistration::new(verified, credentials, "https://app.example/client");
/// let metadata = json!({
///     "client_name": "B2B app",
///     "contacts": ["mailto:ops@app.example"],
///     "scope": "system/*.rs",
///     "grant_types": ["client_credentials"],
/// });
/// let request = registration.register_request(metadata.as_object().unwrap())?;
/// let client = read_registration(&send(request))?;
/// println!("client_id: {}", client.client_id().as_str());
/// # Ok(()) }
/// ```
pub struct UdapRegistration<'a> {
    verified: &'a VerifiedUdapMetadata,
    credentials: &'a UdapCredentials,
    client_uri: String,
    certifications: Option<Vec<String>>,
    algorithm: Option<Algorithm>,
    clock: Arc<dyn Clock>,
    rng: Arc<Mutex<dyn RandomSource + Send>>,
}

impl<'a> UdapRegistration<'a> {
    /// Registration for `client_uri` (a URI SAN of the credentials' leaf).
    #[must_use]
    pub fn new(
        verified: &'a VerifiedUdapMetadata,
        credentials: &'a UdapCredentials,
        client_uri: impl Into<String>,
    ) -> Self {
        Self {
            verified,
            credentials,
            client_uri: client_uri.into(),
            certifications: None,
            algorithm: None,
            clock: Arc::new(SystemClock),
            rng: Arc::new(Mutex::new(OsRandom)),
        }
    }

    /// Certifications (compact JWS strings, not decoded here) sent as `certifications`.
    #[must_use]
    pub fn with_certifications(mut self, certifications: Vec<String>) -> Self {
        self.certifications = Some(certifications);
        self
    }

    /// The software statement algorithm (it must fit the key and be advertised); by default
    /// the first compatible advertised one.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// The clock for `iat`/`exp` and the certificate validity checks.
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

    /// `POST {registration_endpoint}` registering (or modifying) the client.
    ///
    /// # Errors
    ///
    /// [`UdapError::NotConformant`], [`UdapError::RegistrationNotSupported`],
    /// [`UdapError::NoRs256Registration`], [`UdapError::InvalidRegistrationMetadata`] (the
    /// metadata or `certifications`), and the errors of [`software_statement`].
    pub fn register_request(&self, metadata: &JsonObject) -> Result<Request<Vec<u8>>, UdapError> {
        self.request(metadata, Operation::Register)
    }

    /// `POST {registration_endpoint}` cancelling the registration (`grant_types: []`).
    ///
    /// # Errors
    ///
    /// As [`UdapRegistration::register_request`].
    pub fn cancel_request(&self, metadata: &JsonObject) -> Result<Request<Vec<u8>>, UdapError> {
        self.request(metadata, Operation::Cancel)
    }

    fn request(
        &self,
        input: &JsonObject,
        operation: Operation,
    ) -> Result<Request<Vec<u8>>, UdapError> {
        let document = self.verified.metadata();
        let report = document.conformance();
        if !report.is_conformant() {
            report.log();
            return Err(UdapError::NotConformant {
                url: display_url(self.verified.well_known_url().as_str()),
            });
        }
        if !document.supports_dynamic_registration() {
            return Err(UdapError::RegistrationNotSupported);
        }
        let advertised = document
            .registration_endpoint_jwt_signing_alg_values_supported()
            .unwrap_or_default();
        if !advertised.contains(&"RS256") {
            return Err(UdapError::NoRs256Registration);
        }
        if let Some(certifications) = &self.certifications
            && !certifications.iter().all(|c| is_compact_jws(c))
        {
            return Err(UdapError::InvalidRegistrationMetadata {
                attribute: "certifications".into(),
                reason: "must be nil or an array of compact JWS strings",
            });
        }
        let required = document.udap_certifications_required().unwrap_or_default();
        if !required.is_empty() && self.certifications.as_ref().is_none_or(Vec::is_empty) {
            return Err(UdapError::InvalidRegistrationMetadata {
                attribute: "certifications".into(),
                reason: "must not be nil or empty when UDAP metadata advertises required certification URIs",
            });
        }
        let metadata = RegistrationMetadata::new(input, operation, document.transport())?;
        let algorithm = self
            .credentials
            .select_algorithm(self.algorithm, &advertised)?;
        let endpoint = self.verified.signed().registration_endpoint();
        let statement = {
            let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
            software_statement(
                &metadata,
                &self.client_uri,
                endpoint.as_str(),
                self.credentials,
                algorithm,
                self.clock.as_ref(),
                &mut *rng,
            )?
        };
        match operation {
            Operation::Register => {
                log::info!("Registering client via UDAP Dynamic Client Registration...");
            }
            Operation::Cancel => {
                log::info!(
                    "Cancelling client registration via UDAP Dynamic Client Registration..."
                );
            }
        }
        let mut body = Map::new();
        body.insert(
            "software_statement".into(),
            Value::from(statement.expose_secret()),
        );
        body.insert("udap".into(), Value::from("1"));
        if let Some(certifications) = &self.certifications {
            body.insert("certifications".into(), Value::from(certifications.clone()));
        }
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        Request::builder()
            .method(Method::POST)
            .uri(endpoint.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(bytes)
            .map_err(|_| UdapError::RequestUrl {
                url: display_url(endpoint.as_str()),
            })
    }
}

impl core::fmt::Debug for UdapRegistration<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Self {
            verified: _,
            credentials,
            client_uri,
            certifications,
            algorithm,
            clock: _,
            rng: _,
        } = self;
        f.debug_struct("UdapRegistration")
            .field("credentials", credentials)
            .field("client_uri", client_uri)
            .field("certifications", &certifications.as_ref().map(Vec::len))
            .field("algorithm", algorithm)
            .finish_non_exhaustive()
    }
}

/// What the server answered to a registration: the `client_id` and every other field.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    client_id: ClientId,
    response: JsonObject,
}

impl RegisteredClient {
    /// The `client_id` the server issued; use it with [`UdapClientAssertion`](crate::UdapClientAssertion).
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The registered `grant_types` (empty after a cancellation).
    #[must_use]
    pub fn grant_types(&self) -> Vec<&str> {
        self.response
            .get("grant_types")
            .and_then(crate::metadata::string_array)
            .unwrap_or_default()
    }

    /// The whole answer (minus the echoed `software_statement`).
    #[must_use]
    pub fn response(&self) -> &JsonObject {
        &self.response
    }
}

fn server_error(response: &Response<Vec<u8>>) -> Option<UdapError> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return None;
    }
    let body = parse_object(response.body()).ok()?;
    let code = body.get("error")?.as_str()?;
    Some(UdapError::Registration {
        status,
        code: RegistrationErrorCode::parse(code),
        description: body
            .get("error_description")
            .and_then(Value::as_str)
            .map(smart_core::clean_server_text),
    })
}

fn parse_client(response: &Response<Vec<u8>>) -> Result<RegisteredClient, UdapError> {
    let status = response.status();
    let bad = |reason| UdapError::RegistrationResponse { status, reason };
    let mut body =
        parse_object(response.body()).map_err(|_| bad("the body is not a usable JSON object"))?;
    body.remove("software_statement");
    let client_id = body
        .get("client_id")
        .and_then(Value::as_str)
        .and_then(|id| ClientId::parse(id).ok())
        .ok_or_else(|| bad("the response has no usable client_id"))?;
    Ok(RegisteredClient {
        client_id,
        response: body,
    })
}

/// Reads the answer to [`UdapRegistration::register_request`]: 200 (modified) or 201
/// (registered) with a `client_id`.
///
/// # Errors
///
/// [`UdapError::Registration`] with the typed code (`invalid_software_statement`,
/// `unapproved_software_statement`, ...) for an OAuth error answer;
/// [`UdapError::RegistrationResponse`] for another status or an unusable body.
pub fn read_registration(response: &Response<Vec<u8>>) -> Result<RegisteredClient, UdapError> {
    if let Some(error) = server_error(response) {
        return Err(error);
    }
    let status = response.status();
    if status != StatusCode::OK && status != StatusCode::CREATED {
        return Err(UdapError::RegistrationResponse {
            status,
            reason: "unexpected registration response status",
        });
    }
    parse_client(response)
}

/// Reads the answer to [`UdapRegistration::cancel_request`]: 2xx with a `client_id` and an
/// empty `grant_types` array.
///
/// # Errors
///
/// As [`read_registration`]; also when `grant_types` is not an empty array.
pub fn read_cancellation(response: &Response<Vec<u8>>) -> Result<RegisteredClient, UdapError> {
    if let Some(error) = server_error(response) {
        return Err(error);
    }
    let status = response.status();
    if !status.is_success() {
        return Err(UdapError::RegistrationResponse {
            status,
            reason: "unexpected cancellation response status",
        });
    }
    let client = parse_client(response)?;
    let empty = client
        .response
        .get("grant_types")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty);
    if !empty {
        return Err(UdapError::RegistrationResponse {
            status,
            reason: "cancellation response must include an empty grant_types array",
        });
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_uris() {
        for good in [
            "https://app.example/client",
            "did:web:app.example",
            "urn:x:y",
        ] {
            assert!(check_client_uri(good).is_ok(), "{good}");
        }
        for bad in ["", " ", "relative/path", "https://", " https://app.example"] {
            assert!(check_client_uri(bad).is_err(), "{bad:?}");
        }
    }

    fn response(status: u16, body: &str) -> Response<Vec<u8>> {
        Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[test]
    fn registration_answers() {
        let ok = read_registration(&response(201, r#"{"client_id":"c1","grant_types":["client_credentials"],"software_statement":"a.b.c"}"#)).unwrap();
        assert_eq!(ok.client_id().as_str(), "c1");
        assert_eq!(ok.grant_types(), ["client_credentials"]);
        assert!(!ok.response().contains_key("software_statement"));
        assert!(read_registration(&response(200, r#"{"client_id":"c1"}"#)).is_ok());
        assert!(matches!(
            read_registration(&response(202, r#"{"client_id":"c1"}"#)),
            Err(UdapError::RegistrationResponse {
                reason: "unexpected registration response status",
                ..
            })
        ));
        assert!(read_registration(&response(201, r"{}")).is_err());
        for (code, typed) in [
            (
                "invalid_software_statement",
                RegistrationErrorCode::InvalidSoftwareStatement,
            ),
            (
                "unapproved_software_statement",
                RegistrationErrorCode::UnapprovedSoftwareStatement,
            ),
        ] {
            let error = read_registration(&response(
                400,
                &format!(r#"{{"error":"{code}","error_description":"no"}}"#),
            ))
            .unwrap_err();
            assert!(
                matches!(&error, UdapError::Registration { code: c, .. } if *c == typed),
                "{error}"
            );
        }
    }

    #[test]
    fn cancellation_answers() {
        assert!(
            read_cancellation(&response(200, r#"{"client_id":"c1","grant_types":[]}"#)).is_ok()
        );
        assert!(matches!(
            read_cancellation(&response(
                200,
                r#"{"client_id":"c1","grant_types":["client_credentials"]}"#
            )),
            Err(UdapError::RegistrationResponse {
                reason: "cancellation response must include an empty grant_types array",
                ..
            })
        ));
        assert!(read_cancellation(&response(200, r#"{"client_id":"c1"}"#)).is_err());
        assert!(matches!(
            read_cancellation(&response(304, "")),
            Err(UdapError::RegistrationResponse {
                reason: "unexpected cancellation response status",
                ..
            })
        ));
    }
}
