//! Garbage in: every body that is not a usable JSON object is a typed error, nothing
//! panics, and no error repeats what the body said.

use std::error::Error;
use std::fmt::Write as _;

use http::{Response, StatusCode};
use smart_core::json::JsonError;
use smart_core::{IssuerUrl, TransportPolicy};
use smart_discovery::{DiscoveryError, capability_statement, openid};

use crate::{SPEC_EXAMPLE, base, ok, respond};

/// Planted in every garbage body; must never appear in an error.
const MARKER: &str = "MARKER-d41d8cd98f00b204";

/// A garbage case: its name, the response, and a check of the error.
type Case = (&'static str, Response<Vec<u8>>, fn(&DiscoveryError) -> bool);

/// Whether `error` is a body error whose reason passes `reason`.
fn body_error(error: &DiscoveryError, reason: fn(&JsonError) -> bool) -> bool {
    matches!(error, DiscoveryError::Body { reason: r, .. } if reason(r))
}

fn syntax(error: &DiscoveryError) -> bool {
    body_error(error, |r| matches!(r, JsonError::Syntax { .. }))
}

fn not_object(error: &DiscoveryError) -> bool {
    body_error(error, |r| matches!(r, JsonError::NotAnObject { .. }))
}

fn empty(error: &DiscoveryError) -> bool {
    body_error(error, |r| matches!(r, JsonError::Empty))
}

fn too_deep(error: &DiscoveryError) -> bool {
    body_error(error, |r| {
        matches!(r, JsonError::TooDeep | JsonError::Syntax { .. })
    })
}

fn duplicate(error: &DiscoveryError) -> bool {
    body_error(
        error,
        |r| matches!(r, JsonError::DuplicateKey { key } if key == "token_endpoint"),
    )
}

fn utf8(error: &DiscoveryError) -> bool {
    body_error(error, |r| matches!(r, JsonError::InvalidUtf8 { .. }))
}

fn status(error: &DiscoveryError) -> bool {
    matches!(error, DiscoveryError::Status { .. })
}

/// Each garbage body, with the response it arrives in and what the error must be.
fn garbage() -> Vec<Case> {
    let five_mb = "x".repeat(5 * 1024 * 1024);
    let deep = format!(
        "{{\"token_endpoint\": {}\"{MARKER}\"{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let deep_objects = format!(
        "{}\"{MARKER}\"{}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    let html = format!("<!DOCTYPE html><html><body><h1>{MARKER}</h1></body></html>");
    let mut invalid_utf8 = format!("{{\"token_endpoint\": \"{MARKER}").into_bytes();
    invalid_utf8.extend_from_slice(b"\xff\xfe\"}");

    vec![
        ("not JSON", ok(format!("{MARKER} is not JSON")), syntax),
        (
            "truncated JSON",
            ok(format!("{{\"token_endpoint\": \"{MARKER}")),
            syntax,
        ),
        ("a JSON array", ok(format!("[\"{MARKER}\"]")), not_object),
        ("a JSON string", ok(format!("\"{MARKER}\"")), not_object),
        ("null", ok("null"), not_object),
        ("an empty body", ok(""), empty),
        ("whitespace", ok(" \r\n\t "), empty),
        ("10 000 nested arrays", ok(deep), too_deep),
        ("10 000 nested objects", ok(deep_objects), too_deep),
        (
            "a 5 MB string",
            ok(format!("\"{MARKER}{five_mb}\"")),
            not_object,
        ),
        (
            "duplicate keys",
            ok(format!(
                "{{\"token_endpoint\": \"https://a.example/{MARKER}\", \"token_endpoint\": \"https://b.example/{MARKER}\"}}"
            )),
            duplicate,
        ),
        ("invalid UTF-8", ok(invalid_utf8), utf8),
        (
            "HTML with status 200",
            respond(StatusCode::OK, Some("text/html"), html.clone()),
            syntax,
        ),
        (
            "404 with HTML",
            respond(StatusCode::NOT_FOUND, Some("text/html"), html.clone()),
            status,
        ),
        (
            "500 with HTML",
            respond(StatusCode::INTERNAL_SERVER_ERROR, Some("text/html"), html),
            status,
        ),
        (
            "502 with a JSON error",
            respond(
                StatusCode::BAD_GATEWAY,
                Some("application/json"),
                format!("{{\"error\": \"{MARKER}\"}}"),
            ),
            status,
        ),
    ]
}

/// The error, its `Debug`, and every source in its chain, as text.
fn all_text(error: &DiscoveryError) -> String {
    let mut text = format!("{error}\n{error:?}\n");
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, "{cause}\n{cause:?}\n");
        source = cause.source();
    }
    text
}

fn check(
    document: &str,
    name: &str,
    error: &DiscoveryError,
    expected: fn(&DiscoveryError) -> bool,
) {
    assert!(expected(error), "{document}, {name}: unexpected {error:?}");
    let text = all_text(error);
    assert!(
        !text.contains(MARKER),
        "{document}, {name}: the error echoes the body: {text}"
    );
    assert!(
        text.len() < 2_000,
        "{document}, {name}: an error of {} bytes",
        text.len()
    );
}

