//! The login page of the login-and-consent mode: a real HTML form (username and password of
//! a demo user), then the consent page. `POST /authorize/login`.

use core::fmt::Write as _;

use http::{Method, Request, StatusCode};

use crate::demo;
use crate::http_util::{
    HttpResponse, OAuthFailure, escape_html, form_body, html, method_not_allowed,
};
use crate::sandbox_config::SandboxConfig;
use crate::store::{Shared, key_of};

/// Wrong passwords allowed per authorization request; the next one drops it.
const MAX_FAILED_LOGINS: u8 = 5;

impl SandboxConfig {
    /// `true`: `/authorize` shows a login page (a form with username and password: one of
    /// the demo users, [`demo::PRACTITIONER_USERNAME`] or [`demo::PATIENT_USERNAME`] with
    /// [`demo::USER_PASSWORD`]), then the consent page with Approve and Deny, as a real
    /// authorization server does: for tests that drive a browser. The user who signs in is
    /// the `fhirUser` of a standalone launch (an EHR launch keeps the user of its context,
    /// when it names one). Deny sends the app `error=access_denied` with a description.
    /// Implies [`interactive`](Self::interactive); `false` (the default) leaves it as it is.
    #[must_use]
    pub fn login_and_consent(mut self, on: bool) -> Self {
        self.login = on;
        if on {
            self.interactive = true;
        }
        self
    }
}

/// The login page for the authorization request of `ticket`; `problem` is shown above the
/// form (a wrong password).
pub(crate) fn login_page(ticket: &str, client_label: &str, problem: Option<&str>) -> HttpResponse {
    let label = escape_html(client_label);
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>smart-sandbox: sign in</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}label{{display:block;margin:.5em 0}}\
         .problem{{color:#9e2d2d}}</style></head><body>\
         <h1>Sign in to smart-sandbox</h1><p><code>{label}</code> asks you to sign in.</p>"
    );
    if let Some(problem) = problem {
        let _ = write!(
            page,
            "<p class=\"problem\" id=\"problem\">{}</p>",
            escape_html(problem)
        );
    }
    let _ = write!(
        page,
        "<form method=\"post\" action=\"/authorize/login\">\
         <input type=\"hidden\" name=\"ticket\" value=\"{}\">\
         <label>Username <input name=\"username\" id=\"username\" autocomplete=\"username\"></label>\
         <label>Password <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\"></label>\
         <p><button id=\"sign-in\">Sign in</button></p></form>\
         <p><small>Demo users: <code>{}</code> (a clinician) and <code>{}</code> (a patient), password <code>{}</code>. \
         smart-sandbox is a test server with demo data only.</small></p></body></html>",
        escape_html(ticket),
        demo::PRACTITIONER_USERNAME,
        demo::PATIENT_USERNAME,
        demo::USER_PASSWORD,
    );
    html(StatusCode::OK, page)
}

/// `POST /authorize/login`: the right username and password lead to the consent page; a
/// wrong one shows the login page again, and after a few the request is dropped.
pub(crate) fn login(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    let params = match form_body(request) {
        Ok(params) => params,
        Err(failure) => return failure.into_response(),
    };
    let Some(ticket) = params.get("ticket") else {
        return OAuthFailure::invalid_request("ticket is missing").into_response();
    };
    let expired = || {
        OAuthFailure::invalid_request("unknown or expired login; start the authorization again")
            .into_response()
    };
    if !shared.login {
        return expired();
    }
    let user = params.get("username").and_then(demo::user_of);
    let right = user.is_some()
        && params.get("password").is_some_and(|password| {
            smart_core::ct_eq(password.as_bytes(), demo::USER_PASSWORD.as_bytes())
        });
    let now = shared.now();
    let key = key_of(ticket);
    let mut state = shared.state();
    let Some(approval) = state
        .approvals
        .get_mut(&key)
        .filter(|approval| approval.expires_at > now && approval.user.is_none())
    else {
        return expired();
    };
    if right {
        approval.user = user;
        let user = approval.user.as_deref();
        return crate::authorize::consent_page(ticket, &approval.request, user);
    }
    approval.failed_logins = approval.failed_logins.saturating_add(1);
    if approval.failed_logins >= MAX_FAILED_LOGINS {
        state.approvals.remove(&key);
        return OAuthFailure::invalid_request(
            "too many wrong passwords for this authorization request; start it again",
        )
        .into_response();
    }
    let label = approval.request.client_label.clone();
    drop(state);
    login_page(
        ticket,
        &label,
        Some("Wrong username or password. Use one of the demo users below."),
    )
}
