//! The transport: timeouts, redirects on POST, body limits, headers.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use smart_client::{
    ClientConfig, ClientError, ClientType, HttpOptions, SmartClient, TransportErrorKind,
};
use smart_token::RefreshToken;

use crate::Ehr;

#[test]
fn a_server_that_never_answers_times_out_in_time() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    // Accept and hold connections without ever answering.
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(1) {
            held.push(stream);
            std::thread::sleep(Duration::from_secs(3));
        }
    });
    let config = ClientConfig::builder(format!("http://{address}/fhir"))
        .allow_insecure_localhost(true)
        .http_options(HttpOptions::new().timeout(Duration::from_millis(500)))
        .build()
        .unwrap();
    let client = SmartClient::new(config, ClientType::Public).unwrap();
    let started = Instant::now();
    let err = client.discover().unwrap_err();
    let elapsed = started.elapsed();
    let ClientError::Network { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.kind(), TransportErrorKind::Timeout, "{err}");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    holder.join().unwrap();
}

#[test]
fn a_refused_connection_is_a_network_error() {
    let address = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = ClientConfig::builder(format!("http://{address}/fhir"))
        .allow_insecure_localhost(true)
        .build()
        .unwrap();
    let err = SmartClient::new(config, ClientType::Public)
        .unwrap()
        .discover()
        .unwrap_err();
    let ClientError::Network { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.kind(), TransportErrorKind::Connect, "{err}");
}

#[test]
fn redirects_on_token_posts_are_never_followed() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let root = ehr.server.url();
    ehr.server
        .mock("POST", "/auth/token")
        .with_status(307)
        .with_header("location", &format!("{root}/elsewhere/token"))
        .create();
    let elsewhere = ehr
        .server
        .mock("POST", "/elsewhere/token")
        .expect(0)
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    let err = client.refresh(&RefreshToken::new("rt"), None).unwrap_err();
    let ClientError::RedirectBlocked { reason, to, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*reason, "redirects are never followed on POST");
    assert!(to.ends_with("/elsewhere/token"));
    elsewhere.assert();
}

#[test]
fn a_ten_megabyte_body_is_refused_while_reading() {
    let mut ehr = Ehr::new();
    ehr.server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_status(200)
        .with_chunked_body(|writer| {
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..160 {
                writer.write_all(&chunk)?;
            }
            Ok(())
        })
        .create();
    let client = ehr.client(
        ehr.config()
            .http_options(HttpOptions::new().max_body_bytes(1024 * 1024)),
        ClientType::Public,
    );
    let err = client.discover().unwrap_err();
    let ClientError::ResponseTooLarge { limit, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*limit, 1024 * 1024);
}

#[test]
fn closures_over_the_limit_are_refused_too() {
    let config = ClientConfig::builder("https://ehr.example/fhir")
        .http_options(HttpOptions::new().max_body_bytes(10))
        .build()
        .unwrap();
    let client =
        SmartClient::with_http_client(config, ClientType::Public, |_: http::Request<Vec<u8>>| {
            Ok(http::Response::builder()
                .status(200)
                .body(vec![b'{'; 11])
                .unwrap())
        })
        .unwrap();
    assert!(matches!(
        client.discover().unwrap_err(),
        ClientError::ResponseTooLarge { limit: 10, .. }
    ));
}

#[test]
fn requests_carry_user_agent_and_no_proxy_from_the_environment() {
    // A proxy in the environment must not be used: the request reaches the server directly.
    // SAFETY-free: the variable is only read by ureq's Config::default, which we do not use.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = vec![0u8; 4096];
        let read = stream.read(&mut request).unwrap();
        let text = String::from_utf8_lossy(&request[..read]).into_owned();
        stream
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        text
    });
    let config = ClientConfig::builder(format!("http://{address}/fhir"))
        .allow_insecure_localhost(true)
        .build()
        .unwrap();
    let _ = SmartClient::new(config, ClientType::Public)
        .unwrap()
        .discover();
    let request = server.join().unwrap().to_ascii_lowercase();
    assert!(
        request.starts_with("get /fhir/.well-known/smart-configuration http/1.1"),
        "{request}"
    );
    assert!(
        request.contains(&format!(
            "user-agent: smart-on-fhir/{}",
            env!("CARGO_PKG_VERSION")
        )),
        "{request}"
    );
    assert!(request.contains("accept: application/json"), "{request}");
}

#[test]
fn huge_timeouts_do_not_panic() {
    let mut ehr = Ehr::new();
    let discovery = ehr.serve_discovery(1);
    let options = HttpOptions::new()
        .timeout(Duration::MAX)
        .connect_timeout(Duration::MAX);
    assert_eq!(options.get_timeout(), HttpOptions::MAX_TIMEOUT);
    let client = ehr.client(ehr.config().http_options(options), ClientType::Public);
    let configuration = client.discover().unwrap();
    assert!(configuration.token_endpoint().is_some());
    discovery.assert();
    // The same through a refused connection: an error, not a panic.
    let address = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = ClientConfig::builder(format!("http://{address}/fhir"))
        .allow_insecure_localhost(true)
        .http_options(
            HttpOptions::new()
                .timeout(Duration::MAX)
                .connect_timeout(Duration::MAX),
        )
        .build()
        .unwrap();
    let err = SmartClient::new(config, ClientType::Public)
        .unwrap()
        .discover()
        .unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err:?}");
}

/// A caller's agent: no proxy from the environment, and redirects it would follow itself.
fn callers_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .max_redirects(10)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

#[test]
fn a_callers_agent_is_used_and_our_policies_still_hold() {
    let mut ehr = Ehr::new();
    let discovery = ehr.serve_discovery(1);
    let root = ehr.server.url();
    ehr.server
        .mock("POST", "/auth/token")
        .with_status(307)
        .with_header("location", &format!("{root}/elsewhere/token"))
        .create();
    let elsewhere = ehr
        .server
        .mock("POST", "/elsewhere/token")
        .expect(0)
        .create();
    let client = SmartClient::with_agent(
        ehr.config().build().unwrap(),
        ClientType::Public,
        callers_agent(),
    )
    .unwrap();
    client.discover().unwrap();
    discovery.assert();
    // The agent would follow 10 redirects; the client follows none on POST.
    let err = client.refresh(&RefreshToken::new("rt"), None).unwrap_err();
    assert!(
        matches!(err, ClientError::RedirectBlocked { .. }),
        "{err:?}"
    );
    elsewhere.assert();
}

#[test]
fn ureq_client_with_agent_applies_the_body_limit() {
    let mut ehr = Ehr::new();
    let discovery = ehr.serve_discovery(2);
    let limited = SmartClient::with_http_client(
        ehr.config().build().unwrap(),
        ClientType::Public,
        smart_client::UreqClient::with_agent(callers_agent(), 100),
    )
    .unwrap();
    let err = limited.discover().unwrap_err();
    assert!(
        matches!(err, ClientError::ResponseTooLarge { .. }),
        "{err:?}"
    );
    let roomy = SmartClient::with_http_client(
        ehr.config().build().unwrap(),
        ClientType::Public,
        smart_client::UreqClient::with_agent(callers_agent(), 1024 * 1024),
    )
    .unwrap();
    roomy.discover().unwrap();
    discovery.assert();
}
