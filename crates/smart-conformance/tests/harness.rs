//! The harness against the embedded sandbox, and the browser against a server that sends it
//! through a login page with a cookie.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use smart_client::{AuthorizeOptions, ClientConfig, ClientType, SmartClient};
use smart_conformance::{Browser, Outcome, Transcript, run_all, sandbox_profile};

#[test]
fn every_flow_passes_against_the_sandbox() {
    let sandbox = smart_sandbox::Sandbox::start().unwrap();
    let profile = sandbox_profile(&sandbox, Duration::from_secs(10));
    let lines = std::cell::RefCell::new(Vec::<String>::new());
    let sink = |line: &str| lines.borrow_mut().push(line.to_owned());
    let report = run_all(&profile, &Transcript::to(&sink));
    for (name, outcome) in &report.steps {
        // Without UDAP mode the three UDAP steps are skipped, with the reason.
        if name.starts_with("UDAP") {
            assert!(
                matches!(outcome, Outcome::Skipped(_)),
                "{name}: {outcome:?}"
            );
        } else {
            assert_eq!(*outcome, Outcome::Passed, "{name}");
        }
    }
    assert_eq!(report.passed(), 15, "{}", report.table());
    let text = lines.borrow().join("\n");
    assert!(text.contains("code=[redacted]"), "{text}");
    assert!(text.contains("id_token verified (RS256"), "{text}");
    assert_eq!(report.to_json()["failed"], 0);
}

/// A server whose authorize endpoint sends the browser to a login page that sets a cookie,
/// then to a consent page that needs it, and only then to the callback.
#[test]
fn the_browser_follows_login_and_consent_with_its_cookies() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let callback = format!("{base}/callback");
    let served = std::thread::spawn({
        let callback = callback.clone();
        move || {
            let mut paths = Vec::new();
            for _ in 0..3 {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut cookie = String::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("cookie:") {
                        cookie = value.trim().to_owned();
                    }
                }
                let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                let answer = if path.starts_with("/authorize") {
                    "HTTP/1.1 302 Found\r\nlocation: /login\r\nset-cookie: sid=s1; Path=/; HttpOnly\r\n".to_owned()
                } else if path == "/login" && cookie == "sid=s1" {
                    "HTTP/1.1 303 See Other\r\nlocation: consent\r\n".to_owned()
                } else if path == "/consent" && cookie == "sid=s1" {
                    format!("HTTP/1.1 302 Found\r\nlocation: {callback}?code=c1&state=x\r\n")
                } else {
                    "HTTP/1.1 400 Bad Request\r\n".to_owned()
                };
                let mut stream = stream;
                stream
                    .write_all(
                        format!("{answer}content-length: 0\r\nconnection: close\r\n\r\n")
                            .as_bytes(),
                    )
                    .unwrap();
                paths.push(path);
            }
            paths
        }
    });
    // An authorization request aimed at the fake server (discovery is not needed for GET).
    let config = ClientConfig::builder(format!("{base}/fhir"))
        .allow_insecure_localhost(true)
        .client_id("app")
        .redirect_uri(callback.clone())
        .scopes("launch/patient")
        .authorization_endpoint(format!("{base}/authorize"))
        .build()
        .unwrap();
    let client = SmartClient::new(config, ClientType::Public).unwrap();
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let reached = Browser::new().authorize(&request, &callback).unwrap();
    assert!(
        reached.starts_with(&format!("{callback}?code=c1")),
        "{reached}"
    );
    let paths = served.join().unwrap();
    assert_eq!(paths[1..], ["/login".to_owned(), "/consent".to_owned()]);
}
