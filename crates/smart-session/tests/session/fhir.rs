//! FHIR requests through sessions: one refresh and one retry on 401, Bundle paging, and the
//! token never sent outside the FHIR base, a `next` link on another host included.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use serde_json::json;
use smart_client::token::{TokenRef, TokenResponse};
use smart_client::{ClientConfig, ClientError, ClientType, HttpOptions, SmartClient};
use smart_sandbox::{SandboxConfig, demo};
use smart_session::{AsyncSession, Session, SessionConfig, SessionError};

use crate::{asynchronous, launch, public_client, sandbox};

const THREADS: usize = 8;

#[test]
fn a_revoked_token_is_refreshed_once_for_all_readers_and_each_read_retried() {
    let sandbox = sandbox(None, SandboxConfig::new());
    let client = public_client(&sandbox, None);
    let token = launch(&client, None);
    let patient = format!("Patient/{}", token.context().patient().unwrap());
    client
        .revoke(TokenRef::Access(token.access_token()))
        .unwrap();
    sandbox.reset_token_requests();
    let session = Arc::new(Session::new(client, token, SessionConfig::new()));
    let barrier = Arc::new(Barrier::new(THREADS));
    let readers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (session, barrier, patient) =
                (Arc::clone(&session), Arc::clone(&barrier), patient.clone());
            std::thread::spawn(move || {
                barrier.wait();
                session.read(&patient).unwrap()
            })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.join().unwrap()["resourceType"], "Patient");
    }
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!(
        counts.refresh_token, 1,
        "{THREADS} rejected reads, one refresh"
    );
    assert_eq!(counts.invalid_grant, 0);
}

#[test]
fn an_async_read_with_a_revoked_token_refreshes_and_retries() {
    let sandbox = sandbox(None, SandboxConfig::new());
    let client = public_client(&sandbox, None);
    let token = launch(&client, None);
    let patient = format!("Patient/{}", token.context().patient().unwrap());
    client
        .revoke(TokenRef::Access(token.access_token()))
        .unwrap();
    sandbox.reset_token_requests();
    let session = AsyncSession::new(asynchronous(&client), token, SessionConfig::new());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let resource = runtime.block_on(session.read(&patient)).unwrap();
    assert_eq!(resource["resourceType"], "Patient");
    assert_eq!(
        sandbox.token_requests(demo::PUBLIC_CLIENT_ID).refresh_token,
        1
    );
}

/// A client and session for a mock FHIR server at `server`, holding the access token `abc`.
fn mock_session(server: &mockito::Server) -> Session<SmartClient> {
    let config = ClientConfig::builder(format!("{}/fhir", server.url()))
        .client_id("app")
        .allow_insecure_localhost(true)
        .http_options(HttpOptions::new().timeout(Duration::from_secs(5)))
        .build()
        .unwrap();
    let client = SmartClient::new(config, ClientType::Public).unwrap();
    let body = json!({"access_token": "abc", "token_type": "Bearer", "expires_in": 3600});
    let response = http::Response::new(serde_json::to_vec(&body).unwrap());
    let token = TokenResponse::parse(&response).unwrap();
    Session::new(client, token, SessionConfig::new())
}

fn bundle(id: &str, next: Option<String>) -> String {
    let mut links = vec![json!({"relation": "self", "url": "ignored"})];
    if let Some(next) = next {
        links.push(json!({"relation": "next", "url": next}));
    }
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [{"resource": {"resourceType": "Observation", "id": id}}],
    })
    .to_string()
}

#[test]
fn a_search_follows_next_links_below_the_base_with_the_token() {
    let mut server = mockito::Server::new();
    let page2 = format!("{}/fhir/Observation?page=2", server.url());
    let first = server
        .mock("GET", "/fhir/Observation?patient=1")
        .match_header("authorization", "Bearer abc")
        .with_body(bundle("o1", Some(page2)))
        .create();
    let second = server
        .mock("GET", "/fhir/Observation?page=2")
        .match_header("authorization", "Bearer abc")
        .with_body(bundle("o2", None))
        .create();
    let session = mock_session(&server);
    let ids: Vec<String> = session
        .search("Observation?patient=1")
        .map(|page| page.unwrap()["entry"][0]["resource"]["id"].to_string())
        .collect();
    assert_eq!(ids, [r#""o1""#, r#""o2""#]);
    first.assert();
    second.assert();
}

#[test]
fn the_token_is_never_sent_to_a_next_link_on_another_host() {
    let mut fhir = mockito::Server::new();
    let mut elsewhere = mockito::Server::new();
    let foreign = format!("{}/fhir/Observation?page=2", elsewhere.url());
    fhir.mock("GET", "/fhir/Observation")
        .with_body(bundle("o1", Some(foreign)))
        .create();
    let untouched = elsewhere
        .mock("GET", mockito::Matcher::Any)
        .expect(0)
        .create();
    let session = mock_session(&fhir);
    let mut pages = session.search("Observation");
    assert!(pages.next().unwrap().is_ok());
    let refused = pages.next().unwrap().unwrap_err();
    let SessionError::Fhir { source } = &refused else {
        panic!("expected a FHIR error, got {refused:?}");
    };
    assert!(
        matches!(**source, ClientError::ForeignUrl { .. }),
        "{source}"
    );
    assert!(
        refused
            .to_string()
            .contains("refusing to send the access token")
    );
    assert!(pages.next().is_none(), "the search ends after the error");
    untouched.assert();
}

#[test]
fn a_write_sends_its_json_body() {
    let mut server = mockito::Server::new();
    let created = server
        .mock("POST", "/fhir/Observation")
        .match_header("authorization", "Bearer abc")
        .match_header("content-type", "application/fhir+json")
        .match_body(mockito::Matcher::PartialJson(
            json!({"resourceType": "Observation", "status": "final"}),
        ))
        .with_status(201)
        .create();
    let session = mock_session(&server);
    let body = json!({"resourceType": "Observation", "status": "final"});
    let response = session
        .fhir_request(http::Method::POST, "Observation", Some(&body))
        .unwrap();
    assert_eq!(response.status(), 201);
    created.assert();
}

#[test]
fn a_401_without_a_refresh_token_says_to_authorize_again() {
    let mut server = mockito::Server::new();
    let rejected = server
        .mock("GET", "/fhir/Patient/1")
        .with_status(401)
        .expect(1)
        .create();
    let session = mock_session(&server);
    let error = session.read("Patient/1").unwrap_err();
    assert!(matches!(error, SessionError::NoRefreshToken), "{error:?}");
    rejected.assert();
}
