//! `GET`/`POST /authorize` and the decision of the interactive mode (its login and consent
//! pages are in `login.rs`).

use http::{Method, Request};
use smart_pkce::PkceChallenge;
use smart_token::ErrorCode;
use smart_token::scope::{Compartment, Scope, ScopeSet};
use url::Url;

use crate::config::GrantType;
use crate::context::LaunchContext;
use crate::demo;
use crate::http_util::shown;
use crate::http_util::{
    HttpResponse, OAuthFailure, Params, form_body, method_not_allowed, redirect,
};
use crate::store::{
    APPROVAL_LIFETIME, Approval, AuthorizeRequest, CODE_LIFETIME, Code, Grant, Shared, key_of,
    random_token,
};

/// The longest `nonce` accepted.
const MAX_NONCE_LEN: usize = 512;

/// Why a request is refused: shown to the user, or sent back to the app.
enum Refusal {
    /// The client or redirect URI cannot be trusted: answer here, never redirect.
    Show(OAuthFailure),
    /// Send the error to the (registered) redirect URI (RFC 6749 §4.1.2.1).
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        failure: Box<OAuthFailure>,
    },
}

/// `GET` or `POST /authorize`.
pub(crate) fn authorize(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    let params = match *request.method() {
        Method::GET => Params::parse(request.uri().query().unwrap_or_default().as_bytes()),
        Method::POST => form_body(request),
        _ => return method_not_allowed("GET, POST"),
    };
    let params = match params {
        Ok(params) => params,
        Err(failure) => return failure.into_response(),
    };
    match validate(shared, &params) {
        Ok(request) if shared.interactive => start_interactive(shared, request),
        Ok(request) => approve(shared, request, None, None),
        Err(Refusal::Show(failure)) => failure.into_response(),
        Err(Refusal::Redirect {
            redirect_uri,
            state,
            failure,
        }) => redirect_error(shared, &redirect_uri, state.as_deref(), &failure),
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one check after the other, in the order the spec lists them"
)]
fn validate(shared: &Shared, params: &Params) -> Result<AuthorizeRequest, Refusal> {
    let show = |description: String| Refusal::Show(OAuthFailure::invalid_request(description));
    let Some(client_id) = params.get("client_id") else {
        return Err(show("client_id is missing".to_owned()));
    };
    let client = shared.state().clients.get(client_id).cloned();
    let Some(client) = client else {
        return Err(show(format!("unknown client_id `{}`", shown(client_id))));
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err(show(
            "redirect_uri is missing; SMART App Launch requires it".to_owned(),
        ));
    };
    if !client.redirect_uri_matches(redirect_uri) {
        let hint = if client.differs_in_loopback_port_only(redirect_uri) {
            "; it differs from a registered loopback URI in its port only, which this client did not opt in to: use the registered port, or register the client with loopback_redirect_any_port"
        } else {
            "; redirect URIs must match a registered one exactly"
        };
        return Err(show(format!(
            "redirect_uri `{}` is not registered for the client `{}`, so the sandbox will not redirect to it{hint}",
            shown(redirect_uri),
            shown(client_id)
        )));
    }

    let state = params.get("state");
    let refuse = |failure: OAuthFailure| Refusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.map(str::to_owned),
        failure: Box::new(failure),
    };
    let invalid = |description: String| refuse(OAuthFailure::invalid_request(description));
    let Some(state) = state else {
        return Err(invalid(
            "state is required (SMART App Launch: at least 122 bits of entropy)".to_owned(),
        ));
    };
    match params.get("response_type") {
        Some("code") => {}
        Some(other) => {
            return Err(refuse(OAuthFailure::new(
                ErrorCode::UnsupportedResponseType,
                format!(
                    "response_type `{}` is not supported; use code",
                    shown(other)
                ),
            )));
        }
        None => return Err(invalid("response_type=code is required".to_owned())),
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(refuse(OAuthFailure::new(
            ErrorCode::UnauthorizedClient,
            "this client is not registered for the authorization_code grant",
        )));
    }
    match params.get("aud") {
        Some(aud) if aud == shared.base => {}
        Some(aud) => {
            return Err(invalid(format!(
                "aud `{}` is not this server's FHIR base URL `{}` (compared exactly)",
                shown(aud),
                shared.base
            )));
        }
        None => {
            return Err(invalid(format!(
                "aud is required: the FHIR base URL `{}`",
                shared.base
            )));
        }
    }
    match params.get("code_challenge_method") {
        Some("S256") => {}
        Some("plain") => {
            return Err(invalid(
                "PKCE method plain is not allowed; use S256".to_owned(),
            ));
        }
        Some(other) => {
            return Err(invalid(format!(
                "code_challenge_method `{}` is not supported; use S256",
                shown(other)
            )));
        }
        None => {
            return Err(invalid(
                "code_challenge_method=S256 is required: SMART App Launch requires PKCE".to_owned(),
            ));
        }
    }
    let challenge = match params.get("code_challenge").map(PkceChallenge::parse) {
        Some(Ok(challenge)) => challenge,
        Some(Err(_)) => {
            return Err(invalid(
                "code_challenge must be 43 base64url characters (S256)".to_owned(),
            ));
        }
        None => return Err(invalid("code_challenge is required".to_owned())),
    };
    let scope = match params.get("scope").map(ScopeSet::parse) {
        Some(Ok(scope)) if !scope.is_empty() => scope,
        Some(Err(error)) => {
            return Err(refuse(OAuthFailure::invalid_scope(error.to_string())));
        }
        _ => {
            return Err(refuse(OAuthFailure::invalid_scope("scope is required")));
        }
    };
    client.check_registered(&scope).map_err(refuse)?;
    let launch = match params.get("launch") {
        None if scope.contains(&Scope::Launch) => {
            return Err(refuse(OAuthFailure::invalid_scope(
                "the launch scope is for EHR launches: send the launch parameter the EHR gave, or use launch/patient for a standalone launch",
            )));
        }
        None => None,
        Some(_) if !scope.contains(&Scope::Launch) => {
            return Err(refuse(OAuthFailure::invalid_scope(
                "an EHR launch (the launch parameter) needs the launch scope",
            )));
        }
        Some(launch) => {
            let now = shared.now();
            let context = shared
                .state()
                .launches
                .get(&key_of(launch))
                .filter(|entry| entry.expires_at > now)
                .map(|entry| entry.context.clone());
            match context {
                Some(context) => Some(context),
                None => return Err(invalid("unknown or expired launch".to_owned())),
            }
        }
    };
    let nonce = params.get("nonce");
    if nonce.is_some_and(|nonce| nonce.len() > MAX_NONCE_LEN) {
        return Err(invalid(format!(
            "nonce is longer than {MAX_NONCE_LEN} characters"
        )));
    }
    Ok(AuthorizeRequest {
        client_id: client.client_id().to_owned(),
        client_label: client.name().unwrap_or(client.client_id()).to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.to_owned(),
        scope,
        challenge,
        nonce: nonce.map(str::to_owned),
        launch,
    })
}

