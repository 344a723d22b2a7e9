//! The table: one line per hostile answer, each run against every flow
//! (`cases::<name>` is the test that proves the row of `docs/security.md`).
//!
//! A row is `name: |ctx| answer => expectation;`. The answer is built per request from
//! [`Ctx`] (the path it is served on and the second server's port); the expectation says what
//! each flow must make of it (see [`Expect`]).

use smart_client::token::Deviation;

use crate::expect::{Expect, Json, MARKER, TOO_MANY};
use crate::flows::CAP;
use crate::server::Answer;
use crate::{Ctx, run_case};

const NOT_HTTPS: &str =
    "the target is not https:// (or loopback http:// with allow_insecure_localhost)";
const GIB: u64 = 1024 * 1024 * 1024;
const TEN_MB: u64 = 10_000_000;

/// A token and introspection answer with `value` as both `expires_in` and `exp`.
fn lenient(value: &str) -> Answer {
    Answer::json(
        200,
        format!(
            r#"{{"access_token": "at-1", "token_type": "Bearer", "active": true, "expires_in": {value}, "exp": {value}}}"#
        ),
    )
}

/// A JSON object of exactly the cap's size, without `access_token` or `active`.
fn cap_sized_object() -> Vec<u8> {
    let mut body = br#"{"token_type": "Bearer""#.to_vec();
    body.resize(usize::try_from(CAP).unwrap() - 1, b' ');
    body.push(b'}');
    body
}

fn nested(open: &str, close: &str) -> String {
    format!(
        r#"{{"access_token": "at-1", "active": true, "a": {}{}}}"#,
        open.repeat(10_000),
        close.repeat(10_000)
    )
}

fn other_https(ctx: &Ctx) -> String {
    format!("https://localhost:{}{}", ctx.other_port, ctx.path)
}

fn other_loopback(ctx: &Ctx) -> String {
    format!("http://localhost:{}{}", ctx.other_port, ctx.path)
}

fn insecure(ctx: &Ctx) -> String {
    format!("http://evil.example{}", ctx.path)
}

macro_rules! cases {
    ($($name:ident: |$ctx:ident| $answer:expr => $expect:expr;)*) => {$(
        #[test]
        fn $name() {
            #[allow(unused_variables, reason = "most answers do not need the context")]
            fn answer($ctx: &Ctx) -> Answer {
                $answer
            }
            run_case(stringify!($name), answer, &$expect);
        }
    )*};
}

