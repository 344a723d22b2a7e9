//! `smart launch`: a whole authorization through a loopback redirect listener (RFC 8252 §7.3).

use crate::output::{err, errln, outln};
use std::fmt::Write as _;
use std::io::{IsTerminal, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde_json::json;
use smart_client::pkce::State;
use smart_client::{AuthorizeMethod, AuthorizeOptions};

use crate::args::{Global, LaunchArgs, MAX_SECONDS};
use crate::common::{
    Failure, client, config_builder, error_chain, esc, print_json, print_token, token_json,
};
use crate::listener;

/// The scopes of a standalone launch when `--scope` is not given.
pub(crate) const STANDALONE_SCOPES: &str = "launch/patient openid fhirUser patient/*.rs";
/// The scopes of an EHR launch (`--launch`) when `--scope` is not given: `launch` binds the
/// request to the EHR's context (SMART App Launch §2.0.4).
pub(crate) const EHR_SCOPES: &str = "launch openid fhirUser patient/*.rs";

/// The longest request the listener reads.
const MAX_REQUEST: usize = 16 * 1024;

pub(crate) fn launch(global: &Global, args: &LaunchArgs) -> Result<(), Failure> {
    if !args.redirect_path.starts_with('/') {
        return Err(Failure::usage("--redirect-path must start with /"));
    }
    let listener = TcpListener::bind(("127.0.0.1", args.port)).map_err(|error| {
        Failure::usage(format!("cannot listen on 127.0.0.1:{}: {error}", args.port))
    })?;
    let port = listener
        .local_addr()
        .map_err(|error| Failure::usage(format!("cannot read the listener's address: {error}")))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}{}", args.redirect_path);
    let (builder, client_type) = config_builder(global, &args.client)?;
    let client = client(
        builder
            .redirect_uri(redirect_uri.clone())
            .scopes(args.scope.clone().unwrap_or_else(|| {
                if args.launch.is_some() {
                    EHR_SCOPES
                } else {
                    STANDALONE_SCOPES
                }
                .to_owned()
            })),
        client_type,
    )?;

    // A nonce ties the id_token to this launch.
    let nonce = State::generate().map_err(|error| Failure::server(error_chain(&error)))?;
    let mut options = AuthorizeOptions::new().param("nonce", nonce.expose_secret())?;
    if let Some(launch) = &args.launch {
        options = options.launch(launch.clone());
    }
    if args.post {
        options = options.method(AuthorizeMethod::Post);
    }
    let options = crate::commands::extra_params(options, &args.params)?;
    let request = client.authorize(options)?;
    let start_url = match request.method() {
        AuthorizeMethod::Get => request.url().to_string(),
        AuthorizeMethod::Post => format!("http://127.0.0.1:{port}/start"),
    };
    // With --json, stdout carries exactly one JSON document (the result): the URL goes to stderr.
    if global.json {
        errln!("Open this URL in a browser to sign in:\n{start_url}");
    } else {
        outln!("Open this URL in a browser to sign in:\n{start_url}");
    }
    if args.open {
        open_browser(&start_url);
    }

    let callback = wait_for_callback(
        &listener,
        &request,
        &args.redirect_path,
        port,
        Duration::from_secs(args.wait),
    )?;
    let pending = request.into_pending();
    let token = client.complete_authorization(&callback, &pending)?;
    let identity = match token.id_token() {
        Some(id_token) => Some(client.verify_id_token(id_token, pending.nonce())?),
        None => None,
    };
    let note = fhir_user_note(&token, identity.as_ref());
    if global.json {
        let mut value = token_json(&token, args.show_tokens);
        value["ok"] = json!(true);
        value["fhirUser"] = json!(identity.as_ref().and_then(|claims| claims.fhir_user()));
        if let Some(note) = note {
            value["notes"] = json!([note]);
        }
        print_json(&value);
    } else {
        outln!();
        print_token(&token, args.show_tokens);
        if let Some(claims) = &identity {
            outln!(
                "id_token verified: sub {}, fhirUser {}",
                esc(claims.subject().unwrap_or("-")),
                esc(claims.fhir_user().unwrap_or("-"))
            );
        }
        if let Some(note) = note {
            outln!("note: {note}");
        }
    }
    Ok(())
}

/// When `openid fhirUser` was granted but no `fhirUser` came back, why the user is unknown.
pub(crate) fn fhir_user_note(
    token: &smart_client::token::TokenResponse,
    identity: Option<&smart_client::IdTokenClaims>,
) -> Option<&'static str> {
    let granted = token.scope().is_some_and(|scope| {
        let text = scope.to_string();
        let mut tokens = text.split(' ');
        let all: Vec<&str> = tokens.by_ref().collect();
        all.contains(&"openid") && all.contains(&"fhirUser")
    });
    if !granted {
        return None;
    }
    match identity {
        None => {
            Some("the server granted openid fhirUser but sent no id_token, so the user is unknown")
        }
        Some(claims) if claims.fhir_user().is_none() => Some(
            "the server granted openid fhirUser but the id_token has no fhirUser claim (nor profile), so fhirUser is null",
        ),
        Some(_) => None,
    }
}

