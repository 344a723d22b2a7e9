//! Token, error, introspection and revocation answers in real servers' shapes.

use std::time::Duration;

use smart_core::{FixedClock, unix_seconds};
use smart_token::scope::ScopeSet;
use smart_token::{
    Deviation, ErrorCode, Finding, Flow, IntrospectionResponse, Operation, RefreshToken,
    TokenError, TokenResponse, revocation_response,
};

const NOW: u64 = 1_700_000_000;

fn answer(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn parse(body: &str) -> Result<TokenResponse, TokenError> {
    TokenResponse::from_response(&answer(200, body), &FixedClock::from_unix_seconds(NOW))
}

#[test]
fn spec_example_with_launch_context() {
    // The shape of the SMART App Launch 2.2 example (app-launch.html#response-5).
    let token = parse(
        r#"{
          "access_token": "i8hweunweunweofiwweoijewiwe",
          "token_type": "Bearer",
          "expires_in": 3600,
          "scope": "patient/Observation.rs patient/Patient.rs",
          "intent": "client-ui-name",
          "patient":  "123",
          "encounter": "456",
          "fhirContext": [
            {"reference": "Appointment/789"},
            {"canonical": "https://example.org/Questionnaire/q|1.0", "role": "questionnaire-render"},
            {"identifier": {"system": "urn:x", "value": "7"}, "type": "DiagnosticReport"}
          ],
          "need_patient_banner": true,
          "smart_style_url": "https://ehr/styles/smart_v1.json",
          "tenant": "t-1",
          "authorization_details": [{"type": "smart_on_fhir", "locations": ["https://fhir.example"]}],
          "https://vendor.example/extension": {"x": 1},
          "__private": "kept"
        }"#,
    )
    .unwrap();
    assert_eq!(
        token.access_token().expose_secret(),
        "i8hweunweunweofiwweoijewiwe"
    );
    assert_eq!(token.token_type(), Some("Bearer"));
    assert_eq!(token.expires_in(), Some(3600));
    assert_eq!(unix_seconds(token.expires_at().unwrap()), NOW + 3600);
    assert_eq!(
        token.scope().unwrap().to_string(),
        "patient/Observation.rs patient/Patient.rs"
    );
    let context = token.context();
    assert_eq!(context.patient(), Some("123"));
    assert_eq!(context.encounter(), Some("456"));
    assert_eq!(context.intent(), Some("client-ui-name"));
    assert_eq!(context.need_patient_banner(), Some(true));
    assert_eq!(
        context.smart_style_url(),
        Some("https://ehr/styles/smart_v1.json")
    );
    assert_eq!(context.tenant(), Some("t-1"));
    let items = context.fhir_context();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].reference(), Some("Appointment/789"));
    assert_eq!(items[0].role(), "launch", "role defaults to launch");
    assert_eq!(
        items[1].canonical(),
        Some("https://example.org/Questionnaire/q|1.0")
    );
    assert_eq!(items[1].role(), "questionnaire-render");
    assert_eq!(items[2].resource_type(), Some("DiagnosticReport"));
    assert_eq!(items[2].identifier().unwrap()["value"], "7");
    assert!(token.authorization_details().unwrap().is_array());
    assert_eq!(token.extra()["https://vendor.example/extension"]["x"], 1);
    assert_eq!(token.extra()["__private"], "kept");
    assert!(token.refresh_token().is_none());
    assert!(token.deviations().is_empty(), "{:?}", token.deviations());
    assert!(token.validate(Flow::AppLaunch).is_valid());
}

#[test]
fn real_server_shapes_are_accepted_and_reported() {
    let token = parse(
        r#"{"access_token": "at", "token_type": "bearer", "expires_in": "3599",
            "scope": ["launch/patient", "patient/*.read"], "refresh_token": "rt"}"#,
    )
    .unwrap();
    assert_eq!(token.token_type(), Some("bearer"));
    assert_eq!(token.expires_in(), Some(3599));
    assert_eq!(
        token.scope().unwrap().to_string(),
        "launch/patient patient/*.read"
    );
    assert_eq!(token.refresh_token().unwrap().expose_secret(), "rt");
    assert_eq!(
        token.deviations(),
        &[Deviation::ExpiresInString, Deviation::ScopeArray]
    );

    let token =
        parse(r#"{"access_token": "at", "token_type": "BEARER", "expires_in": 3600.0}"#).unwrap();
    assert_eq!(token.expires_in(), Some(3600));
    assert_eq!(token.deviations(), &[Deviation::ExpiresInNotInteger]);
    let report = token.validate(Flow::AppLaunch);
    assert!(report.findings().contains(&Finding::Missing("scope")));
    assert!(
        report
            .findings()
            .iter()
            .any(|f| matches!(f, Finding::TokenTypeCase { .. }))
    );
}

