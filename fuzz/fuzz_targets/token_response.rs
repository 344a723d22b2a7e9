//! Token, OAuth error, introspection and revocation answers, for any status and body.
//!
//! Input: one selector byte (the status), then the body.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use smart_core::FixedClock;
use smart_token::{
    Flow, IntrospectionResponse, OAuthError, Operation, TokenResponse, revocation_response,
};

const STATUSES: [u16; 8] = [200, 201, 204, 400, 401, 403, 500, 503];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(selector & 7)];
    let response = http::Response::builder()
        .status(status)
        .body(body.to_vec())
        .expect("a valid response");
    // A clock near the end of time, so that `expires_at` overflows are reached too.
    let clock = if selector & 8 == 0 {
        FixedClock::from_unix_seconds(1_700_000_000)
    } else {
        FixedClock::from_unix_seconds(u64::MAX / 2)
    };

    match TokenResponse::from_response(&response, &clock) {
        Ok(mut token) => {
            let _ = format!("{token:?}");
            for flow in [Flow::AppLaunch, Flow::BackendServices] {
                for finding in token.validate(flow).findings() {
                    let _ = finding.to_string();
                }
            }
            let _ = token.expires_within(Duration::from_secs(u64::MAX), &clock);
            let _ = token.expires_within(Duration::from_secs(60), &clock);
            if let Some(scope) = token.scope() {
                let _ = scope.to_string();
            }
            token.keep_refresh_token(None);
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
        }
    }
    let error = OAuthError::from_response(Operation::Token, status, body);
    let _ = format!("{error} {error:?}");
    match IntrospectionResponse::from_response(&response) {
        Ok(info) => {
            let _ = format!("{info} {info:?}");
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
        }
    }
    if let Err(error) = revocation_response(&response) {
        let _ = format!("{error} {error:?}");
    }
});
