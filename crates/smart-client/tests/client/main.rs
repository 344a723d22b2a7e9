//! Integration tests of smart-client over real HTTP on loopback (mockito): the exact requests
//! of every flow for every client type, discovery failures, timeouts, redirects, body limits
//! and callbacks. They use the ureq transport and `private_key_jwt`, the default features.
#![cfg(all(feature = "ureq", feature = "private-key-jwt"))]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: a failing unwrap is a failing test"
)]

mod callback;
mod config;
mod discovery;
mod flows;
mod id_token;
mod registry;
mod tls;
mod transport;

use std::time::Duration;

use mockito::{Server, ServerGuard};
use serde_json::json;
use smart_client::{ClientConfig, ClientConfigBuilder, ClientType, HttpOptions};
use smart_jwt_assertion::PrivateKey;
use test_support::Client;

pub(crate) const CLIENT_ID: &str = "my-app";
pub(crate) const SECRET: &str = "s3cr3t:+/=%";
pub(crate) const REDIRECT_URI: &str = "https://app.example/callback";

/// A mock SMART server with a discovery document whose endpoints point back at it.
pub(crate) struct Ehr {
    pub(crate) server: ServerGuard,
}

impl Ehr {
    pub(crate) fn new() -> Self {
        Self {
            server: Server::new(),
        }
    }

    pub(crate) fn base(&self) -> String {
        format!("{}/fhir", self.server.url())
    }

    pub(crate) fn token_url(&self) -> String {
        format!("{}/auth/token", self.server.url())
    }

    pub(crate) fn document(&self) -> serde_json::Value {
        let root = self.server.url();
        json!({
            "issuer": format!("{root}/auth"),
            "jwks_uri": format!("{root}/auth/jwks"),
            "authorization_endpoint": format!("{root}/auth/authorize?tenant=t1"),
            "token_endpoint": self.token_url(),
            "introspection_endpoint": format!("{root}/auth/introspect"),
            "revocation_endpoint": format!("{root}/auth/revoke"),
            "registration_endpoint": format!("{root}/auth/register"),
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "scopes_supported": ["openid", "fhirUser", "launch", "patient/*.rs", "system/*.rs"],
            "response_types_supported": ["code"],
            "capabilities": ["launch-ehr", "launch-standalone", "authorize-post", "client-public",
                "client-confidential-symmetric", "client-confidential-asymmetric", "sso-openid-connect"],
            "code_challenge_methods_supported": ["S256"]
        })
    }

    /// Serves the discovery document; `expect` is how many fetches the test allows.
    pub(crate) fn serve_discovery(&mut self, expect: usize) -> mockito::Mock {
        let body = self.document().to_string();
        self.server
            .mock("GET", "/fhir/.well-known/smart-configuration")
            .match_header("accept", "application/json")
            .with_status(200)
            .with_header("content-type", "application/json")
            .with_body(body)
            .expect(expect)
            .create()
    }

    pub(crate) fn config(&self) -> ClientConfigBuilder {
        ClientConfig::builder(self.base())
            .client_id(CLIENT_ID)
            .redirect_uri(REDIRECT_URI)
            .scopes("launch/patient patient/*.rs openid fhirUser offline_access")
            .allow_insecure_localhost(true)
            .http_options(HttpOptions::new().timeout(Duration::from_secs(5)))
    }

    #[expect(
        clippy::unused_self,
        reason = "reads as ehr.client(...), next to ehr.config()"
    )]
    pub(crate) fn client(&self, builder: ClientConfigBuilder, client_type: ClientType) -> Client {
        // The shell of the running test (both_shells! runs each test with both).
        Client::new(builder.build().unwrap(), client_type).unwrap()
    }
}

pub(crate) fn token_body() -> String {
    json!({
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "launch/patient patient/*.rs openid fhirUser offline_access",
        "refresh_token": "rt-1",
        "patient": "p-1"
    })
    .to_string()
}

/// A request matcher for exactly these form fields, in any order, and nothing else.
pub(crate) fn form_exactly(
    fields: &[(&str, &str)],
) -> impl Fn(&mockito::Request) -> bool + Send + Sync + 'static {
    let expected: Vec<(String, String)> = {
        let mut pairs: Vec<(String, String)> = fields
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        pairs.sort();
        pairs
    };
    move |request: &mockito::Request| -> bool {
        let Ok(body) = request.utf8_lossy_body() else {
            return false;
        };
        let mut got = smart_client::core::form::decode(body.as_bytes());
        got.sort();
        got == expected
    }
}

pub(crate) fn es384_key() -> PrivateKey {
    PrivateKey::generate_p384().unwrap()
}