#[test]
fn expires_in_edge_cases() {
    for (value, reason) in [
        ("-5", "negative"),
        ("\"-5\"", "negative"),
        ("1.5", "fractional"),
        ("1e300", "too large"),
        ("\"99999999999999999999999\"", "too large"),
        ("\"soon\"", "not a number"),
        ("true", "not a number"),
        ("18446744073709551615", "too large"),
    ] {
        let token = parse(&format!(
            r#"{{"access_token": "at", "token_type": "Bearer", "expires_in": {value}}}"#
        ))
        .unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(token.expires_in(), None, "{value}");
        assert_eq!(token.expires_at(), None, "{value}");
        assert!(
            token
                .deviations()
                .contains(&Deviation::ExpiresInUnusable { reason }),
            "{value}: {:?}",
            token.deviations()
        );
    }
    let token =
        parse(r#"{"access_token": "at", "token_type": "Bearer", "expires_in": 0}"#).unwrap();
    assert!(token.expires_within(Duration::ZERO, &FixedClock::from_unix_seconds(NOW)));
}

#[test]
fn expiry_helpers() {
    let token =
        parse(r#"{"access_token": "at", "token_type": "Bearer", "expires_in": 300}"#).unwrap();
    assert!(!token.expires_within(Duration::from_secs(60), &FixedClock::from_unix_seconds(NOW)));
    assert!(token.expires_within(
        Duration::from_secs(60),
        &FixedClock::from_unix_seconds(NOW + 250)
    ));
    let unknown = parse(r#"{"access_token": "at", "token_type": "Bearer"}"#).unwrap();
    assert!(!unknown.expires_within(Duration::from_secs(60), &FixedClock::from_unix_seconds(NOW)));
}

#[test]
fn missing_access_token_lists_field_names_not_values() {
    let err =
        parse(r#"{"token_type": "Bearer", "refresh_token": "SECRET-RT", "patient": "SECRET-P"}"#)
            .unwrap_err();
    match &err {
        TokenError::MissingField {
            field,
            received_fields,
            status,
            ..
        } => {
            assert_eq!(*field, "access_token");
            assert_eq!(*status, 200);
            let mut names = received_fields.clone();
            names.sort();
            assert_eq!(names, ["patient", "refresh_token", "token_type"]);
        }
        other => panic!("{other:?}"),
    }
    let text = format!("{err} {err:?}");
    assert!(!text.contains("SECRET"), "{text}");
    assert!(text.contains("received fields: "), "{text}");

    for body in [
        r#"{"access_token": ""}"#,
        r#"{"access_token": 42}"#,
        r#"{"access_token": null}"#,
    ] {
        assert!(
            matches!(parse(body), Err(TokenError::MissingField { .. })),
            "{body}"
        );
    }
}

#[test]
fn non_bearer_tokens_are_refused() {
    let err = parse(r#"{"access_token": "at", "token_type": "DPoP"}"#).unwrap_err();
    assert!(
        matches!(&err, TokenError::UnsupportedTokenType { token_type } if token_type == "DPoP")
    );
    let token = parse(r#"{"access_token": "at"}"#).unwrap();
    assert_eq!(token.deviations(), &[Deviation::TokenTypeMissing]);
}

#[test]
fn access_tokens_that_cannot_be_sent_are_refused() {
    let err = parse(r#"{"access_token": "has space", "token_type": "Bearer"}"#).unwrap_err();
    assert!(matches!(
        err,
        TokenError::UnusableToken {
            field: "access_token"
        }
    ));
}

#[test]
fn unusable_bodies_are_typed_errors() {
    for (body, needle) in [
        ("", "empty"),
        ("<html><body>Login</body></html>", "not valid JSON"),
        ("[]", "array"),
        (r#"{"access_token": "a", "access_token": "b"}"#, "twice"),
        ("\"at\"", "string"),
    ] {
        let err = parse(body).unwrap_err();
        assert!(
            matches!(err, TokenError::Body { status: 200, .. }),
            "{body}: {err:?}"
        );
        assert!(err.to_string().contains(needle), "{body}: {err}");
    }
    let invalid_utf8 = http::Response::builder()
        .status(200)
        .body(b"{\"access_token\": \"\xff\"}".to_vec())
        .unwrap();
    assert!(matches!(
        TokenResponse::from_response(&invalid_utf8, &FixedClock::from_unix_seconds(NOW)),
        Err(TokenError::Body { .. })
    ));
}

#[test]
fn error_bodies_as_json_html_and_empty() {
    let json = TokenResponse::parse(&answer(
        400,
        r#"{"error": "invalid_grant", "error_description": "Code expired", "error_uri": "https://ehr/errors#grant"}"#,
    ))
    .unwrap_err();
    let TokenError::OAuth(oauth) = &json else {
        panic!("{json:?}")
    };
    assert_eq!(oauth.status(), 400);
    assert_eq!(oauth.operation(), Operation::Token);
    assert_eq!(oauth.error(), Some(&ErrorCode::InvalidGrant));
    assert_eq!(oauth.error_description(), Some("Code expired"));
    assert_eq!(oauth.error_uri(), Some("https://ehr/errors#grant"));
    assert!(json.to_string().starts_with("token request failed — HTTP 400 — invalid_grant — Code expired (see https://ehr/errors#grant)"));

    // A body that is not JSON is shown as a short cleaned excerpt (issue 20: an error page
    // said what was wrong), with whatever secret of the request it repeats redacted.
    let html = TokenResponse::parse(&answer(502, "<html>Bad Gateway SECRET</html>")).unwrap_err();
    assert_eq!(
        html.to_string(),
        "token request failed — HTTP 502 — the server said: \"Bad Gateway SECRET\""
    );
    let mut sent = smart_core::Redactions::new();
    sent.secret("SECRET");
    let html = TokenResponse::from_response_redacting(
        &answer(502, "<html>Bad Gateway SECRET</html>"),
        &smart_core::SystemClock,
        &sent,
    )
    .unwrap_err();
    assert_eq!(
        html.to_string(),
        "token request failed — HTTP 502 — the server said: \"Bad Gateway [redacted]\""
    );

    let empty = TokenResponse::parse(&answer(401, "")).unwrap_err();
    let TokenError::OAuth(oauth) = &empty else {
        panic!("{empty:?}")
    };
    assert_eq!(oauth.status(), 401);
    assert_eq!(oauth.error(), None);

    let vendor = TokenResponse::parse(&answer(400, r#"{"error": "vendor_specific"}"#)).unwrap_err();
    let TokenError::OAuth(oauth) = &vendor else {
        panic!()
    };
    assert_eq!(
        oauth.error(),
        Some(&ErrorCode::Unknown("vendor_specific".to_owned()))
    );
}

#[test]
fn legacy_and_broken_fhir_context() {
    let token = parse(
        r#"{"access_token": "at", "token_type": "Bearer",
            "fhirContext": ["Appointment/1", {"role": "x"}, 7, {"reference": 5, "canonical": "c"}]}"#,
    )
    .unwrap();
    let items = token.context().fhir_context();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].reference(), Some("Appointment/1"));
    assert_eq!(items[1].canonical(), Some("c"));
    let deviations = token.deviations();
    assert!(deviations.contains(&Deviation::FhirContextString { index: 0 }));
    assert!(deviations.contains(&Deviation::FhirContextItemEmpty { index: 1 }));
    assert!(
        deviations
            .iter()
            .any(|d| matches!(d, Deviation::WrongType { field, .. } if field == "fhirContext[2]"))
    );
    assert!(deviations.iter().any(
        |d| matches!(d, Deviation::WrongType { field, .. } if field == "fhirContext[3].reference")
    ));
}

#[test]
fn wrong_types_are_deviations_not_failures() {
    let token = parse(
        r#"{"access_token": "at", "token_type": "Bearer", "patient": 123, "need_patient_banner": "false",
            "refresh_token": {"x": 1}, "scope": "patient/Observation.rx openid"}"#,
    )
    .unwrap();
    assert_eq!(token.context().patient(), None);
    assert_eq!(token.context().need_patient_banner(), Some(false));
    assert!(token.refresh_token().is_none());
    assert_eq!(token.scope().unwrap().len(), 2, "the odd scope is kept");
    let deviations = token.deviations();
    assert!(deviations.contains(&Deviation::BooleanString {
        field: "need_patient_banner"
    }));
    assert!(
        deviations
            .iter()
            .any(|d| matches!(d, Deviation::InvalidScope(_)))
    );
    assert!(deviations.iter().any(|d| matches!(d, Deviation::WrongType { field, found: "object", .. } if field == "refresh_token")));
}

#[test]
fn backend_services_validation() {
    let token = parse(r#"{"access_token": "at", "token_type": "bearer", "scope": "system/*.rs", "refresh_token": "rt"}"#).unwrap();
    let report = token.validate(Flow::BackendServices);
    assert_eq!(
        report.findings(),
        &[
            Finding::Missing("expires_in"),
            Finding::RefreshTokenForBackend
        ]
    );
    let app = token.validate(Flow::AppLaunch);
    assert!(app.is_valid());
}

#[test]
fn refresh_without_rotation_keeps_the_old_token() {
    let mut token = parse(r#"{"access_token": "at2", "token_type": "Bearer"}"#).unwrap();
    token.keep_refresh_token(Some(&RefreshToken::new("rt-old")));
    assert_eq!(token.refresh_token().unwrap().expose_secret(), "rt-old");
    let mut rotated =
        parse(r#"{"access_token": "at3", "token_type": "Bearer", "refresh_token": "rt-new"}"#)
            .unwrap();
    rotated.keep_refresh_token(Some(&RefreshToken::new("rt-old")));
    assert_eq!(rotated.refresh_token().unwrap().expose_secret(), "rt-new");
}

#[test]
fn missing_scope_can_be_assumed_from_the_request() {
    let mut token = parse(r#"{"access_token": "at", "token_type": "Bearer"}"#).unwrap();
    token.assume_scope(&ScopeSet::parse("system/*.rs").unwrap());
    assert_eq!(token.scope().unwrap().to_string(), "system/*.rs");
}

#[test]
fn debug_redacts_tokens() {
    let token = parse(r#"{"access_token": "AT-SECRET", "token_type": "Bearer", "refresh_token": "RT-SECRET", "id_token": "ID-SECRET"}"#).unwrap();
    let text = format!("{token:?} {token:#?}");
    assert!(!text.contains("SECRET"), "{text}");
}

#[test]
fn introspection_answers() {
    let active = IntrospectionResponse::from_response(&answer(
        200,
        r#"{"active": true, "scope": "launch/patient patient/*.rs", "client_id": "app", "exp": 1700000300,
            "iat": 1700000000, "sub": "u1", "iss": "https://ehr", "aud": ["https://fhir"], "fhirUser": "Practitioner/1",
            "patient": "p1", "token_type": "Bearer", "vendor": 1}"#,
    ))
    .unwrap();
    assert!(active.active());
    assert_eq!(active.scope().unwrap().len(), 2);
    assert_eq!(active.exp(), Some(1_700_000_300));
    assert_eq!(active.aud(), &["https://fhir".to_owned()]);
    assert_eq!(active.fhir_user(), Some("Practitioner/1"));
    assert_eq!(active.context().patient(), Some("p1"));
    assert_eq!(active.extra()["vendor"], 1);

    let inactive =
        IntrospectionResponse::from_response(&answer(200, r#"{"active": false}"#)).unwrap();
    assert!(!inactive.active());
    assert_eq!(inactive.to_string(), "inactive");

    let missing =
        IntrospectionResponse::from_response(&answer(200, r#"{"scope": "x"}"#)).unwrap_err();
    assert!(matches!(
        missing,
        TokenError::MissingField {
            field: "active",
            ..
        }
    ));
    let denied =
        IntrospectionResponse::from_response(&answer(401, r#"{"error": "invalid_token"}"#))
            .unwrap_err();
    assert!(
        denied
            .to_string()
            .starts_with("introspection request failed — HTTP 401 — invalid_token")
    );
}

#[test]
fn revocation_answers() {
    revocation_response(&answer(200, "")).unwrap();
    revocation_response(&answer(200, "<html>ok</html>")).unwrap();
    let err =
        revocation_response(&answer(400, r#"{"error": "unsupported_token_type"}"#)).unwrap_err();
    let TokenError::OAuth(oauth) = &err else {
        panic!()
    };
    assert_eq!(oauth.error(), Some(&ErrorCode::UnsupportedTokenType));
    assert_eq!(oauth.operation(), Operation::Revocation);
}

#[test]
fn empty_strings_count_as_absent_with_a_deviation() {
    let token = parse(
        r#"{"access_token": "at", "token_type": "", "scope": " ", "refresh_token": "", "id_token": "",
            "fhirContext": [{"reference": "Patient/1", "identifier": "urn:x|7"}, {"identifier": 7}]}"#,
    )
    .unwrap();
    assert_eq!(token.token_type(), None);
    // An empty scope is an empty grant, not "the server did not say".
    assert_eq!(token.scope(), Some(&ScopeSet::new()));
    assert!(token.refresh_token().is_none());
    assert!(token.id_token().is_none());
    let deviations = token.deviations();
    for field in ["token_type", "scope", "refresh_token", "id_token"] {
        assert!(
            deviations.contains(&Deviation::EmptyString { field }),
            "{field}: {deviations:?}"
        );
    }
    assert!(deviations.contains(&Deviation::TokenTypeMissing));
    // A non-object identifier is reported, not dropped silently.
    assert!(
        deviations.contains(&Deviation::WrongType {
            field: "fhirContext[0].identifier".to_owned(),
            expected: "object",
            found: "string",
        }),
        "{deviations:?}"
    );
    assert!(deviations.contains(&Deviation::WrongType {
        field: "fhirContext[1].identifier".to_owned(),
        expected: "object",
        found: "number",
    }));
    assert_eq!(token.context().fhir_context().len(), 1);
    assert!(
        Deviation::EmptyString {
            field: "refresh_token"
        }
        .to_string()
        .contains("treated as absent")
    );
    assert!(
        Deviation::EmptyString { field: "scope" }
            .to_string()
            .contains("no scopes granted")
    );

    // validate() reports the empty required fields as missing, like safire's `present?`.
    let report = token.validate(Flow::AppLaunch);
    let findings = report.findings();
    assert!(
        findings.contains(&Finding::Missing("scope")),
        "{findings:?}"
    );
    assert!(
        findings.contains(&Finding::Missing("token_type")),
        "{findings:?}"
    );

    // An empty scope the server sent is not filled in from the request: that would read
    // "nothing granted" as "everything requested".
    let mut token = token;
    let requested: ScopeSet = "patient/*.rs".parse().unwrap();
    token.assume_scope(&requested);
    assert_eq!(token.scope(), Some(&ScopeSet::new()));
}

#[test]
fn an_empty_scope_array_is_an_empty_grant_not_the_requested_one() {
    let mut token =
        parse(r#"{"access_token": "at", "token_type": "Bearer", "scope": []}"#).unwrap();
    assert_eq!(token.scope(), Some(&ScopeSet::new()));
    assert!(
        token
            .deviations()
            .contains(&Deviation::EmptyString { field: "scope" })
    );
    token.assume_scope(&"patient/*.rs".parse().unwrap());
    assert_eq!(token.scope(), Some(&ScopeSet::new()));
    // Left out entirely, the scope is the requested one (RFC 6749 §5.1).
    let mut token = parse(r#"{"access_token": "at", "token_type": "Bearer"}"#).unwrap();
    let requested: ScopeSet = "patient/*.rs".parse().unwrap();
    token.assume_scope(&requested);
    assert_eq!(token.scope(), Some(&requested));
}

#[test]
fn a_compressed_answer_is_refused_by_name() {
    let gzip = vec![0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03];
    let response = http::Response::builder()
        .status(200)
        .header("content-encoding", "gzip")
        .body(gzip.clone())
        .unwrap();
    let error = TokenResponse::parse(&response).unwrap_err();
    assert_eq!(
        error.to_string(),
        "token request failed — HTTP 200: the response is not a usable JSON object (the answer is compressed (Content-Encoding: gzip); compressed answers are not accepted: the server must answer uncompressed (the client sends no Accept-Encoding))"
    );
    let introspection = IntrospectionResponse::from_response(&response).unwrap_err();
    assert!(
        introspection.to_string().contains("Content-Encoding: gzip"),
        "{introspection}"
    );
    // identity is no compression.
    let response = http::Response::builder()
        .status(200)
        .header("content-encoding", "Identity")
        .body(br#"{"access_token": "a", "token_type": "Bearer"}"#.to_vec())
        .unwrap();
    TokenResponse::parse(&response).unwrap();
}
