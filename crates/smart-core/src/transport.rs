use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// The HTTPS rule: which URLs a SMART client may send secrets, codes and tokens to.
///
/// SMART App Launch requires TLS for every exchange
/// ([app-launch.html#app-protection](https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#app-protection)).
/// [`TransportPolicy::STRICT`] allows `https://` only. [`TransportPolicy::ALLOW_INSECURE_LOCALHOST`]
/// also allows `http://` when the host is exactly `localhost`, `127.0.0.1` or `[::1]`, for
/// development against a server on the same machine. Nothing else is ever allowed.
///
/// The same policy applies to configured endpoints, to endpoints learned from discovery, and to
/// redirect targets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TransportPolicy {
    allow_insecure_localhost: bool,
}

impl TransportPolicy {
    /// `https://` only. The default.
    pub const STRICT: Self = Self {
        allow_insecure_localhost: false,
    };

    /// `https://`, plus `http://` to `localhost`, `127.0.0.1` and `[::1]` (development only).
    pub const ALLOW_INSECURE_LOCALHOST: Self = Self {
        allow_insecure_localhost: true,
    };

    /// The strict policy, or the loopback opt-in when `allow_insecure_localhost` is true.
    #[must_use]
    pub const fn new(allow_insecure_localhost: bool) -> Self {
        Self {
            allow_insecure_localhost,
        }
    }

    /// Whether plain HTTP to a loopback host is allowed.
    #[must_use]
    pub const fn allows_insecure_localhost(self) -> bool {
        self.allow_insecure_localhost
    }

    /// Returns the problem with `url` under this policy, or `None` when it may be used.
    #[must_use]
    pub fn problem(self, url: &Url) -> Option<UrlProblem> {
        match url.scheme() {
            "https" if url.host().is_some() => None,
            "https" => Some(UrlProblem::MissingHost),
            "http" if is_loopback_host(url) => {
                (!self.allow_insecure_localhost).then_some(UrlProblem::InsecureLocalhost)
            }
            "http" => Some(UrlProblem::InsecureHttp),
            _ => Some(UrlProblem::UnsupportedScheme),
        }
    }

    /// Checks `url` under this policy. `field` names the setting or document field in the error.
    ///
    /// # Errors
    ///
    /// Returns [`UrlError`] naming `field`, the URL and what is wrong with it.
    pub fn check(self, field: &'static str, url: &Url) -> Result<(), UrlError> {
        match self.problem(url) {
            None => Ok(()),
            Some(problem) => Err(UrlError::new(field, url.as_str(), problem)),
        }
    }
}

impl fmt::Debug for TransportPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.allow_insecure_localhost {
            "TransportPolicy::ALLOW_INSECURE_LOCALHOST"
        } else {
            "TransportPolicy::STRICT"
        })
    }
}

/// Whether the URL's host is exactly `localhost`, `127.0.0.1` or `[::1]`.
pub(crate) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(addr)) => addr == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(addr)) => addr == Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// A URL setting or document field that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}: `{url}`")]
pub struct UrlError {
    field: &'static str,
    url: String,
    problem: UrlProblem,
}

impl UrlError {
    /// Refuses a URL (absolute or relative) holding an ASCII control character: the `url`
    /// crate silently drops tabs and newlines inside a URL, so the parsed URL would differ
    /// from the string that is kept and sent (an assertion's `aud`, a `redirect_uri`).
    ///
    /// ```
    /// use smart_core::{UrlError, UrlProblem};
    ///
    /// assert!(UrlError::refuse_control_characters("aud", "https://ehr.example/fhir").is_ok());
    /// let error = UrlError::refuse_control_characters("aud", "https://ehr.exa\tmple/").unwrap_err();
    /// assert_eq!(error.problem(), &UrlProblem::ControlCharacter);
    /// ```
    ///
    /// # Errors
    ///
    /// [`UrlProblem::ControlCharacter`] when `url` holds one.
    pub fn refuse_control_characters(field: &'static str, url: &str) -> Result<(), Self> {
        if url.contains(|c: char| c.is_ascii_control()) {
            return Err(Self::new(field, url, UrlProblem::ControlCharacter));
        }
        Ok(())
    }