/// `redirect_uri` with `params` added to its query.
fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> HttpResponse {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            redirect(url.as_str())
        }
        // Registered redirect URIs are absolute URLs: this is not reached.
        Err(_) => OAuthFailure::invalid_request("the redirect_uri is not a URL").into_response(),
    }
}

fn redirect_error(
    shared: &Shared,
    redirect_uri: &str,
    state: Option<&str>,
    failure: &OAuthFailure,
) -> HttpResponse {
    let mut params = vec![
        ("error", failure.code.as_str()),
        ("error_description", failure.description.as_str()),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", shared.base.as_str()));
    redirect_with(redirect_uri, &params)
}

/// The context and user of a standalone launch: the patient the user picked (or the demo
/// patient) when `launch/patient` was asked for, and the demo encounter for
/// `launch/encounter`.
fn standalone_context(
    shared: &Shared,
    scope: &ScopeSet,
    chosen: Option<&demo::DemoPatient>,
) -> (LaunchContext, String) {
    let asks = |resource_type: &str| {
        scope.iter().any(|wanted| {
            matches!(wanted, Scope::LaunchContext(context) if context.resource_type() == resource_type)
        })
    };
    let patient = chosen.unwrap_or(&demo::PATIENTS[0]);
    let mut context = LaunchContext::new();
    if asks("patient") {
        context.patient = Some(patient.id.to_owned());
        context.need_patient_banner = Some(true);
    }
    if asks("encounter") {
        context.encounter = patient.encounter.map(str::to_owned);
    }
    if context.patient.is_some() || context.encounter.is_some() {
        context.smart_style_url = Some(style_url(shared));
    }
    let provider = scope.iter().any(|wanted| {
        matches!(wanted, Scope::Resource(resource) if resource.compartment() == Compartment::User)
    });
    let user = if context.patient.is_some() && !provider {
        format!("Patient/{}", patient.id)
    } else {
        format!("Practitioner/{}", demo::PRACTITIONER_ID)
    };
    (context, user)
}

fn style_url(shared: &Shared) -> String {
    format!("{}/smart-style.json", shared.base)
}

/// Approves `request`: stores a code and redirects to the app with it.
fn approve(
    shared: &Shared,
    request: AuthorizeRequest,
    chosen: Option<&demo::DemoPatient>,
    logged_in: Option<String>,
) -> HttpResponse {
    let (context, fhir_user) = if let Some(mut context) = request.launch {
        if context.smart_style_url.is_none() {
            context.smart_style_url = Some(style_url(shared));
        }
        let user = context
            .fhir_user
            .clone()
            .or(logged_in)
            .unwrap_or_else(|| format!("Practitioner/{}", demo::PRACTITIONER_ID));
        (context, user)
    } else {
        let (context, user) = standalone_context(shared, &request.scope, chosen);
        (context, logged_in.unwrap_or(user))
    };
    let code = match random_token() {
        Ok(code) => code,
        Err(failure) => return failure.into_response(),
    };
    let now = shared.now();
    let mut state = shared.state();
    state.purge(now);
    if state.codes.len() >= shared.max_pending {
        // Used codes are kept only to spot replays: forget them before refusing new ones.
        state.codes.retain(|_, code| !code.used);
        if state.codes.len() >= shared.max_pending {
            drop(state);
            let failure = OAuthFailure::new(
                ErrorCode::TemporarilyUnavailable,
                "the sandbox holds too many unexchanged codes; exchange them, or wait a minute",
            );
            return redirect_error(
                shared,
                &request.redirect_uri,
                Some(&request.state),
                &failure,
            );
        }
    }
    let family = state.new_family();
    state.codes.insert(
        key_of(&code),
        Code {
            grant: Grant {
                client_id: request.client_id,
                scope: request.scope,
                context,
                fhir_user: Some(fhir_user),
                nonce: request.nonce,
                family,
            },
            redirect_uri: request.redirect_uri.clone(),
            challenge: request.challenge,
            expires_at: now.saturating_add(CODE_LIFETIME),
            used: false,
        },
    );
    drop(state);
    redirect_with(
        &request.redirect_uri,
        &[
            ("code", code.as_str()),
            ("state", request.state.as_str()),
            ("iss", shared.base.as_str()),
        ],
    )
}

/// Keeps `request` under a fresh one-time ticket and shows the login page (when on) or the
/// consent page.
fn start_interactive(shared: &Shared, request: AuthorizeRequest) -> HttpResponse {
    let ticket = match random_token() {
        Ok(ticket) => ticket,
        Err(failure) => return failure.into_response(),
    };
    let page = if shared.login {
        crate::login::login_page(&ticket, &request.client_label, None)
    } else {
        crate::login::consent_page(&ticket, &request, None)
    };
    let now = shared.now();
    let mut state = shared.state();
    state.purge(now);
    if state.approvals.len() >= shared.max_pending {
        return busy();
    }
    state.approvals.insert(
        key_of(&ticket),
        Approval {
            request,
            expires_at: now.saturating_add(APPROVAL_LIFETIME),
            user: None,
            failed_logins: 0,
        },
    );
    drop(state);
    page
}

/// `503`: too many requests are waiting (`SandboxConfig::max_pending_requests`).
pub(crate) fn busy() -> HttpResponse {
    let mut response = OAuthFailure::new(
        ErrorCode::TemporarilyUnavailable,
        "the sandbox holds too many unfinished requests already; finish some, or try again in 10 minutes",
    )
    .into_response();
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    response
}

/// `POST /authorize/decision`: the Approve or Deny button of the approval page.
pub(crate) fn decision(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
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
    let now = shared.now();
    let mut state = shared.state();
    let key = key_of(ticket);
    if shared.login
        && state
            .approvals
            .get(&key)
            .is_some_and(|approval| approval.user.is_none())
    {
        return OAuthFailure::invalid_request(
            "nobody has logged in for this approval; sign in on the login page first",
        )
        .into_response();
    }
    let approval = state.approvals.remove(&key);
    drop(state);
    let Some(approval) = approval.filter(|approval| approval.expires_at > now) else {
        return OAuthFailure::invalid_request(
            "unknown or expired approval; start the authorization again",
        )
        .into_response();
    };
    let user = approval.user;
    let request = approval.request;
    match params.get("decision") {
        Some("approve") => {
            let own = crate::login::own_record(user.as_deref());
            let chosen = match params.get("patient") {
                None => own,
                Some(id) if own.is_some_and(|patient| patient.id != id) => {
                    return OAuthFailure::invalid_request(
                        "a signed-in patient shares their own record only",
                    )
                    .into_response();
                }
                Some(id) => match demo::PATIENTS.iter().find(|patient| patient.id == id) {
                    Some(patient) => Some(patient),
                    None => {
                        return OAuthFailure::invalid_request("unknown patient").into_response();
                    }
                },
            };
            approve(shared, request, chosen, user)
        }
        _ => redirect_error(
            shared,
            &request.redirect_uri,
            Some(&request.state),
            &OAuthFailure::new(
                ErrorCode::AccessDenied,
                "the user denied the app access on the consent page",
            ),
        ),
    }
}
