//! The `smart launch` redirect listener's reading of one browser request (the CLI's own
//! `listener.rs`, included as it is): the request line, the callback's `error`, and the page
//! shown. Whatever arrives, nothing panics, and the page carries no markup from the request.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/smart-cli/src/listener.rs"]
#[allow(dead_code, unreachable_pub)]
mod listener;

fuzz_target!(|data: &[u8]| {
    let request = listener::parse(data, "/callback");
    let _ = request.status();
    if let listener::Request::Callback { target, error } = &request {
        assert!(target.starts_with("/callback"), "{target}");
        let page = listener::callback_page(error.as_deref());
        // The reason is escaped: the only tags are the page's own.
        let reason_part = page
            .split("Sign-in failed: ")
            .nth(1)
            .and_then(|rest| rest.split("</p>").next())
            .unwrap_or_default();
        assert!(
            !reason_part.contains('<') && !reason_part.contains('>'),
            "{page}"
        );
        if let Some(error) = error {
            assert!(!error.chars().any(smart_core::is_unsafe_char), "{error:?}");
        }
    }
    if let listener::Request::Other { shown } = &request {
        assert!(!shown.chars().any(smart_core::is_unsafe_char), "{shown:?}");
    }
});
