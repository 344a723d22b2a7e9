//! What each flow must make of a case, and a short description of what it did.

use std::time::Duration;

use smart_client::core::TokenUrl;
use smart_client::core::json::JsonError;
use smart_client::discovery::DiscoveryError;
use smart_client::token::{Deviation, ErrorCode, TokenError};
use smart_client::{ClientError, TransportErrorKind};

use crate::TIMEOUT_SLACK;
use crate::flows::{CAP, Flow, Got, TIMEOUT};
use crate::server::{Seen, Server};

/// A marker the hostile bodies carry where no error may echo it.
pub(crate) const MARKER: &str = "HOSTILE-MARKER";

/// The problem [`JsonError`] must name, with what `docs/security.md` says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Json {
    Empty,
    /// The offset of the first invalid byte.
    InvalidUtf8 {
        offset: usize,
    },
    /// Any syntax error.
    Syntax,
    /// A syntax error at this line and column.
    SyntaxAt {
        line: usize,
        column: usize,
    },
    /// What the top level is (`array`, ...).
    NotAnObject(&'static str),
    /// The repeated key.
    DuplicateKey(&'static str),
    TooDeep,
}

impl Json {
    fn matches(self, error: &JsonError) -> bool {
        match (self, error) {
            (Self::Empty, JsonError::Empty)
            | (Self::Syntax, JsonError::Syntax { .. })
            | (Self::TooDeep, JsonError::TooDeep) => true,
            (Self::InvalidUtf8 { offset }, JsonError::InvalidUtf8 { offset: found }) => {
                offset == *found
            }
            (
                Self::SyntaxAt { line, column },
                JsonError::Syntax {
                    line: found_line,
                    column: found_column,
                },
            ) => (line, column) == (*found_line, *found_column),
            (Self::NotAnObject(kind), JsonError::NotAnObject { found }) => kind == *found,
            (Self::DuplicateKey(key), JsonError::DuplicateKey { key: found }) => key == found,
            _ => false,
        }
    }
}

/// What every flow must do with a case.
pub(crate) enum Expect {
    /// A 2xx body that is not a usable JSON object: `DiscoveryError::Body` for discovery,
    /// `TokenError::Body` (status 2xx) for the token and introspection calls, naming `Json`.
    Body(Json),
    /// A 200 object without the flow's required field: discovery needs none and succeeds
    /// with nothing advertised; token calls fail with `MissingField("access_token")`,
    /// introspection with `MissingField("active")`.
    MissingField,
    /// `ResponseTooLarge` with the configured cap, before the timeout (so without waiting for
    /// the rest of the body).
    TooLarge,
    /// `Network` with `TransportErrorKind::Timeout`, no sooner than the timeout and at most
    /// [`TIMEOUT_SLACK`] later.
    Timeout,
    /// `Network`: the connection broke or the answer is not HTTP (`Io` or `Protocol`).
    Broken,
    /// A 500 with an OAuth error body: `DiscoveryError::Status(500)` for discovery,
    /// `TokenError::OAuth` with status 500, `server_error` and the description otherwise.
    ServerError,
    /// A redirect: refused on every POST ("never followed on POST"); on the discovery GET,
    /// refused with this reason.
    Blocked(&'static str),
    /// A redirect to HTTPS on another host: the discovery GET follows it (the second server
    /// sees a TLS handshake, which fails on this plain-TCP server: a `Network` error); POSTs
    /// refuse it and the second server sees nothing.
    FollowedToHttps,
    /// A redirect to `http://localhost:<other port>` (loopback, allowed by
    /// `allow_insecure_localhost`): discovery follows it and returns the second server's
    /// document; POSTs refuse it and the second server sees nothing.
    FollowedToOther,
    /// A usable answer read leniently: token calls succeed with this `expires_in` (and this
    /// deviation recorded), introspection with `active` and this `exp` (when `None`, with a
    /// `WrongType` deviation for `exp`); discovery succeeds with nothing advertised.
    Lenient {
        expires_in: Option<u64>,
        deviation: Option<Deviation>,
        exp: Option<u64>,
    },
}

const POST_REFUSED: &str = "redirects are never followed on POST";
/// The reason a discovery redirect loop is refused.
pub(crate) const TOO_MANY: &str = "more than 3 redirects";

/// Checks `result` against `expect`, and that no error echoes the body.
pub(crate) fn check(
    flow: Flow,
    expect: &Expect,
    result: &Result<Got, ClientError>,
    call: Duration,
    hostile: &Server,
    other: &Server,
) -> Result<(), String> {
    if let Err(error) = result {
        let shown = format!("{error} {error:?} {error:#?}");
        if shown.contains(MARKER) {
            return Err(format!("the error echoes the body: {shown}"));
        }
    }
    match expect {
        Expect::Timeout if call < TIMEOUT || call > TIMEOUT + TIMEOUT_SLACK => {
            return Err(format!(
                "the call timed out after {call:?}, not between {TIMEOUT:?} and {:?}",
                TIMEOUT + TIMEOUT_SLACK
            ));
        }
        Expect::TooLarge if call >= TIMEOUT => {
            return Err(format!(
                "the body was refused only after {call:?}: the client waited for more than the cap"
            ));
        }
        _ => {}
    }
    let ok = match expect {
        Expect::Blocked(_) | Expect::FollowedToHttps | Expect::FollowedToOther => {
            redirect_handled(flow, expect, result, other)
        }
        _ => answer_handled(flow, expect, result),
    };
    if !ok {
        return Err("unexpected outcome".to_owned());
    }
    // A redirect loop is followed exactly three times on discovery, never on a POST.
    if matches!(expect, Expect::Blocked(reason) if *reason == TOO_MANY) {
        let method = if flow.is_post() { "POST" } else { "GET" };
        let looping = Seen::Http(format!("{method} {}", flow.path()));
        let hits = hostile
            .seen()
            .iter()
            .filter(|seen| **seen == looping)
            .count();
        let wanted = if flow.is_post() { 1 } else { 4 };
        if hits != wanted {
            return Err(format!(
                "the looping URL was requested {hits} times, not {wanted}"
            ));
        }
    }
    Ok(())
}

/// The outcome of a redirect case.
fn redirect_handled(
    flow: Flow,
    expect: &Expect,
    result: &Result<Got, ClientError>,
    other: &Server,
) -> bool {
    let refused_as_post = || {
        // Nothing reached the redirect target.
        other.seen().is_empty()
            && matches!(result, Err(ClientError::RedirectBlocked { reason, .. }) if *reason == POST_REFUSED)
    };
    match expect {
        Expect::Blocked(_) | Expect::FollowedToHttps | Expect::FollowedToOther
            if flow.is_post() =>
        {
            refused_as_post()
        }
        Expect::Blocked(discovery_reason) => matches!(
            result,
            Err(ClientError::RedirectBlocked { reason, .. }) if reason == discovery_reason
        ),
        Expect::FollowedToHttps => {
            other.seen().contains(&Seen::TlsHandshake)
                && matches!(
                    result,
                    Err(ClientError::Network { source, .. })
                        if matches!(source.kind(), TransportErrorKind::Tls | TransportErrorKind::Io)
                )
        }
        Expect::FollowedToOther => {
            let expected = format!("http://localhost:{}/token", other.address().port());
            matches!(
                result,
                Ok(Got::Discovery(configuration))
                    if configuration.token_endpoint().map(TokenUrl::as_str) == Some(expected.as_str())
            )
        }
        _ => false,
    }
}

/// The outcome of any other case.
fn answer_handled(flow: Flow, expect: &Expect, result: &Result<Got, ClientError>) -> bool {
    match expect {
        Expect::Body(json) => match result {
            Err(ClientError::Discovery(DiscoveryError::Body { reason, .. })) => {
                flow == Flow::Discovery && json.matches(reason)
            }
            Err(ClientError::Token(TokenError::Body { reason, status, .. })) => {
                flow != Flow::Discovery && json.matches(reason) && (200..300).contains(status)
            }
            _ => false,
        },
        Expect::MissingField => match (flow, result) {
            (Flow::Discovery, Ok(Got::Discovery(configuration))) => {
                configuration.token_endpoint().is_none()
            }
            (
                Flow::Introspection,
                Err(ClientError::Token(TokenError::MissingField { field, .. })),
            ) => *field == "active",
            (
                Flow::CodeExchange | Flow::Refresh | Flow::BackendServices,
                Err(ClientError::Token(TokenError::MissingField {
                    field,
                    received_fields,
                    ..
                })),
            ) => {
                *field == "access_token" && received_fields.iter().any(|name| name == "token_type")
            }
            _ => false,
        },
        Expect::TooLarge => matches!(
            result,
            Err(ClientError::ResponseTooLarge { limit, url }) if *limit == CAP && url.ends_with(flow.path())
        ),
        Expect::Timeout => matches!(
            result,
            Err(ClientError::Network { source, .. }) if source.kind() == TransportErrorKind::Timeout
        ),
        Expect::Broken => matches!(
            result,
            Err(ClientError::Network { source, .. })
                if matches!(source.kind(), TransportErrorKind::Io | TransportErrorKind::Protocol)
        ),
        Expect::ServerError => match result {
            Err(ClientError::Discovery(DiscoveryError::Status { status, .. })) => {
                flow == Flow::Discovery && status.as_u16() == 500
            }
            Err(ClientError::Token(TokenError::OAuth(error))) => {
                flow != Flow::Discovery
                    && error.status() == 500
                    && error.error() == Some(&ErrorCode::ServerError)
                    && error.error_description() == Some("the database is on fire")
            }
            _ => false,
        },
        Expect::Lenient {
            expires_in,
            deviation,
            exp,
        } => match result {
            Ok(Got::Discovery(configuration)) => configuration.token_endpoint().is_none(),
            Ok(Got::Token(token)) => {
                token.access_token().expose_secret() == "at-1"
                    && token.expires_in() == *expires_in
                    && deviation
                        .as_ref()
                        .is_none_or(|wanted| token.deviations().contains(wanted))
            }
            Ok(Got::Introspection(info)) => {
                info.active()
                    && info.exp() == *exp
                    && (exp.is_some()
                        || info.deviations().iter().any(|deviation| {
                            matches!(deviation, Deviation::WrongType { field, .. } if field == "exp")
                        }))
            }
            Err(_) => false,
        },
        Expect::Blocked(_) | Expect::FollowedToHttps | Expect::FollowedToOther => false,
    }
}

/// A short description of an outcome, for the report.
pub(crate) fn describe(result: &Result<Got, ClientError>) -> String {
    match result {
        Ok(Got::Discovery(configuration)) => format!(
            "Ok(SmartConfiguration, token_endpoint {:?})",
            configuration.token_endpoint().map(TokenUrl::as_str)
        ),
        Ok(Got::Token(token)) => format!(
            "Ok(TokenResponse, expires_in {:?}, deviations {:?})",
            token.expires_in(),
            token.deviations()
        ),
        Ok(Got::Introspection(info)) => format!(
            "Ok(IntrospectionResponse, active {}, exp {:?}, deviations {:?})",
            info.active(),
            info.exp(),
            info.deviations()
        ),
        Err(error) => match error {
            ClientError::Discovery(DiscoveryError::Body { reason, .. }) => {
                format!("Discovery(Body({reason:?}))")
            }
            ClientError::Discovery(DiscoveryError::Status { status, .. }) => {
                format!("Discovery(Status({}))", status.as_u16())
            }
            ClientError::Token(TokenError::Body { reason, status, .. }) => {
                format!("Token(Body({reason:?}), status {status})")
            }
            ClientError::Token(TokenError::MissingField { field, .. }) => {
                format!("Token(MissingField({field}))")
            }
            ClientError::Token(TokenError::OAuth(error)) => format!(
                "Token(OAuth(status {}, {:?}))",
                error.status(),
                error.error().map(ErrorCode::as_str)
            ),
            ClientError::Network { source, .. } => format!("Network({:?})", source.kind()),
            ClientError::ResponseTooLarge { limit, .. } => format!("ResponseTooLarge({limit})"),
            ClientError::RedirectBlocked { reason, .. } => format!("RedirectBlocked({reason:?})"),
            other => format!("{other:?}"),
        },
    }
}
