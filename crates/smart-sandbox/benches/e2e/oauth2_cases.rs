//! oauth2 5 (its ureq feature: ureq 2) as the reference for what a Rust user would pick
//! instead: refresh with `client_secret_basic`, the code exchange and the authorization URL
//! with PKCE, each beside both of our shells. The confidential demo client
//! ([`demo::SYMMETRIC_CLIENT_ID`], `client_secret_basic`) on both sides, the same scopes.
//!
//! Both code-exchange sides get their authorization codes before the timed run (the browser's
//! part is no client's work) and then do what an app does with the callback: check `state`,
//! take the code, exchange it with the PKCE verifier.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::url::Url;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenResponse, TokenUrl,
};
use smart_client::{
    AsyncSmartClient, AuthorizeMethod, AuthorizeOptions, ClientConfig, ClientType,
    PendingAuthorization, SmartClient,
};
use smart_sandbox::{Sandbox, demo};

use crate::harness::{Case, Side};

/// The scopes of both sides: a refresh token, no `openid` (oauth2 does not check ID tokens,
/// so ours would check one more signature).
const SCOPES: &str = "launch/patient patient/*.rs offline_access";

pub(crate) type OAuth2Client =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Everything the oauth2 cases share.
pub(crate) struct Fixture {
    pub(crate) blocking: SmartClient,
    pub(crate) asynchronous: AsyncSmartClient,
    pub(crate) runtime: tokio::runtime::Runtime,
    oauth2: OAuth2Client,
    http: oauth2::ureq::Agent,
    base_url: String,
}

impl Fixture {
    pub(crate) fn new(sandbox: &Sandbox) -> Self {
        let config = ClientConfig::builder(sandbox.base_url())
            .client_id(demo::SYMMETRIC_CLIENT_ID)
            .client_secret(smart_client::token::ClientSecret::new(
                demo::SYMMETRIC_CLIENT_SECRET,
            ))
            .redirect_uri(demo::REDIRECT_URI)
            .scopes(SCOPES)
            .allow_insecure_localhost(true)
            .build()
            .expect("a valid configuration");
        let blocking = SmartClient::new(config, ClientType::ConfidentialSymmetric)
            .expect("the default transport builds");
        blocking.discover().expect("the sandbox serves discovery");
        let asynchronous = crate::async_shell(&blocking);
        let oauth2 = BasicClient::new(ClientId::new(demo::SYMMETRIC_CLIENT_ID.to_owned()))
            .set_client_secret(ClientSecret::new(demo::SYMMETRIC_CLIENT_SECRET.to_owned()))
            .set_auth_uri(AuthUrl::new(sandbox.authorize_url()).expect("a URL"))
            .set_token_uri(TokenUrl::new(sandbox.token_url()).expect("a URL"))
            .set_redirect_uri(RedirectUrl::new(demo::REDIRECT_URI.to_owned()).expect("a URL"));
        // The same timeout as ours (ureq 2 resolves on the calling thread).
        let http = oauth2::ureq::AgentBuilder::new()
            .redirects(0)
            .timeout(Duration::from_secs(10))
            .build();
        Self {
            blocking,
            asynchronous,
            runtime: crate::current_thread_runtime(),
            oauth2,
            http,
            base_url: sandbox.base_url().to_owned(),
        }
    }

    /// oauth2's authorization URL with PKCE: a fresh state and verifier, the scopes, `aud`.
    fn oauth2_authorize(&self) -> (Url, CsrfToken, PkceCodeVerifier) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .oauth2
            .authorize_url(CsrfToken::new_random)
            .add_scopes(SCOPES.split(' ').map(|s| Scope::new(s.to_owned())))
            .add_extra_param("aud", &self.base_url)
            .set_pkce_challenge(challenge)
            .url();
        (url, state, verifier)
    }

    fn oauth2_refresh(&self, token: &str) -> BasicTokenResponse {
        self.oauth2
            .exchange_refresh_token(&RefreshToken::new(token.to_owned()))
            .request(&self.http)
            .expect("oauth2 refreshes")
    }

    fn ours_authorize(&self) -> smart_client::AuthorizationRequest {
        self.blocking
            .authorize(AuthorizeOptions::new().method(AuthorizeMethod::Get))
            .expect("builds")
    }
}

/// Authorization codes for our shells, made before a timed run.
type OurCodes = RefCell<VecDeque<(String, PendingAuthorization)>>;

/// Codes for oauth2: the callback, the state it must carry, the verifier.
type OAuth2Codes = RefCell<VecDeque<(String, CsrfToken, PkceCodeVerifier)>>;

/// What an app does with oauth2 and a callback: check the state, exchange the code.
fn oauth2_exchange(
    fixture: &Fixture,
    callback: &str,
    state: &CsrfToken,
    verifier: PkceCodeVerifier,
) {
    let url = Url::parse(callback).expect("a URL");
    let (mut code, mut returned) = (None, None);
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "code" => code = Some(value.into_owned()),
            "state" => returned = Some(value.into_owned()),
            _ => {}
        }
    }
    assert_eq!(returned.as_deref(), Some(state.secret().as_str()), "state");
    let token = fixture
        .oauth2
        .exchange_code(AuthorizationCode::new(code.expect("a code")))
        .set_pkce_verifier(verifier)
        .request(&fixture.http)
        .expect("oauth2 exchanges the code");
    std::hint::black_box(token.access_token());
}

