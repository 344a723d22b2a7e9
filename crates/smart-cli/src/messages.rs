//! The library's errors in the command's words: flags instead of configuration fields, and
//! network failures said plainly ("cannot resolve HOST", "timed out after N s").

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use smart_client::core::{Redactions, Secret};

use smart_client::core::{UrlError, UrlProblem, escape_text, url::Url};
use smart_client::token::{ErrorCode, OAuthError, Operation, TokenError};
use smart_client::{ClientError, ConfigError, TransportErrorKind};

/// The `--timeout` in force, for "timed out after N s".
static TIMEOUT_SECONDS: AtomicU64 = AtomicU64::new(30);
/// Whether the client secret goes in a raw (not RFC 6749 encoded) Basic header, for the
/// `invalid_client` hint.
static RAW_BASIC: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_timeout(seconds: u64) {
    TIMEOUT_SECONDS.store(seconds, Ordering::Relaxed);
}

pub(crate) fn set_raw_basic(raw: bool) {
    RAW_BASIC.store(raw, Ordering::Relaxed);
}

/// The secrets this run read (client secret, tokens): taken out of every failure it prints,
/// in case a server echoes them back.
static SECRETS: Mutex<Option<Redactions>> = Mutex::new(None);

/// Records a secret this run sends, in its raw, form-urlencoded and percent-encoded forms.
pub(crate) fn remember_secret(value: &str) {
    let mut secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    secrets.get_or_insert_with(Redactions::new).secret(value);
}

/// Records the two Basic headers a client id and secret can make (raw and RFC 6749).
pub(crate) fn remember_basic(client_id: &str, secret: &str) {
    let form = smart_client::core::form::encode_component;
    let raw = Secret::new(base64(format!("{client_id}:{secret}").as_bytes()));
    let encoded = Secret::new(base64(
        format!("{}:{}", form(client_id), form(secret)).as_bytes(),
    ));
    let mut secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    secrets
        .get_or_insert_with(Redactions::new)
        .exact(raw.expose_secret())
        .exact(encoded.expose_secret());
}

/// `text` without any secret this run read.
pub(crate) fn redact(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    match secrets.as_ref() {
        Some(secrets) => secrets.redact(text),
        None => text.to_owned(),
    }
}

/// Standard base64 with padding (RFC 4648 §4), for the Basic header forms.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The flag (or argument) that sets a configuration field.
pub(crate) fn flag(field: &str) -> &str {
    match field {
        "client_id" => "--client-id",
        "client_secret" => "--client-secret-env VAR or --client-secret-file FILE",
        "private_key" => "--key FILE",
        "redirect_uri" => "--redirect-uri",
        "scopes" => "--scope",
        "base_url" => "the FHIR base URL",
        "issuer" => "--issuer",
        "token_endpoint" => "--token-endpoint",
        "authorization_endpoint" => "--authorization-endpoint",
        "jwks_uri" => "--jwks-uri",
        other => other,
    }
}

fn problem(problem: &UrlProblem) -> String {
    match problem {
        UrlProblem::InsecureLocalhost => {
            "uses http:// on a loopback host; pass --allow-insecure-localhost to permit this during development".to_owned()
        }
        UrlProblem::InsecureHttp => {
            "uses http://, but SMART requires https:// (http:// is accepted only for localhost, 127.0.0.1 and [::1] with --allow-insecure-localhost)".to_owned()
        }
        other => other.to_string(),
    }
}

fn url_error(error: &UrlError) -> String {
    format!(
        "{} {}: `{}`",
        flag(error.field()),
        problem(error.problem()),
        escape_text(error.url())
    )
}