/// Serves the listener until the browser comes back to the redirect path; returns the full
/// callback URL.
fn wait_for_callback(
    listener: &TcpListener,
    request: &smart_client::AuthorizationRequest,
    redirect_path: &str,
    port: u16,
    wait: Duration,
) -> Result<String, Failure> {
    listener
        .set_nonblocking(true)
        .map_err(|error| Failure::usage(format!("cannot poll the listener: {error}")))?;
    let deadline = Instant::now().checked_add(wait).ok_or_else(|| {
        Failure::usage(format!(
            "--wait {} s is too long for this system's clock; give at most {MAX_SECONDS}",
            wait.as_secs()
        ))
    })?;
    let spinner = std::io::stderr().is_terminal();
    let frames = ['|', '/', '-', '\\'];
    let mut frame = 0;
    if !spinner {
        errln!(
            "waiting for the browser to come back to http://127.0.0.1:{port}{redirect_path} ..."
        );
    }
    let mut arrived = Arrived::default();
    loop {
        if Instant::now() > deadline {
            if spinner {
                errln!();
            }
            return Err(Failure::server(arrived.timeout_message(
                wait.as_secs(),
                port,
                redirect_path,
            )));
        }
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(target) = serve(stream, request, redirect_path, &mut arrived) {
                    if spinner {
                        errln!("\rbrowser returned                                   ");
                    }
                    return Ok(format!("http://127.0.0.1:{port}{target}"));
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                if spinner {
                    err!(
                        "\r{} waiting for the browser to sign in ... ",
                        frames[frame % frames.len()]
                    );
                    let _ = std::io::stderr().flush();
                    frame += 1;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => {
                return Err(Failure::server(format!(
                    "the redirect listener failed: {error}"
                )));
            }
        }
    }
}

/// What reached the listener besides the callback, for the message when none came.
#[derive(Default)]
pub(crate) struct Arrived {
    count: usize,
    last: Option<String>,
}

impl Arrived {
    fn record(&mut self, shown: String) {
        self.count += 1;
        self.last = Some(shown);
    }

    /// "no callback within N s", saying what did arrive.
    pub(crate) fn timeout_message(&self, seconds: u64, port: u16, redirect_path: &str) -> String {
        let mut message = format!("no callback within {seconds} s");
        match &self.last {
            None => message.push_str(
                "; nothing reached the listener: run again and finish signing in, or raise --wait",
            ),
            Some(last) => {
                let plural = if self.count == 1 { "" } else { "s" };
                let _ = write!(
                    message,
                    "; the listener answered {} other request{plural} (the last: {last}), but none to the redirect URI http://127.0.0.1:{port}{redirect_path}: check the redirect URI registered with the server",
                    self.count
                );
            }
        }
        message
    }
}

/// Answers one browser request. Returns the request target when it is the callback.
fn serve(
    mut stream: TcpStream,
    request: &smart_client::AuthorizationRequest,
    redirect_path: &str,
    arrived: &mut Arrived,
) -> Option<String> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buffer = vec![0u8; MAX_REQUEST];
    let mut read = 0;
    while read < buffer.len() {
        match stream.read(&mut buffer[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                read += n;
                if buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    let parsed = listener::parse(&buffer[..read], redirect_path);
    let status = parsed.status();
    let (status, body, callback) = match parsed {
        listener::Request::Callback { target, error } => (
            status,
            listener::callback_page(error.as_deref()),
            Some(target),
        ),
        listener::Request::Start if request.method() == AuthorizeMethod::Post => {
            (status, request.html(), None)
        }
        listener::Request::Start => {
            arrived.record("GET /start, answered 404 Not Found".to_owned());
            (
                "404 Not Found",
                "<!doctype html><title>Not found</title>".to_owned(),
                None,
            )
        }
        listener::Request::Other { shown } => {
            arrived.record(format!("{shown}, answered {status}"));
            (
                status,
                "<!doctype html><title>Not found</title>".to_owned(),
                None,
            )
        }
        listener::Request::Malformed => {
            arrived.record(format!("a request that is not HTTP, answered {status}"));
            (
                status,
                "<!doctype html><title>Bad request</title>".to_owned(),
                None,
            )
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    callback
}

/// Opens `url` in the default browser, best effort.
fn open_browser(url: &str) {
    let command = if cfg!(target_os = "macos") {
        std::process::Command::new("open").arg(url).spawn()
    } else if cfg!(windows) {
        std::process::Command::new("cmd")
            .args(["/C", "start", "", url])
            .spawn()
    } else {
        std::process::Command::new("xdg-open").arg(url).spawn()
    };
    if let Err(error) = command {
        errln!("could not open a browser ({error}); open the URL above yourself");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_says_what_arrived() {
        let mut arrived = Arrived::default();
        assert_eq!(
            arrived.timeout_message(120, 5000, "/callback"),
            "no callback within 120 s; nothing reached the listener: run again and finish signing in, or raise --wait"
        );
        arrived.record("GET /favicon.ico, answered 404 Not Found".to_owned());
        arrived.record("a request that is not HTTP, answered 400 Bad Request".to_owned());
        assert_eq!(
            arrived.timeout_message(120, 5000, "/callback"),
            "no callback within 120 s; the listener answered 2 other requests (the last: a request that is not HTTP, answered 400 Bad Request), but none to the redirect URI http://127.0.0.1:5000/callback: check the redirect URI registered with the server"
        );
    }

    fn token(scope: &str) -> smart_client::token::TokenResponse {
        let body = serde_json::json!({"access_token": "a", "token_type": "Bearer", "scope": scope});
        let response = http_response(body.to_string());
        smart_client::token::TokenResponse::parse(&response).unwrap()
    }

    fn http_response(body: String) -> smart_client::ureq::http::Response<Vec<u8>> {
        smart_client::ureq::http::Response::builder()
            .status(200)
            .body(body.into_bytes())
            .unwrap()
    }

    #[test]
    fn a_granted_fhir_user_without_the_claim_gets_a_note() {
        assert_eq!(
            fhir_user_note(&token("openid fhirUser patient/*.rs"), None),
            Some("the server granted openid fhirUser but sent no id_token, so the user is unknown")
        );
        assert_eq!(fhir_user_note(&token("openid patient/*.rs"), None), None);
        assert_eq!(fhir_user_note(&token("fhirUser patient/*.rs"), None), None);
    }
}
