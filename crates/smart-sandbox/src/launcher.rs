//! The EHR launcher: `GET /launcher` shows a page that picks a patient (and encounter) and
//! launches an app; `GET /launcher?launch_url=..&patient=..&go=launch` mints an EHR launch
//! (`iss` + `launch` bound to that context) and redirects the browser to the app's launch URL.
//! Apps in any language can so test EHR launches over HTTP alone.

use core::fmt::Write as _;

use http::{Method, Request, StatusCode};
use url::Url;

use crate::context::LaunchContext;
use crate::demo;
use crate::http_util::{
    HttpResponse, OAuthFailure, Params, escape_html, html_with_form_action, method_not_allowed,
    redirect,
};
use crate::store::Shared;

/// `GET /launcher`.
pub(crate) fn launcher(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    if request.method() != Method::GET {
        return method_not_allowed("GET");
    }
    let params = match Params::parse(request.uri().query().unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(failure) => return failure.into_response(),
    };
    let launch_url = params.get("launch_url");
    if params.get("go").is_none() {
        return page(launch_url.unwrap_or_default());
    }
    let Some(launch_url) = launch_url else {
        return OAuthFailure::invalid_request(
            "launch_url is missing: give the app's launch URL, such as http://127.0.0.1:8080/launch",
        )
        .into_response();
    };
    let mut target = match Url::parse(launch_url) {
        Ok(url) if is_launchable(&url) => url,
        _ => {
            return OAuthFailure::invalid_request(format!(
                "launch_url `{}` is not an https URL or an http URL on 127.0.0.1, [::1] or localhost",
                crate::http_util::shown(launch_url)
            ))
            .into_response();
        }
    };
    let patient_id = params.get("patient").unwrap_or(demo::PATIENT_ID);
    let Some(patient) = demo::PATIENTS
        .iter()
        .find(|patient| patient.id == patient_id)
    else {
        return OAuthFailure::invalid_request("unknown patient; pick one of the demo patients")
            .into_response();
    };
    let mut context = LaunchContext::for_patient(patient.id)
        .with_fhir_user(format!("Practitioner/{}", demo::PRACTITIONER_ID));
    if params.get("encounter").is_some() {
        context.encounter = patient.encounter.map(str::to_owned);
    }
    let now = shared.now();
    let mut state = shared.state();
    state.purge(now);
    let full = state.launches.len() >= shared.max_pending;
    drop(state);
    if full {
        return crate::authorize::busy();
    }
    let launch = crate::store::mint_launch(shared, context);
    target
        .query_pairs_mut()
        .append_pair("iss", &shared.base)
        .append_pair("launch", &launch);
    redirect(target.as_str())
}

/// `https`, or `http` on a loopback host: where an EHR may send a browser.
fn is_launchable(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")),
        _ => false,
    }
}

/// The launcher page: the app's launch URL, a patient, the encounter, and Launch.
fn page(launch_url: &str) -> HttpResponse {
    let mut page = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>smart-sandbox: EHR launcher</title>\
         <style>body{font-family:sans-serif;max-width:40em;margin:2em auto}label{display:block;margin:.5em 0}\
         input[name=launch_url]{width:100%}</style></head><body><h1>Launch an app</h1>\
         <form method=\"get\" action=\"/launcher\">",
    );
    let _ = write!(
        page,
        "<label>App launch URL <input name=\"launch_url\" id=\"launch_url\" value=\"{}\" \
         placeholder=\"http://127.0.0.1:8080/launch\"></label><label>Patient <select name=\"patient\" id=\"patient\">",
        escape_html(launch_url)
    );
    crate::login::patient_options(&mut page);
    page.push_str(
        "</select></label><label><input type=\"checkbox\" name=\"encounter\" value=\"1\" checked> \
         with the patient's current encounter</label>\
         <p><button id=\"launch\" name=\"go\" value=\"launch\">Launch</button></p></form>\
         <p><small>The signed-in EHR user is the demo clinician. smart-sandbox is a test server with \
         demo data only.</small></p></body></html>",
    );
    // The form's answer is a redirect to the app, wherever it runs.
    html_with_form_action(StatusCode::OK, page, "http: https:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_and_loopback_http_are_launched() {
        for good in [
            "https://app.example/launch",
            "http://127.0.0.1:8080/launch",
            "http://[::1]/launch",
            "http://localhost:3000/launch?x=1",
        ] {
            assert!(is_launchable(&Url::parse(good).unwrap()), "{good}");
        }
        for bad in [
            "http://app.example/launch",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "http://127.0.0.2/launch",
        ] {
            assert!(!is_launchable(&Url::parse(bad).unwrap()), "{bad}");
        }
    }
}