    /// An error about the URL `url` found in `field`.
    #[must_use]
    pub fn new(field: &'static str, url: &str, problem: UrlProblem) -> Self {
        Self {
            field,
            url: display_url(url),
            problem,
        }
    }

    /// The setting or document field that held the URL.
    #[must_use]
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The URL as shown in the message (passwords redacted, long URLs cut).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What is wrong with it.
    #[must_use]
    pub fn problem(&self) -> &UrlProblem {
        &self.problem
    }

    /// The same error, attributed to another field.
    #[must_use]
    pub fn for_field(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
}

/// What is wrong with a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlProblem {
    /// It does not parse as an absolute URL.
    Malformed(url::ParseError),
    /// It has no host.
    MissingHost,
    /// It uses `http://` to a host that is not loopback.
    InsecureHttp,
    /// It uses `http://` to a loopback host without the opt-in.
    InsecureLocalhost,
    /// It uses a scheme other than `https` (or `http` for loopback).
    UnsupportedScheme,
    /// It carries a `#fragment`, which OAuth forbids here (RFC 6749 §3.1.2).
    Fragment,
    /// It starts or ends with whitespace, which would be sent as part of the URL.
    Whitespace,
    /// It contains an ASCII control character (such as a tab or a newline) inside it. The
    /// `url` crate silently removes these, so the URL sent would differ from the string
    /// configured (and from an assertion's `aud`).
    ControlCharacter,
    /// It carries a `user:password@` part. An endpoint a server advertises must not: the
    /// credentials would be shown wherever the URL is, and sent wherever it goes.
    Userinfo,
}

impl fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(error) => write!(f, "is not a valid absolute URL ({error})"),
            Self::MissingHost => f.write_str("has no host"),
            Self::InsecureHttp => f.write_str(
                "uses http://, but SMART requires https:// (http:// is accepted only for localhost, 127.0.0.1 and [::1] with allow_insecure_localhost)",
            ),
            Self::InsecureLocalhost => f.write_str(
                "uses http:// on a loopback host; set allow_insecure_localhost to permit this during development",
            ),
            Self::UnsupportedScheme => f.write_str("must use https://"),
            Self::Fragment => f.write_str("must not contain a #fragment"),
            Self::Whitespace => f.write_str("starts or ends with whitespace; remove it"),
            Self::ControlCharacter => f.write_str(
                "contains a control character (such as a tab or a newline); remove it",
            ),
            Self::Userinfo => f.write_str(
                "carries a user name or password (user:password@ before the host), which an endpoint must not",
            ),
        }
    }
}

/// A URL as it may appear in an error message or a log line: the password of any
/// `user:password@` part is replaced, control characters are escaped (so a hostile URL
/// cannot start a new log line), and very long URLs are cut short.
///
/// Text that does not parse as a URL with a host (a typo'd URL, a proxy written without a
/// scheme such as `user:pw@proxy:3128`) has everything from after the scheme's `://` (or
/// from the start) up to the last `@` before any whitespace replaced by `[redacted]`: a
/// password may hold `/`, `#` or `?`, so the authority cannot be trusted to end at them.
///
/// ```
/// use smart_core::display_url;
///
/// assert_eq!(
///     display_url("https://user:hunter2@ehr.example/fhir"),
///     "https://user:redacted@ehr.example/fhir"
/// );
/// assert_eq!(
///     display_url("http://user:p/ss@proxy:3128"),
///     "http://[redacted]@proxy:3128"
/// );
/// assert_eq!(display_url("user:pw@proxy:3128"), "[redacted]@proxy:3128");
/// assert_eq!(display_url("not a url\nINFO forged"), "not a url\\nINFO forged");
/// ```
#[must_use]
pub fn display_url(url: &str) -> String {
    const LIMIT: usize = 300;
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Cannot fail: a URL with a password has a host that accepts one.
            let _ = parsed.set_password(Some("redacted"));
            display_text(parsed.as_str(), LIMIT)
        }
        Ok(parsed) if parsed.has_host() => display_text(url, LIMIT),
        _ => display_text(&redact_unparsed_userinfo(url), LIMIT),
    }
}

