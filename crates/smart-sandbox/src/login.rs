//! The pages of the interactive mode: the login page of the login-and-consent mode (a real
//! HTML form: username and password of a demo user, `POST /authorize/login`), and the
//! consent page with Approve and Deny.

use core::fmt::Write as _;

use http::{Method, Request, StatusCode};
use smart_token::scope::Scope;
use url::Url;

use crate::demo;
use crate::http_util::{
    HttpResponse, OAuthFailure, escape_html, form_body, html, html_with_form_action,
    method_not_allowed,
};
use crate::store::{AuthorizeRequest, Shared, key_of};

/// Wrong passwords allowed per authorization request; the next one drops it.
const MAX_FAILED_LOGINS: u8 = 5;

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
        return consent_page(ticket, &approval.request, user);
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

/// The consent page: what the app asks for, a patient picker for standalone patient
/// launches (unless a patient signed in: they share their own record), and Approve / Deny
/// buttons that post back with the one-time ticket.
pub(crate) fn consent_page(
    ticket: &str,
    request: &AuthorizeRequest,
    user: Option<&str>,
) -> HttpResponse {
    let mut page = String::new();
    let label = escape_html(&request.client_label);
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>smart-sandbox: authorize {label}</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}code{{background:#eee}}</style></head><body>\
         <h1>Authorize <code>{label}</code>?</h1><p>The app asks for these scopes:</p><ul>"
    );
    for scope in &request.scope {
        let _ = write!(
            page,
            "<li><code>{}</code></li>",
            escape_html(&scope.to_string())
        );
    }
    page.push_str("</ul><form method=\"post\" action=\"/authorize/decision\">");
    let _ = write!(
        page,
        "<input type=\"hidden\" name=\"ticket\" value=\"{}\">",
        escape_html(ticket)
    );
    let picks_patient = request.launch.is_none()
        && request.scope.iter().any(|wanted| {
            matches!(wanted, Scope::LaunchContext(context) if context.resource_type() == "patient")
        });
    let own = own_record(user);
    if let (true, Some(patient)) = (picks_patient, own) {
        let _ = write!(
            page,
            "<p>Patient: {} ({}), who signed in.</p>",
            escape_html(patient.name),
            escape_html(patient.id)
        );
    } else if picks_patient {
        page.push_str("<p><label>Patient: <select name=\"patient\" id=\"patient\">");
        patient_options(&mut page);
        page.push_str("</select></label></p>");
    }
    page.push_str(
        "<p><button id=\"approve\" name=\"decision\" value=\"approve\">Approve</button> \
         <button id=\"deny\" name=\"decision\" value=\"deny\">Deny</button></p></form>\
         <p><small>smart-sandbox: a test server with demo data only.</small></p></body></html>",
    );
    // Both buttons answer with a redirect to the app: browsers check it against form-action.
    html_with_form_action(
        StatusCode::OK,
        page,
        &redirect_origin(&request.redirect_uri),
    )
}

/// The demo patient who signed in, if the user is one.
pub(crate) fn own_record(user: Option<&str>) -> Option<&'static demo::DemoPatient> {
    let id = user?.strip_prefix("Patient/")?;
    demo::PATIENTS.iter().find(|patient| patient.id == id)
}

/// The origin of a redirect URI, as a CSP source: `http://127.0.0.1:8080`, or the scheme of a
/// private-use URI (`com.example.app:`).
fn redirect_origin(redirect_uri: &str) -> String {
    match Url::parse(redirect_uri) {
        Ok(url) if url.origin().is_tuple() => url.origin().ascii_serialization(),
        Ok(url) => format!("{}:", url.scheme()),
        Err(_) => String::new(),
    }
}

/// The `<option>`s of a patient picker: every demo patient (the consent page's and the
/// launcher's).
pub(crate) fn patient_options(page: &mut String) {
    for patient in &demo::PATIENTS {
        let _ = write!(
            page,
            "<option value=\"{}\">{} ({})</option>",
            escape_html(patient.id),
            escape_html(patient.name),
            escape_html(patient.id)
        );
    }
}