cases! {
    // Bodies that are not a usable JSON object.
    invalid_json: |ctx| Answer::json(200, format!(r#"{{"access_token": "{MARKER}", "token_type": "#)) => Expect::Body(Json::Syntax);
    json_array: |ctx| Answer::json(200, format!(r#"[{{"access_token": "{MARKER}", "active": true}}]"#)) => Expect::Body(Json::NotAnObject("array"));
    empty_body: |ctx| Answer::json(200, "") => Expect::Body(Json::Empty);
    html_with_200: |ctx| Answer::body(200, "text/html", format!("<!doctype html><html><body>Sign in {MARKER}</body></html>")) => Expect::Body(Json::SyntaxAt { line: 1, column: 1 });
    status_204: |ctx| Answer::Raw(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_vec()) => Expect::Body(Json::Empty);
    nesting_10000_arrays: |ctx| Answer::json(200, nested("[", "]")) => Expect::Body(Json::TooDeep);
    nesting_10000_objects: |ctx| Answer::json(200, nested(r#"{"a":"#, "}")) => Expect::Body(Json::TooDeep);
    nesting_10000_top_level: |ctx| Answer::json(200, format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))) => Expect::Body(Json::TooDeep);
    duplicate_keys: |ctx| Answer::json(200, r#"{"access_token": "at-1", "access_token": "at-2", "token_type": "Bearer", "active": true}"#) => Expect::Body(Json::DuplicateKey("access_token"));
    invalid_utf8: |ctx| Answer::json(200, b"{\"access_token\": \"at-\xff\xfe\", \"token_type\": \"Bearer\", \"active\": true}") => Expect::Body(Json::InvalidUtf8 { offset: 21 });

    // A 200 without the field the flow needs.
    missing_required_field: |ctx| Answer::json(200, r#"{"token_type": "Bearer", "expires_in": 3600}"#) => Expect::MissingField;

    // Size, time and broken connections.
    // 10 MB announced, all but the last byte sent, then a stall: a transport that read whole
    // bodies before checking them would wait for that byte and time out.
    body_10_mb: |ctx| Answer::Stream { len: TEN_MB, chunked: false, stall_after: Some(TEN_MB - 1) } => Expect::TooLarge;
    body_10_mb_chunked: |ctx| Answer::Stream { len: TEN_MB, chunked: true, stall_after: Some(TEN_MB - 1) } => Expect::TooLarge;
    body_10_mb_complete: |ctx| Answer::Stream { len: TEN_MB, chunked: false, stall_after: None } => Expect::TooLarge;
    body_1_gib: |ctx| Answer::Stream { len: GIB, chunked: false, stall_after: None } => Expect::TooLarge;
    body_1_gib_chunked: |ctx| Answer::Stream { len: GIB, chunked: true, stall_after: None } => Expect::TooLarge;
    // The cap exactly: a body of the cap is read; one byte more is refused as soon as it
    // arrives (the server then stalls, so waiting for more would time out instead); the cap
    // alone, with more announced, is not enough to decide.
    body_of_exactly_the_cap: |ctx| Answer::json(200, cap_sized_object()) => Expect::MissingField;
    body_cap_plus_one_then_stall: |ctx| Answer::Stream { len: GIB, chunked: false, stall_after: Some(CAP + 1) } => Expect::TooLarge;
    body_cap_plus_one_chunked_then_stall: |ctx| Answer::Stream { len: GIB, chunked: true, stall_after: Some(CAP + 1) } => Expect::TooLarge;
    body_of_the_cap_chunked_then_stall: |ctx| Answer::Stream { len: GIB, chunked: true, stall_after: Some(CAP) } => Expect::Timeout;
    trickle_one_byte_a_second: |ctx| Answer::Trickle { body: br#"{"access_token": "at-1", "token_type": "Bearer", "active": true}"#.to_vec() } => Expect::Timeout;
    no_answer_at_all: |ctx| Answer::Silent => Expect::Timeout;
    closed_mid_body: |ctx| Answer::cut_short(1000, br#"{"access_token": "at-"#) => Expect::Broken;
    closed_before_answer: |ctx| Answer::Raw(Vec::new()) => Expect::Broken;
    not_http: |ctx| Answer::Raw(format!("SSH-2.0-OpenSSH_9.6 {MARKER}\r\n\r\n").into_bytes()) => Expect::Broken;

    // Redirects: to plain HTTP off loopback, to another host over HTTPS, to another
    // (loopback) host, and to itself.
    redirect_301_to_http: |ctx| Answer::redirect(301, &insecure(ctx)) => Expect::Blocked(NOT_HTTPS);
    redirect_302_to_http: |ctx| Answer::redirect(302, &insecure(ctx)) => Expect::Blocked(NOT_HTTPS);
    redirect_307_to_http: |ctx| Answer::redirect(307, &insecure(ctx)) => Expect::Blocked(NOT_HTTPS);
    redirect_308_to_http: |ctx| Answer::redirect(308, &insecure(ctx)) => Expect::Blocked(NOT_HTTPS);
    redirect_301_to_other_https_host: |ctx| Answer::redirect(301, &other_https(ctx)) => Expect::FollowedToHttps;
    redirect_302_to_other_https_host: |ctx| Answer::redirect(302, &other_https(ctx)) => Expect::FollowedToHttps;
    redirect_307_to_other_https_host: |ctx| Answer::redirect(307, &other_https(ctx)) => Expect::FollowedToHttps;
    redirect_308_to_other_https_host: |ctx| Answer::redirect(308, &other_https(ctx)) => Expect::FollowedToHttps;
    redirect_301_to_other_loopback_host: |ctx| Answer::redirect(301, &other_loopback(ctx)) => Expect::FollowedToOther;
    redirect_302_to_other_loopback_host: |ctx| Answer::redirect(302, &other_loopback(ctx)) => Expect::FollowedToOther;
    redirect_307_to_other_loopback_host: |ctx| Answer::redirect(307, &other_loopback(ctx)) => Expect::FollowedToOther;
    redirect_308_to_other_loopback_host: |ctx| Answer::redirect(308, &other_loopback(ctx)) => Expect::FollowedToOther;
    redirect_301_loop: |ctx| Answer::redirect(301, ctx.path) => Expect::Blocked(TOO_MANY);
    redirect_302_loop: |ctx| Answer::redirect(302, ctx.path) => Expect::Blocked(TOO_MANY);
    redirect_307_loop: |ctx| Answer::redirect(307, ctx.path) => Expect::Blocked(TOO_MANY);
    redirect_308_loop: |ctx| Answer::redirect(308, ctx.path) => Expect::Blocked(TOO_MANY);

    // Server errors.
    error_500_with_json: |ctx| Answer::json(500, r#"{"error": "server_error", "error_description": "the database is on fire"}"#) => Expect::ServerError;

    // Numbers: as strings, huge, negative, not whole.
    expires_in_as_string: |ctx| lenient(r#""3600""#) => Expect::Lenient { expires_in: Some(3600), deviation: Some(Deviation::ExpiresInString), exp: None };
    expires_in_negative: |ctx| lenient("-3600") => Expect::Lenient { expires_in: None, deviation: Some(Deviation::ExpiresInUnusable { reason: "negative" }), exp: None };
    expires_in_negative_string: |ctx| lenient(r#""-3600""#) => Expect::Lenient { expires_in: None, deviation: Some(Deviation::ExpiresInUnusable { reason: "negative" }), exp: None };
    expires_in_u64_max: |ctx| lenient("18446744073709551615") => Expect::Lenient { expires_in: None, deviation: Some(Deviation::ExpiresInUnusable { reason: "too large" }), exp: Some(u64::MAX) };
    expires_in_2_pow_64: |ctx| lenient("18446744073709551616") => Expect::Lenient { expires_in: None, deviation: Some(Deviation::ExpiresInUnusable { reason: "too large" }), exp: None };
    expires_in_huge_string: |ctx| lenient(r#""999999999999999999999999999999""#) => Expect::Lenient { expires_in: None, deviation: Some(Deviation::ExpiresInUnusable { reason: "too large" }), exp: None };
    expires_in_exponent: |ctx| lenient("3.6e3") => Expect::Lenient { expires_in: Some(3600), deviation: Some(Deviation::ExpiresInNotInteger), exp: None };
    expires_in_fraction: |ctx| lenient("3600.5") => Expect::Lenient { expires_in: None, deviation: Some(Deviation::ExpiresInUnusable { reason: "fractional" }), exp: None };
    expires_in_out_of_range: |ctx| lenient("1e400") => Expect::Body(Json::Syntax);
}