#[test]
fn well_known_garbage() {
    for (name, response, expected) in garbage() {
        let error =
            smart_discovery::parse(&base(), &response, TransportPolicy::STRICT).unwrap_err();
        check("smart-configuration", name, &error, expected);
        assert!(
            error
                .to_string()
                .contains("/.well-known/smart-configuration"),
            "{name}: {error}"
        );
    }
}

#[test]
fn capability_statement_garbage() {
    for (name, response, expected) in garbage() {
        let error =
            capability_statement::parse(&base(), &response, TransportPolicy::STRICT).unwrap_err();
        check("CapabilityStatement", name, &error, expected);
        assert!(error.to_string().contains("/metadata"), "{name}: {error}");
    }
}

#[test]
fn openid_garbage() {
    let issuer = IssuerUrl::parse("https://ehr.example.com").unwrap();
    for (name, response, expected) in garbage() {
        let error = openid::parse(&issuer, &response, TransportPolicy::STRICT).unwrap_err();
        check("openid-configuration", name, &error, expected);
    }
}

#[test]
fn the_body_error_says_what_was_wrong() {
    let response = respond(
        StatusCode::OK,
        Some("text/html; charset=utf-8"),
        "<html></html>",
    );
    let error = smart_discovery::parse(&base(), &response, TransportPolicy::STRICT).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("not a usable JSON object"), "{text}");
    assert!(text.contains("text/html"), "{text}");
    let reason = error.source().unwrap().to_string();
    assert!(reason.contains("not valid JSON"), "{reason}");
}

#[test]
fn huge_values_inside_a_valid_document_are_fine() {
    let mut document: serde_json::Value = serde_json::from_str(SPEC_EXAMPLE).unwrap();
    let big = "y".repeat(5 * 1024 * 1024);
    document["x-big"] = serde_json::json!(big.clone());
    document["management_endpoint"] = serde_json::json!(format!("http://ehr.example.com/{big}"));
    let configuration =
        smart_discovery::parse(&base(), &ok(document.to_string()), TransportPolicy::STRICT)
            .unwrap();
    assert_eq!(
        configuration
            .extension("x-big")
            .and_then(|v| v.as_str())
            .map(str::len),
        Some(big.len())
    );
    assert!(configuration.management_endpoint().is_none());
    // The dropped URL is shortened in the finding.
    let finding = configuration.findings()[0].to_string();
    assert!(finding.len() < 1_000, "{}", finding.len());

    // A huge insecure token endpoint: the error is short too.
    document["token_endpoint"] = serde_json::json!(format!("http://ehr.example.com/{big}"));
    let error = smart_discovery::parse(&base(), &ok(document.to_string()), TransportPolicy::STRICT)
        .unwrap_err();
    // Four mentions of a URL cut to 300 characters, not 5 MB.
    assert!(all_text(&error).len() < 4_000);
}

/// Deterministic mutations of the spec example: whatever comes out, nothing panics.
#[test]
fn mutated_documents_never_panic() {
    let original = SPEC_EXAMPLE.as_bytes();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let interesting = b"{}[]\",:\\/ \x00\xffhttp0-";
    let policies = [
        TransportPolicy::STRICT,
        TransportPolicy::ALLOW_INSECURE_LOCALHOST,
    ];
    for round in 0..3_000 {
        let mut body = original.to_vec();
        for _ in 0..=(next() % 4) {
            let at = usize::try_from(next() % body.len() as u64).unwrap();
            let byte = interesting[usize::try_from(next() % interesting.len() as u64).unwrap()];
            match next() % 3 {
                0 => body[at] = byte,
                1 => {
                    body.remove(at);
                }
                _ => body.insert(at, byte),
            }
        }
        let response = ok(body);
        let policy = policies[round % 2];
        if let Ok(configuration) = smart_discovery::parse(&base(), &response, policy) {
            let _ = configuration.compliance();
            let _ = serde_json::to_string(&configuration).unwrap();
        }
        let _ = capability_statement::parse(&base(), &response, policy);
    }
}

/// Whether `text` holds a raw control character that could start a forged log line.
fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