/// A refresh token of the confidential demo client, from a whole launch.
fn refresh_token(fixture: &Fixture) -> String {
    let request = fixture.ours_authorize();
    let callback = test_support::browser::redirect_of(request.url().as_str());
    let token = fixture
        .blocking
        .complete_authorization(&callback, request.pending())
        .expect("the code exchange succeeds");
    token
        .refresh_token()
        .expect("offline_access was asked for")
        .expose_secret()
        .to_owned()
}

/// The six oauth2 cases: refresh, code exchange and authorization URL, for each shell.
#[allow(
    clippy::too_many_lines,
    reason = "six cases over shared closures read best in one place"
)]
pub(crate) fn cases<'a>(
    fixture: &'a Fixture,
    codes: &'a [OurCodes; 2],
    oauth2_codes: &'a [OAuth2Codes; 2],
    refresh: &'a [RefCell<String>; 4],
) -> Vec<Case<'a>> {
    for chain in refresh {
        *chain.borrow_mut() = refresh_token(fixture);
    }
    let ours_refresh = move |chain: &RefCell<String>, asynchronous: bool| {
        let current = smart_client::token::RefreshToken::new(chain.borrow().clone());
        let token = if asynchronous {
            fixture
                .runtime
                .block_on(fixture.asynchronous.refresh(&current, None))
        } else {
            fixture.blocking.refresh(&current, None)
        }
        .expect("the refresh succeeds");
        let next = token
            .refresh_token()
            .expect("rotated")
            .expose_secret()
            .to_owned();
        *chain.borrow_mut() = next;
    };
    let oauth2_refresh = move |chain: &RefCell<String>| {
        let current = chain.borrow().clone();
        let token = fixture.oauth2_refresh(&current);
        let next = token.refresh_token().expect("rotated").secret().clone();
        *chain.borrow_mut() = next;
    };
    let prepare_ours = move |queue: &OurCodes, n: usize| {
        let mut queue = queue.borrow_mut();
        queue.clear();
        for _ in 0..n {
            let request = fixture.ours_authorize();
            let callback = test_support::browser::redirect_of(request.url().as_str());
            queue.push_back((callback, request.into_pending()));
        }
    };
    let prepare_oauth2 = move |queue: &OAuth2Codes, n: usize| {
        let mut queue = queue.borrow_mut();
        queue.clear();
        for _ in 0..n {
            let (url, state, verifier) = fixture.oauth2_authorize();
            queue.push_back((
                test_support::browser::redirect_of(url.as_str()),
                state,
                verifier,
            ));
        }
    };
    let exchange_ours = move |queue: &OurCodes, asynchronous: bool| {
        let (callback, pending) = queue.borrow_mut().pop_front().expect("prepared");
        let token = if asynchronous {
            fixture.runtime.block_on(
                fixture
                    .asynchronous
                    .complete_authorization(&callback, &pending),
            )
        } else {
            fixture.blocking.complete_authorization(&callback, &pending)
        }
        .expect("the code exchange succeeds");
        std::hint::black_box(token);
    };
    let exchange_oauth2 = move |queue: &OAuth2Codes| {
        let (callback, state, verifier) = queue.borrow_mut().pop_front().expect("prepared");
        oauth2_exchange(fixture, &callback, &state, verifier);
    };
    let oauth2_url = move || {
        drop(std::hint::black_box(fixture.oauth2_authorize()));
    };
    vec![
        Case {
            name: "refresh, client_secret_basic (blocking)",
            reference_name: "oauth2 5 (ureq)",
            scale: 1,
            ours: Side::new(move || ours_refresh(&refresh[0], false)),
            reference: Side::new(move || oauth2_refresh(&refresh[1])),
        },
        Case {
            name: "refresh, client_secret_basic (async)",
            reference_name: "oauth2 5 (ureq)",
            scale: 1,
            ours: Side::new(move || ours_refresh(&refresh[2], true)),
            reference: Side::new(move || oauth2_refresh(&refresh[3])),
        },
        Case {
            name: "code exchange (blocking)",
            reference_name: "oauth2 5 (ureq)",
            scale: 1,
            ours: Side::prepared(
                move |n| prepare_ours(&codes[0], n),
                move || exchange_ours(&codes[0], false),
            ),
            reference: Side::prepared(
                move |n| prepare_oauth2(&oauth2_codes[0], n),
                move || exchange_oauth2(&oauth2_codes[0]),
            ),
        },
        Case {
            name: "code exchange (async)",
            reference_name: "oauth2 5 (ureq)",
            scale: 1,
            ours: Side::prepared(
                move |n| prepare_ours(&codes[1], n),
                move || exchange_ours(&codes[1], true),
            ),
            reference: Side::prepared(
                move |n| prepare_oauth2(&oauth2_codes[1], n),
                move || exchange_oauth2(&oauth2_codes[1]),
            ),
        },
        Case {
            name: "authorization URL with PKCE (blocking)",
            reference_name: "oauth2 5",
            scale: 20,
            ours: Side::new(move || {
                std::hint::black_box(fixture.ours_authorize());
            }),
            reference: Side::new(oauth2_url),
        },
        Case {
            name: "authorization URL with PKCE (async)",
            reference_name: "oauth2 5",
            scale: 20,
            ours: Side::new(move || {
                let options = AuthorizeOptions::new().method(AuthorizeMethod::Get);
                let request = fixture
                    .runtime
                    .block_on(fixture.asynchronous.authorize(options))
                    .expect("builds");
                std::hint::black_box(request);
            }),
            reference: Side::new(oauth2_url),
        },
    ]
}
