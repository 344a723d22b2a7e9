//! The five flows that meet hostile answers, each driven through the public API of both
//! shells (the blocking one over ureq, the async one over reqwest) over loopback.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;
use smart_client::discovery::SmartConfiguration;
use smart_client::jwt::{AssertionSigner, PrivateKey};
use smart_client::token::{
    AccessToken, IntrospectionResponse, RefreshToken, TokenRef, TokenResponse,
};
use smart_client::{
    AuthorizeOptions, ClientConfig, ClientError, ClientType, HttpOptions, IntrospectWith,
};
use test_support::{Client, Shell};

/// The whole-call timeout of every client in this suite.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(1500);
/// The body cap: the default (4 MiB), so that the suite shows the defaults hold.
pub(crate) const CAP: u64 = 4 * 1024 * 1024;

pub(crate) const WELL_KNOWN: &str = "/fhir/.well-known/smart-configuration";

/// A flow that reads a server's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// `SmartClient::discover`: a GET of the well-known document.
    Discovery,
    /// `SmartClient::complete_authorization`: the callback, then the code exchange POST.
    CodeExchange,
    /// `SmartClient::refresh`.
    Refresh,
    /// `SmartClient::backend_services_token`: `client_credentials` with an ES384 assertion.
    BackendServices,
    /// `SmartClient::introspect`, after a good discovery document.
    Introspection,
}

pub(crate) const FLOWS: [Flow; 5] = [
    Flow::Discovery,
    Flow::CodeExchange,
    Flow::Refresh,
    Flow::BackendServices,
    Flow::Introspection,
];

/// What a flow returned when it succeeded.
#[derive(Debug)]
pub(crate) enum Got {
    Discovery(Arc<SmartConfiguration>),
    Token(Box<TokenResponse>),
    Introspection(Box<IntrospectionResponse>),
}

impl Flow {
    /// The path the hostile answer is served on.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Discovery => WELL_KNOWN,
            Self::CodeExchange | Self::Refresh | Self::BackendServices => "/token",
            Self::Introspection => "/introspect",
        }
    }

    /// Whether the flow's hostile request is a POST (redirects are then never followed).
    pub(crate) fn is_post(self) -> bool {
        self != Self::Discovery
    }

    /// Runs the flow against the server at `root` (`http://127.0.0.1:<port>`): the result,
    /// and how long the call that meets the hostile answer took (set-up, the authorization
    /// request and the introspection flow's discovery excluded).
    pub(crate) fn run(self, root: &str, shell: Shell) -> (Result<Got, ClientError>, Duration) {
        let mut call = Duration::ZERO;
        let result = self.run_timed(root, shell, &mut call);
        (result, call)
    }

    fn run_timed(self, root: &str, shell: Shell, call: &mut Duration) -> Result<Got, ClientError> {
        let builder = ClientConfig::builder(format!("{root}/fhir"))
            .client_id("hostile-test-app")
            .redirect_uri("https://app.example/callback")
            .scopes("launch/patient patient/*.rs openid fhirUser")
            .allow_insecure_localhost(true)
            .http_options(
                HttpOptions::new()
                    .timeout(TIMEOUT)
                    .connect_timeout(TIMEOUT)
                    .max_body_bytes(CAP),
            );
        let builder = match self {
            Self::Discovery | Self::Introspection => builder,
            Self::CodeExchange | Self::Refresh => builder
                .authorization_endpoint(format!("{root}/authorize"))
                .token_endpoint(format!("{root}/token")),
            Self::BackendServices => builder
                .token_endpoint(format!("{root}/token"))
                .assertion_signer(signer()),
        };
        let client = Client::of(shell, builder.build()?, ClientType::Public)?;
        let timed = |call: &mut Duration, f: &dyn Fn() -> Result<Got, ClientError>| {
            let started = Instant::now();
            let result = f();
            *call = started.elapsed();
            result
        };
        match self {
            Self::Discovery => timed(call, &|| client.discover().map(Got::Discovery)),
            Self::CodeExchange => {
                let pending = client.authorize(AuthorizeOptions::new())?.into_pending();
                let callback = format!(
                    "https://app.example/callback?code=code-1&state={}",
                    pending.state().expose_secret()
                );
                timed(call, &|| {
                    client
                        .complete_authorization(&callback, &pending)
                        .map(|token| Got::Token(Box::new(token)))
                })
            }
            Self::Refresh => timed(call, &|| {
                client
                    .refresh(&RefreshToken::new("rt-1"), None)
                    .map(|token| Got::Token(Box::new(token)))
            }),
            Self::BackendServices => timed(call, &|| {
                client
                    .backend_services_token(None)
                    .map(|token| Got::Token(Box::new(token)))
            }),
            Self::Introspection => {
                // The good discovery document first, so that only the introspection is timed.
                client.discover()?;
                let token = AccessToken::new("at-to-check");
                let bearer = AccessToken::new("at-introspector");
                timed(call, &|| {
                    client
                        .introspect(TokenRef::Access(&token), IntrospectWith::Bearer(&bearer))
                        .map(|info| Got::Introspection(Box::new(info)))
                })
            }
        }
    }
}

/// One ES384 signer for the whole suite (key generation is the slow part in debug builds).
fn signer() -> AssertionSigner {
    static SIGNER: OnceLock<AssertionSigner> = OnceLock::new();
    SIGNER
        .get_or_init(|| {
            let key = PrivateKey::generate_p384().unwrap();
            AssertionSigner::from_key(&key, "hostile-key", None).unwrap()
        })
        .clone()
}

/// A good discovery document whose endpoints point at `root`.
pub(crate) fn discovery_document(root: &str) -> String {
    json!({
        "issuer": format!("{root}/fhir"),
        "authorization_endpoint": format!("{root}/authorize"),
        "token_endpoint": format!("{root}/token"),
        "introspection_endpoint": format!("{root}/introspect"),
        "capabilities": ["launch-standalone", "client-public"],
        "code_challenge_methods_supported": ["S256"]
    })
    .to_string()
}