#[test]
fn a_duplicate_key_cannot_inject_a_log_line() {
    let key = format!("{MARKER}\nERROR forged log line\u{1b}[2J");
    let key_json = serde_json::to_string(&key).unwrap();
    let body = format!("{{{key_json}: 1, {key_json}: 2}}");
    let error = smart_discovery::parse(&base(), &ok(body), TransportPolicy::STRICT).unwrap_err();
    assert!(
        body_error(&error, |r| matches!(r, JsonError::DuplicateKey { .. })),
        "{error:?}"
    );
    let text = all_text(&error);
    // The key is shown, escaped, so the line is still one line.
    assert!(text.contains("\\nERROR forged log line"), "{text}");
    assert!(!text.contains("\nERROR"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    let shown = format!("{error}");
    assert!(!has_control(&shown), "{shown:?}");
    let reason = error.source().unwrap().to_string();
    assert!(!has_control(&reason), "{reason:?}");
}

#[test]
fn urls_with_control_characters_cannot_inject_a_log_line() {
    let injected = "https://ehr.example.com/token\nINFO login ok for admin";
    // A credential endpoint: a hard error, shown without the newline.
    let mut document: serde_json::Value = serde_json::from_str(SPEC_EXAMPLE).unwrap();
    document["token_endpoint"] = serde_json::json!(injected);
    let error = smart_discovery::parse(&base(), &ok(document.to_string()), TransportPolicy::STRICT)
        .unwrap_err();
    let DiscoveryError::UnusableEndpoint {
        endpoint, source, ..
    } = &error
    else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(source.problem(), &smart_core::UrlProblem::ControlCharacter);
    assert!(!has_control(endpoint), "{endpoint:?}");
    let text = all_text(&error);
    assert!(!text.contains("\nINFO"), "{text}");

    // A tab inside, which the `url` crate would silently remove: refused, not rewritten.
    document["token_endpoint"] = serde_json::json!("https://ehr.example.com/to\tken");
    let error = smart_discovery::parse(&base(), &ok(document.to_string()), TransportPolicy::STRICT)
        .unwrap_err();
    assert!(
        matches!(&error, DiscoveryError::UnusableEndpoint { source, .. }
            if source.problem() == &smart_core::UrlProblem::ControlCharacter),
        "{error:?}"
    );

    // A link and a relative reference: dropped with findings that hold no control character.
    let mut document: serde_json::Value = serde_json::from_str(SPEC_EXAMPLE).unwrap();
    document["management_endpoint"] = serde_json::json!(injected);
    document["user_access_brand_bundle"] = serde_json::json!("brands\n.json");
    let configuration =
        smart_discovery::parse(&base(), &ok(document.to_string()), TransportPolicy::STRICT)
            .unwrap_or_else(|error| panic!("{error}"));
    assert!(configuration.management_endpoint().is_none());
    assert!(configuration.user_access_brand_bundle().is_none());
    assert!(!configuration.findings().is_empty());
    for finding in configuration.findings() {
        let text = format!("{finding}\n{finding:?}");
        assert!(!text.contains("\nINFO"), "{text}");
        assert!(!has_control(&finding.to_string()), "{finding}");
    }
}

#[test]
fn endpoints_with_userinfo_are_refused_and_links_with_it_dropped() {
    for field in [
        "token_endpoint",
        "authorization_endpoint",
        "introspection_endpoint",
    ] {
        for url in [
            "https://user:hunter2@ehr.example.com/x",
            "https://user@ehr.example.com/x",
        ] {
            let mut document: serde_json::Value = serde_json::from_str(SPEC_EXAMPLE).unwrap();
            document[field] = serde_json::json!(url);
            let error =
                smart_discovery::parse(&base(), &ok(document.to_string()), TransportPolicy::STRICT)
                    .unwrap_err();
            let DiscoveryError::UnusableEndpoint {
                field: named,
                endpoint,
                source,
                ..
            } = &error
            else {
                panic!("{field} {url}: unexpected {error:?}");
            };
            assert_eq!(*named, field);
            assert_eq!(source.problem(), &smart_core::UrlProblem::Userinfo);
            let text = all_text(&error);
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!endpoint.contains("hunter2"), "{endpoint}");
            assert!(
                text.contains("carries a user name or password (user:password@ before the host), which an endpoint must not"),
                "{text}"
            );
        }
    }
    // A link that never receives credentials: dropped, with a finding naming the field.
    let mut document: serde_json::Value = serde_json::from_str(SPEC_EXAMPLE).unwrap();
    document["management_endpoint"] = serde_json::json!("https://u:hunter2@ehr.example.com/m");
    let configuration =
        smart_discovery::parse(&base(), &ok(document.to_string()), TransportPolicy::STRICT)
            .unwrap_or_else(|error| panic!("{error}"));
    assert!(configuration.management_endpoint().is_none());
    let report = configuration.compliance().to_string();
    assert!(report.contains("ignored 'management_endpoint' `https://u:redacted@ehr.example.com/m`: the URL carries a user name or password"), "{report}");
    assert!(!report.contains("hunter2"), "{report}");
}

#[test]
fn a_compressed_document_is_refused_by_name() {
    let response = Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b, 0x08, 0x00])
        .unwrap();
    let error = smart_discovery::parse(&base(), &response, TransportPolicy::STRICT).unwrap_err();
    assert!(
        all_text(&error).contains(
            "the answer is compressed (Content-Encoding: gzip); compressed answers are not accepted"
        ),
        "{}",
        all_text(&error)
    );
}