/// The fallback of [`display_url`]: everything between the scheme's `://` (or the start) and
/// the last `@` of the first whitespace-free run is replaced by `[redacted]`.
fn redact_unparsed_userinfo(url: &str) -> String {
    let end = url.find(char::is_whitespace).unwrap_or(url.len());
    let Some(at) = url[..end].rfind('@') else {
        return url.to_owned();
    };
    let start = url[..at]
        .find("://")
        .filter(|&i| {
            !url[..i].is_empty()
                && url[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        })
        .map_or(0, |i| i + 3);
    format!("{}[redacted]{}", &url[..start], &url[at..])
}

/// Whether `c` must not reach a terminal as it is: a C0 control (U+0000–U+001F), DEL
/// (U+007F), a C1 control (U+0080–U+009F), or a bidirectional control (U+202A–U+202E,
/// U+2066–U+2069), which can make text display in an order other than the one it has (the
/// "Trojan Source" trick).
#[must_use]
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// An error and its causes on one line, safe for a terminal: `what failed: why: why`, a cause
/// its parent's text already holds left out, and every character [`is_unsafe_char`] names
/// (line breaks included) turned into a space, so the error stays one line.
///
/// ```
/// use smart_core::error_line;
///
/// let cause = std::io::Error::other("refused\nat once");
/// let error = std::io::Error::other(cause);
/// assert_eq!(error_line(&error), "refused at once");
/// ```
#[must_use]
pub fn error_line(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.chars()
        .map(|c| if is_unsafe_char(c) { ' ' } else { c })
        .collect()
}

/// Text from a server or a file, as it may be shown to a person (a terminal, a log line, a web
/// page): every character [`is_unsafe_char`] names is escaped (`\n`, `\u{1b}`, `\u{202e}`),
/// so the text can neither move the cursor, change colours, start a forged line, nor reorder
/// itself; everything else, non-ASCII letters included, is kept. Nothing is cut: use
/// [`display_text`] for a length limit.
///
/// This is the one escaping helper: every crate and the `smart` command pass server-derived
/// strings through it (or through [`display_text`], [`display_url`] and
/// [`clean_server_text`], which apply the same rule).
///
/// ```
/// use smart_core::escape_text;
///
/// assert_eq!(escape_text("Patient/1\u{1b}[2J"), "Patient/1\\u{1b}[2J");
/// assert_eq!(escape_text("abc\u{202e}fed"), "abc\\u{202e}fed");
/// assert_eq!(escape_text("Zoë"), "Zoë");
/// ```
#[must_use]
pub fn escape_text(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    std::borrow::Cow::Owned(out)
}

/// Appends `c`, escaped when [`is_unsafe_char`] says so.
fn push_escaped(out: &mut String, c: char) {
    if is_unsafe_char(c) {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

/// Untrusted text (a server's JSON key, a URL that does not parse) as it may appear in an
/// error message or a log line: control characters are escaped (`\n`, `\u{1b}`), and text
/// whose shown form is longer than `limit` bytes is cut (at a character boundary) and ends
/// in `...`.
///
/// ```
/// use smart_core::display_text;
///
/// assert_eq!(display_text("a\r\nb", 64), "a\\r\\nb");
/// assert_eq!(display_text("abcdef", 3), "abc...");
/// ```
#[must_use]
pub fn display_text(text: &str, limit: usize) -> String {
    let mut out = String::with_capacity(text.len().min(limit.saturating_add(3)));
    let mut piece = String::new();
    for c in text.chars() {
        piece.clear();
        push_escaped(&mut piece, c);
        if out.len() + piece.len() > limit {
            out.push_str("...");
            break;
        }
        out.push_str(&piece);
    }
    out
}

/// The most characters of server text [`clean_server_text`] keeps.
pub const MAX_SERVER_TEXT: usize = 300;

/// Text a server chose (an `error_description`, an unknown `error` code or `token_type`, a
/// JSON key) as it is kept in an error: every control character and bidirectional control
/// ([`is_unsafe_char`]) becomes a space (so it cannot start a forged log line, move the cursor
/// or reorder the text), and text longer than [`MAX_SERVER_TEXT`]
/// characters is cut to that many and ends in `...`.
///
/// Unlike [`display_text`], which escapes control characters so that they stay visible, this
/// keeps the text readable as prose.
///
/// ```
/// use smart_core::clean_server_text;
///
/// assert_eq!(clean_server_text("bad\r\nINFO forged"), "bad  INFO forged");
/// assert_eq!(clean_server_text(&"é".repeat(301)), format!("{}...", "é".repeat(300)));
/// ```
#[must_use]
pub fn clean_server_text(text: &str) -> String {
    clean_to(text, MAX_SERVER_TEXT)
}

/// [`clean_server_text`] with another limit, in characters.
pub(crate) fn clean_to(text: &str, limit: usize) -> String {
    let mut chars = text.chars();
    let mut cleaned: String = chars
        .by_ref()
        .take(limit)
        .map(|c| if is_unsafe_char(c) { ' ' } else { c })
        .collect();
    if chars.next().is_some() {
        cleaned.push_str("...");
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_url_redacts_credentials_of_text_that_does_not_parse() {
        for (url, shown) in [
            (
                "https://user:pw@ehr example/fhir",
                "https://[redacted]@ehr example/fhir",
            ),
            (
                "http://user:p/ss@proxy:3128",
                "http://[redacted]@proxy:3128",
            ),
            (
                "http://user:p#ss@proxy:3128",
                "http://[redacted]@proxy:3128",
            ),
            (
                "http://user:p?ss@proxy:3128",
                "http://[redacted]@proxy:3128",
            ),
            ("user:pw@proxy:3128", "[redacted]@proxy:3128"),
            ("user:p@ss@proxy:3128", "[redacted]@proxy:3128"),
            (
                "socks5://a:b@c@proxy:1080/",
                "socks5://a:redacted@proxy:1080/",
            ),
            ("no credentials here", "no credentials here"),
        ] {
            assert_eq!(display_url(url), shown, "{url}");
        }
        // A URL that parses keeps its path and query, `@` and all.
        assert_eq!(
            display_url("https://ehr.example/fhir?login=a@b"),
            "https://ehr.example/fhir?login=a@b"
        );
    }

    #[test]
    fn escaping_covers_c0_del_c1_and_bidi_controls_and_nothing_else() {
        for c in ['\0', '\n', '\u{1b}', '\u{7f}', '\u{80}', '\u{9b}', '\u{9f}'] {
            assert!(is_unsafe_char(c), "{c:?}");
        }
        for c in (0x202a..=0x202e)
            .chain(0x2066..=0x2069)
            .filter_map(char::from_u32)
        {
            assert!(is_unsafe_char(c), "{c:?}");
            assert_eq!(escape_text(&c.to_string()), c.escape_default().to_string());
            assert_eq!(clean_server_text(&format!("a{c}b")), "a b");
            assert!(!display_text(&c.to_string(), 64).contains(c));
        }
        for c in [
            ' ', '~', '\u{a0}', 'é', '\u{2029}', '\u{2065}', '\u{206a}', '\u{2029}', '中',
        ] {
            assert!(!is_unsafe_char(c), "{c:?}");
        }
        assert!(matches!(
            escape_text("plain"),
            std::borrow::Cow::Borrowed("plain")
        ));
        assert_eq!(escape_text("a\u{9b}31mb\u{7f}"), "a\\u{9b}31mb\\u{7f}");
        let shown = display_url("https://ehr.example/\u{202e}txt.exe");
        assert_eq!(shown, "https://ehr.example/\\u{202e}txt.exe");
    }

    #[test]
    fn server_text_loses_control_characters_and_is_cut_in_characters() {
        assert_eq!(clean_server_text("a\u{1b}[2Jb\r\nc"), "a [2Jb  c");
        let exact = "é".repeat(MAX_SERVER_TEXT);
        assert_eq!(clean_server_text(&exact), exact);
        let long = "é".repeat(MAX_SERVER_TEXT + 1);
        assert_eq!(clean_server_text(&long), format!("{exact}..."));
    }

    #[test]
    fn display_url_escapes_control_characters() {
        let shown = display_url("::not a url\r\nINFO login ok\u{1b}[2J");
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert_eq!(shown, "::not a url\\r\\nINFO login ok\\u{1b}[2J");
        let long = format!("https://ehr.example/{}", "x".repeat(400));
        let shown = display_url(&long);
        assert!(shown.ends_with("..."));
        assert_eq!(shown.chars().count(), 303);
    }

    fn problem(policy: TransportPolicy, url: &str) -> Option<UrlProblem> {
        policy.problem(&Url::parse(url).unwrap())
    }

    #[test]
    fn https_is_always_allowed() {
        assert_eq!(
            problem(TransportPolicy::STRICT, "https://ehr.example/fhir"),
            None
        );
        assert_eq!(
            problem(TransportPolicy::STRICT, "HTTPS://EHR.example/fhir"),
            None
        );
    }

    #[test]
    fn http_needs_loopback_and_opt_in() {
        for url in [
            "http://localhost:8080/fhir",
            "http://LOCALHOST/fhir",
            "http://127.0.0.1/fhir",
            "http://[::1]:9000/fhir",
        ] {
            assert_eq!(
                problem(TransportPolicy::STRICT, url),
                Some(UrlProblem::InsecureLocalhost),
                "{url}"
            );
            assert_eq!(
                problem(TransportPolicy::ALLOW_INSECURE_LOCALHOST, url),
                None,
                "{url}"
            );
        }
        for url in [
            "http://ehr.example/fhir",
            "http://127.0.0.2/fhir",
            "http://localhost.evil.example/fhir",
            "http://10.0.0.1/fhir",
        ] {
            assert_eq!(
                problem(TransportPolicy::ALLOW_INSECURE_LOCALHOST, url),
                Some(UrlProblem::InsecureHttp),
                "{url}"
            );
        }
    }

    #[test]
    fn other_schemes_are_refused() {
        assert_eq!(
            problem(
                TransportPolicy::ALLOW_INSECURE_LOCALHOST,
                "ftp://localhost/x"
            ),
            Some(UrlProblem::UnsupportedScheme)
        );
        assert_eq!(
            problem(
                TransportPolicy::ALLOW_INSECURE_LOCALHOST,
                "ws://localhost/x"
            ),
            Some(UrlProblem::UnsupportedScheme)
        );
    }

    #[test]
    fn check_names_the_field() {
        let url = Url::parse("http://ehr.example/token").unwrap();
        let err = TransportPolicy::STRICT
            .check("token_endpoint", &url)
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("token_endpoint "), "{text}");
        assert!(text.contains("http://ehr.example/token"), "{text}");
    }

    #[test]
    fn display_url_hides_passwords_and_cuts_long_urls() {
        let shown = display_url("https://user:hunter2@ehr.example/x");
        assert!(!shown.contains("hunter2"), "{shown}");
        let long = format!("https://ehr.example/{}", "é".repeat(400));
        let shown = display_url(&long);
        assert!(shown.len() <= 303, "{}", shown.len());
        assert!(shown.ends_with("..."));
    }
}