/// A configuration error naming flags.
pub(crate) fn config(error: &ConfigError) -> Option<String> {
    match error {
        ConfigError::Urls(errors) => Some(format!(
            "unusable URLs: {}",
            errors.iter().map(url_error).collect::<Vec<_>>().join("; ")
        )),
        ConfigError::Missing { fields, operation } => Some(format!(
            "missing: {} (needed to {operation})",
            fields
                .iter()
                .map(|f| flag(f))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => None,
    }
}

/// The host of `url`, for "cannot resolve HOST".
fn host(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| url.to_owned())
}

/// Whether an I/O failure is a failed name lookup (getaddrinfo's wording on Linux, macOS and
/// Windows), which ureq reports as a broken connection.
fn is_lookup_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if [
            "failed to lookup address",
            "Name or service not known",
            "nodename nor servname",
            "No such host is known",
            "Temporary failure in name resolution",
            "No address associated with hostname",
        ]
        .iter()
        .any(|needle| text.contains(needle))
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A library error in the command's words, when it has better ones than the library's.
pub(crate) fn client(error: &ClientError) -> Option<String> {
    match error {
        ClientError::Config(config_error) => config(config_error),
        ClientError::Network { url, source } => {
            let url_shown = escape_text(url);
            if source.kind() == TransportErrorKind::Dns || is_lookup_failure(source) {
                Some(format!(
                    "cannot resolve {}: check the host name in {url_shown}",
                    escape_text(&host(url))
                ))
            } else if source.kind() == TransportErrorKind::Timeout {
                Some(format!(
                    "{url_shown} timed out after {} s; raise --timeout if the server is slow",
                    TIMEOUT_SECONDS.load(Ordering::Relaxed)
                ))
            } else {
                None
            }
        }
        ClientError::ResponseTooLarge { url, limit } => Some(format!(
            "the answer from {} is larger than {} MiB, the most the smart command reads",
            escape_text(url),
            limit / (1024 * 1024)
        )),
        ClientError::Token(TokenError::AmbiguousBasicCredentials) => Some(
            "the client id contains ':', which makes a raw client_secret_basic header ambiguous; pass --secret-method basic-rfc6749 (the RFC 6749 section 2.3.1 encoding) or --secret-method post".to_owned(),
        ),
        _ => None,
    }
}

/// What to add to an OAuth error the command can say more about.
pub(crate) fn oauth_hint(oauth: &OAuthError, bearer_used: bool) -> Option<&'static str> {
    if oauth.error() == Some(&ErrorCode::InvalidClient)
        && oauth.operation() != Operation::Registration
        && RAW_BASIC.load(Ordering::Relaxed)
    {
        return Some(
            "the secret was sent raw in the Basic header; if the server follows RFC 6749 section 2.3.1, try --secret-method basic-rfc6749 (or --secret-method post)",
        );
    }
    if oauth.operation() == Operation::Introspection && oauth.status() == 401 && !bearer_used {
        return Some(
            "the introspection endpoint may want a token authorised to introspect: pass it with --bearer-env VAR",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use smart_client::TransportError;

    #[test]
    fn base64_matches_rfc_4648() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), output);
        }
    }

    #[test]
    fn missing_settings_and_urls_name_flags() {
        let error = ConfigError::Missing {
            fields: vec!["client_id", "client_secret"],
            operation: "authenticate to the token endpoint",
        };
        assert_eq!(
            config(&error).unwrap(),
            "missing: --client-id, --client-secret-env VAR or --client-secret-file FILE (needed to authenticate to the token endpoint)"
        );
        let error = ConfigError::Urls(vec![UrlError::new(
            "jwks_uri",
            "http://127.0.0.1/jwks",
            UrlProblem::InsecureLocalhost,
        )]);
        assert_eq!(
            config(&error).unwrap(),
            "unusable URLs: --jwks-uri uses http:// on a loopback host; pass --allow-insecure-localhost to permit this during development: `http://127.0.0.1/jwks`"
        );
    }

    #[test]
    fn lookups_and_timeouts_are_said_plainly() {
        let io = std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        );
        let error = ClientError::Network {
            url: "https://ehr.invalid/fhir/.well-known/smart-configuration".to_owned(),
            source: TransportError::new(TransportErrorKind::Io, io),
        };
        assert_eq!(
            client(&error).unwrap(),
            "cannot resolve ehr.invalid: check the host name in https://ehr.invalid/fhir/.well-known/smart-configuration"
        );
        set_timeout(7);
        let error = ClientError::Network {
            url: "https://ehr.example/token".to_owned(),
            source: TransportError::with_detail(TransportErrorKind::Timeout, "timeout: global"),
        };
        assert_eq!(
            client(&error).unwrap(),
            "https://ehr.example/token timed out after 7 s; raise --timeout if the server is slow"
        );
        let error = ClientError::Network {
            url: "https://ehr.example/token".to_owned(),
            source: TransportError::with_detail(TransportErrorKind::Connect, "refused"),
        };
        assert_eq!(client(&error), None);
    }
}
