//! Integration tests of smart-discovery: the spec's example document, every capability
//! predicate both ways, relative URL resolution, the HTTPS rule, the compliance report, the
//! legacy CapabilityStatement, the OpenID configuration, and garbage input.

mod capability_statement;
mod compliance;
mod endpoints;
mod garbage;
mod openid;
mod predicates;
mod well_known;

use std::cell::RefCell;

use http::{Response, StatusCode};
use serde_json::Value;
use smart_core::{FhirBaseUrl, TransportPolicy};
use smart_discovery::{DiscoveryError, SmartConfiguration};

/// The sample response of SMART App Launch 2.2,
/// <https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#example-response>.
const SPEC_EXAMPLE: &str = include_str!("../fixtures/smart-configuration.json");

/// A CapabilityStatement with all six `oauth-uris` endpoints.
const CAPABILITY_STATEMENT: &str = include_str!("../fixtures/capability-statement.json");

/// An OpenID provider configuration for the spec example's issuer.
const OPENID_CONFIGURATION: &str = include_str!("../fixtures/openid-configuration.json");

const BASE: &str = "https://ehr.example.com/fhir";

fn base() -> FhirBaseUrl {
    FhirBaseUrl::parse(BASE).expect("BASE is a valid FHIR base URL")
}

/// A 200 response with `body` and `Content-Type: application/json`.
fn ok(body: impl Into<Vec<u8>>) -> Response<Vec<u8>> {
    respond(StatusCode::OK, Some("application/json"), body)
}

fn respond(
    status: StatusCode,
    content_type: Option<&str>,
    body: impl Into<Vec<u8>>,
) -> Response<Vec<u8>> {
    let mut builder = Response::builder().status(status);
    if let Some(content_type) = content_type {
        builder = builder.header(http::header::CONTENT_TYPE, content_type);
    }
    builder
        .body(body.into())
        .expect("status and content type are valid")
}

/// The spec example as a JSON value, to edit.
fn spec_example() -> serde_json::Map<String, Value> {
    match serde_json::from_str(SPEC_EXAMPLE).expect("the fixture is JSON") {
        Value::Object(object) => object,
        _ => unreachable!("the fixture is an object"),
    }
}

/// Parses `document` as a well-known response for [`BASE`] under the strict policy.
fn parse_value(document: &Value) -> Result<SmartConfiguration, DiscoveryError> {
    parse_value_with(document, TransportPolicy::STRICT)
}

fn parse_value_with(
    document: &Value,
    policy: TransportPolicy,
) -> Result<SmartConfiguration, DiscoveryError> {
    smart_discovery::parse(&base(), &ok(document.to_string()), policy)
}

/// Parses `document`, which must be accepted.
fn configuration(document: &Value) -> SmartConfiguration {
    parse_value(document).expect("the document is accepted")
}

thread_local! {
    static LOG: RefCell<Vec<(log::Level, String)>> = const { RefCell::new(Vec::new()) };
}

/// Records log lines per thread, so that each test sees only its own.
struct ThreadLog;

impl log::Log for ThreadLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        LOG.with(|log| {
            log.borrow_mut()
                .push((record.level(), record.args().to_string()));
        });
    }

    fn flush(&self) {}
}

static LOGGER: ThreadLog = ThreadLog;

/// Runs `f` and returns what it logged on this thread.
fn capture_log<T>(f: impl FnOnce() -> T) -> (T, Vec<(log::Level, String)>) {
    // Only the first call installs the logger; later calls fail harmlessly.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Trace);
    LOG.with(|log| log.borrow_mut().clear());
    let value = f();
    let lines = LOG.with(|log| log.borrow_mut().drain(..).collect());
    (value, lines)
}
