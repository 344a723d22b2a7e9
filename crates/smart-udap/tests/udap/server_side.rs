//! The server's checks of software statements and client assertions, as round trips.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use smart_core::{ClientId, TokenUrl};
use smart_udap::test_util::LeafKey;
use smart_udap::{
    SERVER_ALGORITHMS, StatementError, UdapClientAssertion, UdapRegistration,
    verify_client_assertion, verify_software_statement,
};

use crate::fixture::{NOW, Server, clock_at};
use crate::registration::{CLIENT_URI, b2b_metadata, client_leaf, credentials};

const REGISTER: &str = "https://fhir.example/r4/register";
const TOKEN: &str = "https://fhir.example/r4/token";

fn at(seconds: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn statement(server: &Server, key: LeafKey) -> String {
    let verified = server.verified();
    let leaf = client_leaf(server, key);
    let credentials = credentials(server, &leaf);
    let request = UdapRegistration::new(&verified, &credentials, CLIENT_URI)
        .with_clock(clock_at(NOW))
        .register_request(&b2b_metadata())
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
    body["software_statement"].as_str().unwrap().to_owned()
}

#[test]
fn software_statements_round_trip_and_every_gate_refuses() {
    let server = Server::new();
    let policy = server.policy();
    for key in [LeafKey::ClientRsa, LeafKey::P384] {
        let token = statement(&server, key);
        let verified =
            verify_software_statement(&token, REGISTER, &policy, &SERVER_ALGORITHMS, at(NOW))
                .unwrap();
        assert_eq!(verified.claims["iss"], CLIENT_URI);
    }
    let token = statement(&server, LeafKey::ClientRsa);
    let refused = |result: Result<_, smart_udap::UdapError>| result.unwrap_err().to_string();
    assert!(
        refused(verify_software_statement(
            &token,
            "https://other.example/register",
            &policy,
            &SERVER_ALGORITHMS,
            at(NOW)
        ))
        .contains("aud claim")
    );
    assert!(
        refused(verify_software_statement(
            &token,
            REGISTER,
            &policy,
            &SERVER_ALGORITHMS,
            at(NOW + 301)
        ))
        .contains("expired")
    );
    assert!(
        refused(verify_software_statement(
            &token,
            REGISTER,
            &policy,
            &[smart_jwt_assertion::Algorithm::Es384],
            at(NOW)
        ))
        .contains("signature")
    );
    let untrusted = smart_udap::TrustPolicy::new(vec![server.pki.intermediate().clone()]);
    assert!(
        refused(verify_software_statement(
            &token,
            REGISTER,
            &untrusted,
            &SERVER_ALGORITHMS,
            at(NOW)
        ))
        .contains("not trusted")
    );
    let (rest, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{rest}.AAAA");
    assert!(
        refused(verify_software_statement(
            &forged,
            REGISTER,
            &policy,
            &SERVER_ALGORITHMS,
            at(NOW)
        ))
        .contains("signature")
    );
    assert!(matches!(
        verify_software_statement("a.b", REGISTER, &policy, &SERVER_ALGORITHMS, at(NOW)),
        Err(smart_udap::UdapError::InvalidStatement(
            StatementError::Malformed(_)
        ))
    ));
}

#[test]
fn client_assertions_round_trip_and_every_gate_refuses() {
    let server = Server::new();
    let policy = server.policy();
    let leaf = client_leaf(&server, LeafKey::ClientRsa);
    let assertions =
        UdapClientAssertion::new(Arc::new(credentials(&server, &leaf)), &["RS256"], None)
            .unwrap()
            .with_clock(clock_at(NOW));
    let client_id = ClientId::parse("c-1").unwrap();
    let token_url = TokenUrl::parse(TOKEN).unwrap();
    let token = assertions.assertion(&client_id, &token_url).unwrap();
    let token = token.expose_secret();
    assert!(
        verify_client_assertion(
            token,
            "c-1",
            CLIENT_URI,
            TOKEN,
            &policy,
            &SERVER_ALGORITHMS,
            at(NOW)
        )
        .is_ok()
    );
    let refused = |result: Result<_, smart_udap::UdapError>| result.unwrap_err().to_string();
    assert!(
        refused(verify_client_assertion(
            token,
            "c-2",
            CLIENT_URI,
            TOKEN,
            &policy,
            &SERVER_ALGORITHMS,
            at(NOW)
        ))
        .contains("iss claim")
    );
    assert!(
        refused(verify_client_assertion(
            token,
            "c-1",
            "https://app.example/other",
            TOKEN,
            &policy,
            &SERVER_ALGORITHMS,
            at(NOW)
        ))
        .contains("registered client URI")
    );
    assert!(
        refused(verify_client_assertion(
            token,
            "c-1",
            CLIENT_URI,
            "https://x.example/token",
            &policy,
            &SERVER_ALGORITHMS,
            at(NOW)
        ))
        .contains("aud claim")
    );
    assert!(
        refused(verify_client_assertion(
            token,
            "c-1",
            CLIENT_URI,
            TOKEN,
            &policy,
            &SERVER_ALGORITHMS,
            at(NOW + 400)
        ))
        .contains("expired")
    );
    let revoked = smart_udap::TrustPolicy::new(vec![server.pki.root().clone()])
        .with_crl(server.pki.root_crl(&[]).unwrap())
        .with_crl(server.pki.intermediate_crl(&[&leaf.certificate]).unwrap());
    assert!(
        refused(verify_client_assertion(
            token,
            "c-1",
            CLIENT_URI,
            TOKEN,
            &revoked,
            &SERVER_ALGORITHMS,
            at(NOW)
        ))
        .contains("revoked")
    );
}
