//! What the `smart launch` redirect listener makes of one browser request: pure functions over
//! the bytes read, so that they can be tested and fuzzed without a socket. (The fuzz target
//! `listener` includes this file; it uses nothing but `std` and `smart_core`.)

use smart_core::{display_text, form};

/// What a request to the listener is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    /// The browser came back to the redirect path: the whole request target (path and
    /// query), and the authorization error it carries, if any.
    Callback {
        /// The request target, as sent.
        target: String,
        /// `error` and `error_description` of a failed authorization, cleaned and cut.
        error: Option<String>,
    },
    /// `GET /start`: the page that POSTs the authorization form.
    Start,
    /// Any other path: answered 404.
    Other {
        /// The method and path as they may be shown (escaped, cut, no query).
        shown: String,
    },
    /// Not an HTTP request line: answered 400.
    Malformed,
}

impl Request {
    /// The status line the listener answers with.
    pub(crate) fn status(&self) -> &'static str {
        match self {
            Self::Callback { .. } | Self::Start => "200 OK",
            Self::Other { .. } => "404 Not Found",
            Self::Malformed => "400 Bad Request",
        }
    }
}

/// Reads a request head (`bytes` as received, at most the listener's limit).
pub(crate) fn parse(bytes: &[u8], redirect_path: &str) -> Request {
    let head = String::from_utf8_lossy(bytes);
    let Some(line) = head.lines().next() else {
        return Request::Malformed;
    };
    let mut words = line.split(' ');
    let (Some(method), Some(target), Some(version)) = (words.next(), words.next(), words.next())
    else {
        return Request::Malformed;
    };
    if words.next().is_some()
        || !version.starts_with("HTTP/1.")
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
    {
        return Request::Malformed;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == redirect_path {
        return Request::Callback {
            target: target.to_owned(),
            error: authorization_error(query),
        };
    }
    if path == "/start" && method == "GET" {
        return Request::Start;
    }
    Request::Other {
        shown: display_text(&format!("{method} {path}"), 120),
    }
}

/// `error` (with `error_description`) of a callback query, as it may be shown.
fn authorization_error(query: &str) -> Option<String> {
    let pairs = form::decode(query.as_bytes());
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let error = value("error")?;
    Some(match value("error_description") {
        Some(description) => display_text(&format!("{error}: {description}"), 300),
        None => display_text(error, 300),
    })
}

/// Text for an HTML page: `&`, `<`, `>`, `"` and `'` escaped.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page the browser sees when it comes back: success, or the reason it failed.
pub(crate) fn callback_page(error: Option<&str>) -> String {
    match error {
        None => "<!doctype html><title>Signed in</title><p>Signed in. You can close this window and return to the terminal.</p>".to_owned(),
        Some(reason) => format!(
            "<!doctype html><title>Sign-in failed</title><p>Sign-in failed: {}</p><p>You can close this window; the terminal says what to do next.</p>",
            html_escape(reason)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_and_classified() {
        assert_eq!(
            parse(
                b"GET /callback?code=abc&state=x HTTP/1.1\r\nHost: h\r\n\r\n",
                "/callback"
            ),
            Request::Callback {
                target: "/callback?code=abc&state=x".to_owned(),
                error: None
            }
        );
        assert_eq!(
            parse(
                b"GET /callback?error=access_denied&error_description=The+user+said+%3Cno%3E HTTP/1.1\r\n\r\n",
                "/callback"
            ),
            Request::Callback {
                target: "/callback?error=access_denied&error_description=The+user+said+%3Cno%3E"
                    .to_owned(),
                error: Some("access_denied: The user said <no>".to_owned())
            }
        );
        assert_eq!(parse(b"GET /start HTTP/1.1\r\n\r\n", "/cb"), Request::Start);
        assert_eq!(
            parse(b"GET /favicon.ico?x=1 HTTP/1.1\r\n\r\n", "/cb"),
            Request::Other {
                shown: "GET /favicon.ico".to_owned()
            }
        );
        for malformed in [
            &b""[..],
            b"\r\n",
            b"GET\r\n",
            b"GET /cb\r\n",
            b"GET /cb HTTP/1.1 extra\r\n",
            b"get /cb HTTP/1.1\r\n",
            b"GET cb HTTP/1.1\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        ] {
            assert_eq!(parse(malformed, "/cb"), Request::Malformed, "{malformed:?}");
            assert_eq!(parse(malformed, "/cb").status(), "400 Bad Request");
        }
    }

    #[test]
    fn the_failure_page_names_the_reason_escaped() {
        assert_eq!(
            callback_page(Some("access_denied: <script>")),
            "<!doctype html><title>Sign-in failed</title><p>Sign-in failed: access_denied: &lt;script&gt;</p><p>You can close this window; the terminal says what to do next.</p>"
        );
        assert!(callback_page(None).contains("<p>Signed in."));
        let shown = match parse(b"GET /cb?error=x%1b%5B2J HTTP/1.1\r\n\r\n", "/cb") {
            Request::Callback { error, .. } => error.unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(shown, "x\\u{1b}[2J");
    }
}
