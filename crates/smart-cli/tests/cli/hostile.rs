//! The `smart` command against a hostile server on loopback (issue 20): terminal escapes in
//! server text, secrets echoed back, error bodies that are not JSON, userinfo in endpoints,
//! algorithms the server does not list, and local files that are not files.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;

use crate::{run, scratch, smart, stderr, stdout};

/// A canned answer: status, content type, body.
type Answer = (u16, &'static str, String);

/// A loopback server answering each path with `route(path, base)`; stops when dropped.
struct Hostile {
    base: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Hostile {
    fn start(route: impl Fn(&str, &str) -> Answer + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            let base = base.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            stream.set_nonblocking(false).unwrap();
                            stream
                                .set_read_timeout(Some(Duration::from_secs(5)))
                                .unwrap();
                            let path = read_request(&mut stream);
                            let (status, content_type, body) = route(&path, &base);
                            let _ = write!(
                                stream,
                                "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            );
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Self {
            base,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads the head and the body (by Content-Length); returns the path.
fn read_request(stream: &mut std::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&data);
    let target = text
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned();
    target.split('?').next().unwrap_or("/").to_owned()
}

const ESCAPE: &str = "\u{1b}[2J\u{9b}31m\u{202e}";

fn document(base: &str, extra: &serde_json::Value) -> String {
    let mut doc = json!({
        "issuer": format!("{base}/fhir"),
        "token_endpoint": format!("{base}/token"),
        "authorization_endpoint": format!("{base}/authorize"),
        "introspection_endpoint": format!("{base}/introspect"),
        "grant_types_supported": ["authorization_code", format!("evil{ESCAPE}")],
        "code_challenge_methods_supported": ["S256", format!("x{ESCAPE}")],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", format!("y{ESCAPE}")],
        "capabilities": ["launch-standalone", "client-confidential-asymmetric", format!("z{ESCAPE}")],
    });
    for (key, value) in extra.as_object().unwrap() {
        doc[key] = value.clone();
    }
    doc.to_string()
}

/// stderr without the development-only warning of the http:// opt-in.
fn errors(output: &std::process::Output) -> String {
    stderr(output)
        .lines()
        .filter(|line| !line.starts_with("WARN "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// No raw escape, C1 or bidi control anywhere in what a person sees.
fn assert_clean(text: &str) {
    for bad in ['\u{1b}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(bad), "{bad:?} in {text:?}");
    }
}

#[test]
fn discover_escapes_every_server_string() {
    let server = Hostile::start(|path, base| match path {
        "/fhir/.well-known/smart-configuration" => {
            (200, "application/json", document(base, &json!({})))
        }
        _ => (404, "text/plain", String::new()),
    });
    let output = run(smart().args([
        "--allow-insecure-localhost",
        "discover",
        &format!("{}/fhir", server.base),
    ]));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", stderr(&output));
    assert_clean(&text);
    assert!(text.contains("evil\\u{1b}[2J\\u{9b}31m\\u{202e}"), "{text}");
    assert!(text.contains("[x] z\\u{1b}[2J"), "{text}");
    // --json keeps the values, written as \u escapes.
    let output = run(smart().args([
        "--json",
        "--allow-insecure-localhost",
        "discover",
        &format!("{}/fhir", server.base),
    ]));
    let text = stdout(&output);
    assert_clean(&text);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value["configuration"]["grant_types_supported"][1],
        format!("evil{ESCAPE}")
    );
}

#[test]
fn discover_refuses_an_endpoint_with_userinfo() {
    let server = Hostile::start(|path, base| match path {
        "/fhir/.well-known/smart-configuration" => {
            let token = base.replace("http://", "http://user:hunter2@") + "/token";
            (
                200,
                "application/json",
                document(base, &json!({"token_endpoint": token})),
            )
        }
        _ => (404, "text/plain", String::new()),
    });
    let output = run(smart().args([
        "--allow-insecure-localhost",
        "discover",
        &format!("{}/fhir", server.base),
    ]));
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(!err.contains("hunter2"), "{err}");
    assert!(
        err.contains("its token_endpoint `http://user:redacted@127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.contains("carries a user name or password (user:password@ before the host), which an endpoint must not"),
        "{err}"
    );
}

const SECRET: &str = "s3cr3t+/=value";

fn refresh(server: &Hostile) -> std::process::Command {
    let mut command = smart();
    command
        .args([
            "--allow-insecure-localhost",
            "token",
            "refresh",
            "--fhir-base",
            &format!("{}/fhir", server.base),
            "--client-id",
            "app",
            "--client-secret-env",
            "HOSTILE_SECRET",
            "--token-env",
            "HOSTILE_REFRESH",
        ])
        .env("HOSTILE_SECRET", SECRET)
        .env("HOSTILE_REFRESH", "rt-0123456789");
    command
}

#[test]
fn echoed_secrets_are_redacted_and_the_description_shown_once() {
    let server = Hostile::start(|path, base| {
        match path {
        "/fhir/.well-known/smart-configuration" => {
            (200, "application/json", document(base, &json!({})))
        }
        "/token" => (
            401,
            "application/json",
            json!({
                "error": "invalid_client",
                "error_description": format!("bad secret {SECRET} for rt-0123456789 ({})", "s3cr3t%2B%2F%3Dvalue"),
            })
            .to_string(),
        ),
        _ => (404, "text/plain", String::new()),
    }
    });
    let output = run(&mut refresh(&server));
    assert_eq!(output.status.code(), Some(1));
    let err = errors(&output);
    assert!(!err.contains("s3cr3t") && !err.contains("rt-0123"), "{err}");
    assert_eq!(
        err.matches("bad secret [redacted] for [redacted] ([redacted])")
            .count(),
        1,
        "{err}"
    );
    assert!(
        err.starts_with(
            "error: token request failed — HTTP 401 — invalid_client; check the client_id"
        ),
        "{err}"
    );
    assert!(
        err.contains("; the secret was sent raw in the Basic header; if the server follows RFC 6749 section 2.3.1, try --secret-method basic-rfc6749 (or --secret-method post)"),
        "{err}"
    );
    let output = run(refresh(&server).arg("--json"));
    let text = stdout(&output);
    assert!(
        !text.contains("s3cr3t") && !text.contains("rt-0123"),
        "{text}"
    );
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value["oauth"]["error_description"],
        "bad secret [redacted] for [redacted] ([redacted])"
    );
    assert!(
        !value["error"].as_str().unwrap().contains("bad secret"),
        "{value}"
    );
}

#[test]
fn a_non_json_error_body_is_shown_and_a_401_at_introspection_hints_bearer() {
    let server = Hostile::start(|path, base| match path {
        "/fhir/.well-known/smart-configuration" => {
            (200, "application/json", document(base, &json!({})))
        }
        "/introspect" => (
            401,
            "text/plain",
            format!("Authorization is required{ESCAPE} (you sent {SECRET})"),
        ),
        _ => (404, "text/plain", String::new()),
    });
    let output = run(smart()
        .args([
            "--allow-insecure-localhost",
            "introspect",
            "--fhir-base",
            &format!("{}/fhir", server.base),
            "--client-id",
            "app",
            "--client-secret-env",
            "HOSTILE_SECRET",
            "--token-env",
            "HOSTILE_TOKEN",
        ])
        .env("HOSTILE_SECRET", SECRET)
        .env("HOSTILE_TOKEN", "at-0123456789"));
    assert_eq!(output.status.code(), Some(1));
    let err = errors(&output);
    assert_clean(&err);
    assert_eq!(
        err.trim_end(),
        "error: introspection request failed — HTTP 401 — the server said: \"Authorization is required [2J 31m (you sent [redacted])\"; the introspection endpoint may want a token authorised to introspect: pass it with --bearer-env VAR"
    );
}

#[test]
fn backend_refuses_an_algorithm_the_server_does_not_list_before_signing() {
    let token_calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let calls = Arc::clone(&token_calls);
    let server = Hostile::start(move |path, base| match path {
        "/fhir/.well-known/smart-configuration" => (
            200,
            "application/json",
            document(
                base,
                &json!({"token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256"]}),
            ),
        ),
        "/token" => {
            calls.fetch_add(1, Ordering::Relaxed);
            (
                400,
                "application/json",
                r#"{"error": "invalid_client"}"#.to_owned(),
            )
        }
        _ => (404, "text/plain", String::new()),
    });
    let dir = scratch();
    let key = dir.join("key.pem");
    let made = run(smart().args(["keygen", "--alg", "ES384", "--out", key.to_str().unwrap()]));
    assert!(made.status.success(), "{}", stderr(&made));
    let output = run(smart().args([
        "--allow-insecure-localhost",
        "token",
        "backend",
        "--fhir-base",
        &format!("{}/fhir", server.base),
        "--client-id",
        "svc",
        "--key",
        key.to_str().unwrap(),
    ]));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        errors(&output).trim_end(),
        "error: the server accepts client assertions signed with RS256, PS256 only (token_endpoint_auth_signing_alg_values_supported), not ES384; nothing was sent. SMART requires servers to accept RS384 and ES384: use a key and --alg the server lists, or report it to the server's operator"
    );
    assert_eq!(token_calls.load(Ordering::Relaxed), 0);
    // discover reports it as a compliance finding.
    let output = run(smart().args([
        "--allow-insecure-localhost",
        "discover",
        &format!("{}/fhir", server.base),
    ]));
    assert!(
        stdout(&output).contains("lists neither RS384 nor ES384 (it lists RS256, PS256)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn local_files_that_are_not_files_or_too_large_are_refused() {
    let dir = scratch();
    let big = dir.join("big.pem");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1024 * 1024 + 1)
        .unwrap();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["jwks".into(), "--key".into(), "/dev/zero".into()],
            "error: cannot read the key from /dev/zero: it is not a regular file (a directory, a device or a FIFO); give the path of a file".into(),
        ),
        (
            vec!["jwks".into(), "--key".into(), big.display().to_string()],
            format!("error: cannot read the key from {}: it is larger than 1 MiB, the limit for a key; check the path", big.display()),
        ),
        (
            vec![
                "token".into(),
                "exchange".into(),
                "--fhir-base".into(),
                "https://ehr.example/fhir".into(),
                "--pending".into(),
                dir.display().to_string(),
                "--callback-env".into(),
                "X".into(),
            ],
            format!("error: cannot read the pending authorization from {}: it is not a regular file (a directory, a device or a FIFO); give the path of a file", dir.display()),
        ),
        (
            vec![
                "register".into(),
                "--fhir-base".into(),
                "https://ehr.example/fhir".into(),
                "--metadata".into(),
                "/dev/zero".into(),
            ],
            "error: cannot read the metadata file from /dev/zero: it is not a regular file (a directory, a device or a FIFO); give the path of a file".into(),
        ),
        (
            vec![
                "demo".into(),
                "--server".into(),
                "https://ehr.example/fhir".into(),
                "--clients".into(),
                "/dev/zero".into(),
            ],
            "error: cannot read the clients file from /dev/zero: it is not a regular file (a directory, a device or a FIFO); give the path of a file".into(),
        ),
        (
            vec![
                "udap".into(),
                "discover".into(),
                "https://ehr.example/fhir".into(),
                "--anchor".into(),
                "/dev/zero".into(),
            ],
            "error: cannot read the trust anchor from /dev/zero: it is not a regular file (a directory, a device or a FIFO); give the path of a file".into(),
        ),
        (
            vec!["sandbox".into(), "--clients".into(), "/dev/zero".into()],
            "error: cannot read the clients file /dev/zero: it is not a regular file (a directory, a device or a FIFO); give the path of a file".into(),
        ),
    ];
    for (args, expected) in cases {
        let started = std::time::Instant::now();
        let output = run(smart().args(&args));
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(errors(&output).trim_end(), expected, "{args:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{args:?}");
    }
}
