//! HTTP behaviour: keep-alive, limits, malformed input, unknown paths, start and stop.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use smart_sandbox::{RegisteredClient, Sandbox, SandboxConfig, SandboxError, demo};

use crate::{agent, get, post_form, send};

#[test]
fn one_keep_alive_agent_uses_one_connection() {
    let sandbox = Sandbox::start().unwrap();
    assert_eq!(sandbox.connections(), 0);
    let agent = agent();
    let well_known = format!("{}/.well-known/smart-configuration", sandbox.base_url());
    assert_eq!(get(&agent, &well_known, None).status, 200);
    assert_eq!(
        get(&agent, &format!("{}/jwks", sandbox.base_url()), None).status,
        200
    );
    let token = crate::code_flow(
        &agent,
        &sandbox,
        &crate::public_auth(),
        crate::PATIENT_SCOPES,
        None,
    );
    assert!(token.refresh_token().is_some());
    assert_eq!(sandbox.connections(), 1);

    // A second agent has its own connection.
    assert_eq!(get(&crate::agent(), &well_known, None).status, 200);
    assert_eq!(sandbox.connections(), 2);
}

/// Sends raw bytes and reads the whole answer (the server closes or the read times out).
fn raw(sandbox: &Sandbox, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", sandbox.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                answer.extend_from_slice(&buffer[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn bodies_over_the_limit_are_refused() {
    let sandbox = Sandbox::start().unwrap();
    // Declared too large: refused before the body is read.
    let answer = raw(
        &sandbox,
        b"POST /token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 1000000\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");

    // Chunked, and too large once read.
    let chunk = "a".repeat(16 * 1024);
    let mut request = String::from(
        "POST /token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\n",
    );
    for _ in 0..5 {
        let _ = write!(request, "{:x}\r\n{chunk}\r\n", chunk.len());
    }
    request.push_str("0\r\n\r\n");
    let answer = raw(&sandbox, request.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Just under the limit is read (and refused for what it says).
    let body = format!(
        "grant_type=x&pad={}",
        "a".repeat(smart_sandbox::MAX_BODY_BYTES - 100)
    );
    let answer = send(
        &agent(),
        http::Request::builder()
            .method("POST")
            .uri(sandbox.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.into_bytes())
            .unwrap(),
    );
    assert_eq!(answer.oauth_error(401), "invalid_client");
}

#[test]
fn oversized_headers_are_refused() {
    let sandbox = Sandbox::start().unwrap();
    let request = format!(
        "GET /jwks HTTP/1.1\r\nhost: x\r\nx-padding: {}\r\n\r\n",
        "a".repeat(smart_sandbox::MAX_HEAD_BYTES + 1)
    );
    let answer = raw(&sandbox, request.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // The server lives on.
    assert_eq!(
        get(&agent(), &format!("{}/jwks", sandbox.base_url()), None).status,
        200
    );
}

#[test]
fn malformed_requests_get_json_errors() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let token_url = sandbox.token_url();
    // Not a form.
    let answer = send(
        &agent,
        http::Request::builder()
            .method("POST")
            .uri(&token_url)
            .header("content-type", "application/json")
            .body(br#"{"grant_type": "client_credentials"}"#.to_vec())
            .unwrap(),
    );
    assert_eq!(answer.oauth_error(400), "invalid_request");
    // A repeated parameter.
    let answer = post_form(
        &agent,
        &token_url,
        &[
            ("client_id", demo::PUBLIC_CLIENT_ID),
            ("client_id", demo::PUBLIC_CLIENT_ID),
        ],
        None,
    );
    assert_eq!(answer.oauth_error(400), "invalid_request");
    // No grant_type, an unknown one, and one the client is not registered for.
    let answer = post_form(
        &agent,
        &token_url,
        &[("client_id", demo::PUBLIC_CLIENT_ID)],
        None,
    );
    assert_eq!(answer.oauth_error(400), "invalid_request");
    let answer = post_form(
        &agent,
        &token_url,
        &[
            ("client_id", demo::PUBLIC_CLIENT_ID),
            ("grant_type", "password"),
        ],
        None,
    );
    assert_eq!(answer.oauth_error(400), "unsupported_grant_type");
    let answer = post_form(
        &agent,
        &token_url,
        &[
            ("client_id", demo::PUBLIC_CLIENT_ID),
            ("grant_type", "client_credentials"),
            ("scope", "system/*.rs"),
        ],
        None,
    );
    assert_eq!(answer.oauth_error(400), "unauthorized_client");
    // Binary garbage and invalid UTF-8 in the body.
    let answer = send(
        &agent,
        http::Request::builder()
            .method("POST")
            .uri(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![0xff, 0xfe, b'=', 0x00, b'&', b'%', b'z'])
            .unwrap(),
    );
    assert_eq!(answer.oauth_error(401), "invalid_client");
    // Wrong methods.
    let answer = get(&agent, &token_url, None);
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("POST"));
    assert_eq!(answer.json()["error"], "invalid_request");
    let answer = post_form(
        &agent,
        &format!("{}/.well-known/smart-configuration", sandbox.base_url()),
        &[],
        None,
    );
    assert_eq!(answer.status, 405);
    // Unknown paths.
    for path in [
        "/",
        "/nothing",
        "/Patient/",
        "/Patient/a/b",
        "/Medication/1",
        "/Observation/a/b",
    ] {
        let answer = get(&agent, &format!("{}{path}", sandbox.base_url()), None);
        assert_eq!(answer.status, 404, "{path}");
        assert!(answer.json().contains_key("error"), "{path}");
    }
    // Not HTTP at all: hyper answers 400 and the server lives on.
    let answer = raw(&sandbox, b"\x16\x03\x01\x02\x00 not http\r\n\r\n");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    assert_eq!(
        get(&agent, &format!("{}/jwks", sandbox.base_url()), None).status,
        200
    );
}

#[test]
fn start_errors_and_shutdown() {
    let first = Sandbox::start().unwrap();
    let port = first.port();
    assert_eq!(first.base_url(), format!("http://127.0.0.1:{port}"));
    let busy = Sandbox::start_with(SandboxConfig::new().port(port)).unwrap_err();
    assert!(matches!(busy, SandboxError::Bind { .. }), "{busy}");
    first.shutdown();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());

    let duplicate = Sandbox::start_with(SandboxConfig::new().client(RegisteredClient::public(
        demo::PUBLIC_CLIENT_ID,
        vec![demo::REDIRECT_URI.into()],
    )))
    .unwrap_err();
    assert!(
        matches!(duplicate, SandboxError::DuplicateClient { .. }),
        "{duplicate}"
    );
    let invalid = Sandbox::start_with(
        SandboxConfig::new().client(RegisteredClient::public("x", vec!["ftp://x/cb".into()])),
    )
    .unwrap_err();
    assert!(
        matches!(invalid, SandboxError::InvalidClient { .. }),
        "{invalid}"
    );

    // Dropping stops the server too.
    let dropped = Sandbox::start().unwrap();
    let port = dropped.port();
    drop(dropped);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn clients_file() {
    let dir = std::env::temp_dir().join(format!("smart-sandbox-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clients.json");
    let jwks = serde_json::to_value(demo::client_jwks()).unwrap();
    let file = serde_json::json!({"clients": [
        {"client_id": "file-public", "token_endpoint_auth_method": "none",
         "redirect_uris": ["http://127.0.0.1/cb"], "scope": "launch/patient patient/*.rs"},
        {"client_id": "file-secret", "client_secret": "s3cr3t",
         "redirect_uris": ["https://app.example/cb"]},
        {"client_id": "file-backend", "token_endpoint_auth_method": "private_key_jwt",
         "grant_types": ["client_credentials"], "scope": "system/*.rs", "jwks": jwks}
    ]});
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    let sandbox = Sandbox::start_with(
        SandboxConfig::new()
            .without_demo_clients()
            .clients_from_file(&path)
            .unwrap(),
    )
    .unwrap();
    let agent = agent();
    let auth = smart_token::ClientAuth::public(crate::client_id("file-public"));
    let request =
        crate::AuthorizeRequest::new(&sandbox, "file-public", "launch/patient patient/*.rs")
            .set("redirect_uri", Some("http://127.0.0.1/cb"));
    let code = crate::redirect_params(&request.get(&agent, &sandbox).location())["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let token_request = smart_token::TokenRequest::authorization_code(
        &smart_token::AuthorizationCode::new(code),
        &smart_core::RedirectUri::parse("http://127.0.0.1/cb").unwrap(),
        &request.verifier,
    )
    .build(&crate::token_url(&sandbox), &auth)
    .unwrap();
    assert_eq!(send(&agent, token_request).status, 200);
    let backend = crate::key_auth("file-backend", &demo::backend_key(), demo::backend_kid());
    let request = smart_token::TokenRequest::client_credentials(None)
        .unwrap()
        .build(&crate::token_url(&sandbox), &backend)
        .unwrap();
    assert_eq!(send(&agent, request).status, 200);
    // The demo clients are gone.
    let request = crate::AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, "patient/*.rs");
    assert_eq!(request.get(&agent, &sandbox).status, 400);

    for (bad, expected) in [
        ("[]", "ClientsFile"),
        ("{\"clients\": {}}", "ClientsFile"),
        ("{\"clients\": [1]}", "ClientsFile"),
        ("{\"clients\": [{\"redirect_uris\": []}]}", "InvalidClient"),
        (
            "{\"clients\": [{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.example/cb\"]}]}",
            "InvalidClient",
        ),
        (
            "{\"clients\": [{\"client_id\": \"a\", \"token_endpoint_auth_method\": \"none\", \"client_secret\": \"x\", \"redirect_uris\": [\"https://a.example/cb\"]}]}",
            "InvalidClient",
        ),
    ] {
        let error = SandboxConfig::new().clients_from_json(bad).unwrap_err();
        assert!(
            format!("{error:?}").starts_with(expected),
            "{bad}: {error:?}"
        );
    }
    // The other clients file, the conformance client profile, is recognised and explained.
    let profile = r#"{"public": {"client_id": "app", "redirect_uri": "https://app.example/cb"}}"#;
    let error = SandboxConfig::new().clients_from_json(profile).unwrap_err();
    assert!(
        error.to_string().contains("conformance client profile"),
        "{error}"
    );
    let missing = SandboxConfig::new()
        .clients_from_file(dir.join("missing.json"))
        .unwrap_err();
    assert!(matches!(missing, SandboxError::ReadClients { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_jwks_uri_of_a_client_is_fetched_over_loopback() {
    // One sandbox serves the demo JWK Set; another registers a client whose jwks_uri points
    // at it, and fetches it over HTTP.
    let keys_host = Sandbox::start().unwrap();
    let uri = format!("{}{}", keys_host.base_url(), demo::CLIENT_JWKS_PATH);
    let sandbox = Sandbox::start_with(
        SandboxConfig::new().client(
            RegisteredClient::backend_service(
                "remote-keys",
                smart_sandbox::ClientKeys::JwksUri(uri),
            )
            .with_scopes("system/*.rs".parse().unwrap()),
        ),
    )
    .unwrap();
    let agent = agent();
    let auth = crate::key_auth("remote-keys", &demo::es384_key(), demo::ES384_KID);
    let request = smart_token::TokenRequest::client_credentials(None)
        .unwrap()
        .build(&crate::token_url(&sandbox), &auth)
        .unwrap();
    assert_eq!(send(&agent, request).status, 200);
    assert_eq!(keys_host.connections(), 1);
    // When the key host is gone, authentication fails cleanly.
    keys_host.shutdown();
    let request = smart_token::TokenRequest::client_credentials(None)
        .unwrap()
        .build(&crate::token_url(&sandbox), &auth)
        .unwrap();
    assert_eq!(send(&agent, request).oauth_error(401), "invalid_client");
}
