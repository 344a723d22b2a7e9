//! Token lifetimes, the rotation switch and the per-client token-request counters.

use smart_sandbox::{Sandbox, SandboxConfig, demo};
use smart_token::TokenRequest;

use crate::{PATIENT_SCOPES, agent, backend_auth, code_flow, public_auth, send, token_url};

#[test]
fn lifetimes_are_configurable_and_requests_are_counted_per_client() {
    let sandbox = Sandbox::start_with(
        SandboxConfig::new()
            .access_token_lifetime(3)
            .backend_token_lifetime(2),
    )
    .unwrap();
    let agent = agent();
    let first = code_flow(&agent, &sandbox, &public_auth(), PATIENT_SCOPES, None);
    assert_eq!(first.expires_in(), Some(3));
    let refresh = first.refresh_token().unwrap().clone();
    let request = TokenRequest::refresh_token(&refresh, None)
        .build(&token_url(&sandbox), &public_auth())
        .unwrap();
    let second = send(&agent, request).token();
    assert_eq!(second.expires_in(), Some(3));
    // Rotation is on by default: the first refresh token is now retired.
    let request = TokenRequest::refresh_token(&refresh, None)
        .build(&token_url(&sandbox), &public_auth())
        .unwrap();
    assert_eq!(send(&agent, request).oauth_error(400), "invalid_grant");

    let request = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&token_url(&sandbox), &backend_auth())
        .unwrap();
    assert_eq!(send(&agent, request).token().expires_in(), Some(2));

    let public = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!(
        (
            public.authorization_code,
            public.refresh_token,
            public.client_credentials
        ),
        (1, 2, 0)
    );
    assert_eq!(
        (public.invalid_grant, public.refused, public.total()),
        (1, 1, 3)
    );
    let backend = sandbox.token_requests(demo::BACKEND_CLIENT_ID);
    assert_eq!((backend.client_credentials, backend.total()), (1, 1));
    assert_eq!(sandbox.token_requests("nobody").total(), 0);
    sandbox.reset_token_requests();
    assert_eq!(sandbox.token_requests(demo::PUBLIC_CLIENT_ID).total(), 0);
}

#[test]
fn without_rotation_the_refresh_token_stays_valid() {
    let sandbox = Sandbox::start_with(SandboxConfig::new().rotate_refresh_tokens(false)).unwrap();
    let agent = agent();
    let first = code_flow(&agent, &sandbox, &public_auth(), PATIENT_SCOPES, None);
    let refresh = first.refresh_token().unwrap().clone();
    for _ in 0..3 {
        let request = TokenRequest::refresh_token(&refresh, None)
            .build(&token_url(&sandbox), &public_auth())
            .unwrap();
        let answer = send(&agent, request).token();
        assert!(answer.refresh_token().is_none(), "no new refresh token");
    }
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!((counts.refresh_token, counts.refused), (3, 0));
}
