//! The refusals: what a conforming server must refuse, it refuses. A wrong secret at refresh,
//! a forged callback, a wrong key, a replayed assertion, a reused code, a wrong `redirect_uri`,
//! an expired code. When the server grants what it must refuse, that is a server finding (the
//! client did its part), never a client failure.

use std::time::Duration;

use smart_client::core::ClientId;
use smart_client::jwt::{AssertionSigner, PrivateKey};
use smart_client::token::{ErrorCode, TokenError};
use smart_client::{AuthorizeOptions, ClientError, ClientType, SecretMethod};

use crate::browser::{Browser, raw_token_request};
use crate::profile::{AppClient, BackendClient, Profile, error_text, expect_refusal, outcome};
use crate::report::{Finding, Problem, StepResult, fail, finish};
use crate::transcript::Transcript;

/// Runs the refusal steps.
#[allow(
    clippy::too_many_lines,
    reason = "one linear script of the refusals, in the order the transcript tells them"
)]
pub(crate) fn run(
    profile: &Profile<'_>,
    out: &Transcript<'_>,
    browser: &dyn Fn(&str) -> Result<(), String>,
    step: &mut dyn FnMut(&str, Result<StepResult, String>),
    title: &dyn Fn(&str),
) {
    // What must fail, fails.
    title("Refusals: a wrong secret, a forged callback, a wrong key");
    step(
        "refusals",
        match (&profile.symmetric, browser("the forged-callback check")) {
            (None, _) => Err("no confidential-symmetric client configured".to_owned()),
            (_, Err(reason)) => Err(reason),
            (Some(app), Ok(())) => Ok((|| {
                let wrong = AppClient {
                    client_id: app.client_id.clone(),
                    redirect_uri: app.redirect_uri.clone(),
                    scope: app.scope.clone(),
                    secret: Some("not-the-secret".to_owned()),
                    secret_method: app.secret_method,
                    key: None,
                    kid: None,
                };
                // A fresh, real grant, refreshed with the wrong secret: a server that does
                // not authenticate the client at refresh gives a token, and is reported so
                // (a made-up refresh token would be refused for being made up).
                let client = profile.app(app, ClientType::ConfidentialSymmetric)?;
                let grant =
                    Profile::code_flow(out, &client, &app.redirect_uri, AuthorizeOptions::new())?;
                let refresh_token = grant.refresh_token().ok_or(
                    "the server issued no refresh_token, so a refresh with a wrong secret cannot be tried (add offline_access to the client's scope)",
                )?;
                let wrong_client = profile.app(&wrong, ClientType::ConfidentialSymmetric)?;
                let mut findings = Vec::new();
                match wrong_client.refresh(refresh_token, None) {
                    Err(ClientError::Token(TokenError::OAuth(oauth)))
                        if oauth.error() == Some(&ErrorCode::InvalidClient) =>
                    {
                        out.line(format!("refresh with a wrong client secret -> {oauth}"));
                    }
                    Ok(_) => findings.push(Finding::new(
                        "RFC 6749 §6: a confidential client authenticates at refresh",
                        "granted a refresh of a real refresh token sent with a wrong client secret",
                    )),
                    Err(ClientError::Token(TokenError::OAuth(oauth))) => {
                        findings.push(Finding::new(
                            "RFC 6749 §5.2: a failed client authentication is invalid_client",
                            format!("refused a wrong client secret at refresh with: {oauth}"),
                        ));
                    }
                    Err(other) => {
                        return Err(fail!(
                            "the refresh with a wrong client secret failed: {}",
                            error_text(&other)
                        ));
                    }
                }
                let request = client
                    .authorize(AuthorizeOptions::new())
                    .map_err(|e| error_text(&e))?;
                let callback = Browser::new().authorize(&request, &app.redirect_uri)?;
                let forged = callback.replace("state=", "state=0");
                match client.complete_authorization(&forged, request.pending()) {
                    Err(ClientError::StateMismatch) => out
                        .line("a callback with a forged state -> refused before any token request"),
                    other => {
                        return Err(fail!(
                            "a callback with a forged state was not refused as a state mismatch: {}",
                            outcome(other)
                        ));
                    }
                }
                if let Some(backend) = &profile.backend {
                    let impostor = BackendClient {
                        client_id: backend.client_id.clone(),
                        key: PrivateKey::generate_p384().map_err(|e| e.to_string())?,
                        kid: backend.kid.clone(),
                        scope: backend.scope.clone(),
                    };
                    match profile
                        .backend_client(&impostor)?
                        .backend_services_token(None)
                    {
                        Err(ClientError::Token(TokenError::OAuth(oauth)))
                            if oauth.error() == Some(&ErrorCode::InvalidClient) =>
                        {
                            out.line(format!("an assertion signed by the wrong key -> {oauth}"));
                        }
                        other => {
                            return Err(fail!(
                                "an assertion signed by the wrong key was not refused as invalid_client: {}",
                                outcome(other)
                            ));
                        }
                    }
                }
                finish(findings)
            })()),
        },
    );

    title("Refusal: a client assertion used twice");
    step(
        "reused assertion refused",
        match &profile.backend {
            None => Err("no backend client configured".to_owned()),
            Some(backend) => Ok((|| {
                let client = profile.backend_client(backend)?;
                let configuration = client.discover().map_err(|e| error_text(&e))?;
                let token_url = configuration
                    .token_endpoint()
                    .ok_or("the server advertises no token_endpoint")?
                    .clone();
                let kid = backend
                    .kid
                    .clone()
                    .unwrap_or_else(|| backend.key.thumbprint());
                let signer = AssertionSigner::from_key(&backend.key, kid, None)
                    .map_err(|e| e.to_string())?;
                let client_id =
                    ClientId::parse(backend.client_id.clone()).map_err(|e| e.to_string())?;
                let assertion = signer
                    .sign(&client_id, &token_url)
                    .map_err(|e| e.to_string())?;
                let scope = backend.scope.as_deref().unwrap_or("system/*.rs");
                let form = [
                    ("grant_type", "client_credentials"),
                    ("scope", scope),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.expose_secret()),
                ];
                let (status, error) = raw_token_request(token_url.as_str(), &form)?;
                if status != 200 {
                    return Err(fail!(
                        "the first use of a fresh assertion was refused: HTTP {status} {}",
                        error.unwrap_or_default()
                    ));
                }
                out.line("a fresh assertion -> HTTP 200");
                match raw_token_request(token_url.as_str(), &form)? {
                    (status @ (400 | 401), Some(error)) if error == "invalid_client" => {
                        out.line(format!(
                            "the same assertion (same jti) again -> HTTP {status} invalid_client"
                        ));
                        Ok(())
                    }
                    (200, _) => Err(Problem::Findings(vec![Finding::new(
                        "RFC 7523 §3 and SMART Backend Services: an assertion's jti is used only once",
                        "granted a token to the same assertion (same jti) a second time",
                    )])),
                    (status, error) => Err(Problem::Findings(vec![Finding::new(
                        "SMART Backend Services: a replayed assertion is refused as invalid_client",
                        format!(
                            "refused the replayed assertion with HTTP {status} {}",
                            error.unwrap_or_default()
                        ),
                    )])),
                }
            })()),
        },
    );

    title("Refusal: an authorization code used twice");
    step(
        "reused authorization code refused",
        match (&profile.public, browser("the reused-code check")) {
            (None, _) => Err("no public client configured".to_owned()),
            (_, Err(reason)) => Err(reason),
            (Some(app), Ok(())) => Ok((|| {
                let client = profile.app(app, ClientType::Public)?;
                let request = client
                    .authorize(AuthorizeOptions::new())
                    .map_err(|e| error_text(&e))?;
                let callback = Browser::new().authorize(&request, &app.redirect_uri)?;
                client
                    .complete_authorization(&callback, request.pending())
                    .map_err(|e| error_text(&e))?;
                out.line("the code exchanged once -> tokens");
                let refusal = expect_refusal(
                    client.complete_authorization(&callback, request.pending()),
                    &ErrorCode::InvalidGrant,
                    "a second exchange of the same code",
                )
                .map_err(|observed| {
                    Problem::Findings(vec![Finding::new(
                        "RFC 6749 §4.1.2: an authorization code is used once; reuse is invalid_grant",
                        observed,
                    )])
                })?;
                out.line(format!("the same code again -> {refusal}"));
                Ok(())
            })()),
        },
    );

    title("Refusal: a redirect_uri that is not registered, or not the authorization's");
    step(
        "wrong redirect_uri refused",
        match (&profile.public, browser("the redirect_uri check")) {
            (None, _) => Err("no public client configured".to_owned()),
            (_, Err(reason)) => Err(reason),
            (Some(app), Ok(())) => Ok((|| {
                // At the authorization endpoint: an unregistered redirect_uri (a longer path
                // than the registered one, which prefix matching would let through) gets an
                // error page, never a redirect to it.
                let wrong_uri =
                    format!("{}/not-registered", app.redirect_uri.trim_end_matches('/'));
                let wrong = AppClient {
                    redirect_uri: wrong_uri.clone(),
                    secret: None,
                    secret_method: SecretMethod::default(),
                    key: None,
                    kid: None,
                    client_id: app.client_id.clone(),
                    scope: app.scope.clone(),
                };
                let mut findings = Vec::new();
                let request = profile
                    .app(&wrong, ClientType::Public)?
                    .authorize(AuthorizeOptions::new())
                    .map_err(|e| error_text(&e))?;
                match Browser::new().first_answer(&request)? {
                    (_, Some(location)) if location.starts_with(&wrong_uri) => {
                        findings.push(Finding::new(
                            "RFC 6749 §3.1.2.3 and §4.1.2.1: the redirect_uri matches a registered one exactly; on a mismatch the server redirects nowhere",
                            format!("redirected the browser to the unregistered {wrong_uri} (a longer path than the registered one)"),
                        ));
                    }
                    (status, _) if (400..500).contains(&status) => out.line(format!(
                        "authorize with an unregistered redirect_uri -> HTTP {status}, no redirect to it"
                    )),
                    (status, _) => findings.push(Finding::new(
                        "RFC 6749 §4.1.2.1: an unregistered redirect_uri gets an error page",
                        format!("answered HTTP {status}"),
                    )),
                }
                // At the token endpoint: a code exchanged with another redirect_uri than the one
                // of its authorization request.
                let client = profile.app(app, ClientType::Public)?;
                let request = client
                    .authorize(AuthorizeOptions::new())
                    .map_err(|e| error_text(&e))?;
                let callback = Browser::new().authorize(&request, &app.redirect_uri)?;
                let code = callback
                    .split_once('?')
                    .map(|(_, query)| smart_client::core::form::decode(query.as_bytes()))
                    .and_then(|pairs| {
                        pairs
                            .into_iter()
                            .find(|(name, _)| name == "code")
                            .map(|(_, value)| value)
                    })
                    .ok_or("the callback has no code")?;
                let token_url = client
                    .discover()
                    .map_err(|e| error_text(&e))?
                    .token_endpoint()
                    .ok_or("the server advertises no token_endpoint")?
                    .clone();
                let pending = request.pending();
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", wrong_uri.as_str()),
                    ("code_verifier", pending.verifier().expose_secret()),
                    ("client_id", app.client_id.as_str()),
                ];
                match raw_token_request(token_url.as_str(), &form)? {
                    (400, Some(error)) if error == "invalid_grant" => {
                        out.line("exchange the code with another redirect_uri -> invalid_grant");
                    }
                    (status, error) => findings.push(Finding::new(
                        "RFC 6749 §4.1.3 and §5.2: a code exchanged with another redirect_uri is refused with HTTP 400 invalid_grant",
                        format!("answered HTTP {status} {}", error.unwrap_or_default()),
                    )),
                }
                finish(findings)
            })()),
        },
    );

    // Last: it moves the server's clock on.
    title("Refusal: an expired authorization code (the sandbox's clock moved 61 s on)");
    step(
        "expired authorization code refused",
        match (
            &profile.public,
            &profile.advance_clock,
            browser("the expired-code check"),
        ) {
            (None, _, _) => Err("no public client configured".to_owned()),
            (_, None, _) => Err(
                "the server's clock cannot be moved from here (only the embedded sandbox's can)"
                    .to_owned(),
            ),
            (_, _, Err(reason)) => Err(reason),
            (Some(app), Some(advance_clock), Ok(())) => Ok((|| {
                let client = profile.app(app, ClientType::Public)?;
                let request = client
                    .authorize(AuthorizeOptions::new())
                    .map_err(|e| error_text(&e))?;
                let callback = Browser::new().authorize(&request, &app.redirect_uri)?;
                advance_clock(Duration::from_secs(61));
                let refusal = expect_refusal(
                    client.complete_authorization(&callback, request.pending()),
                    &ErrorCode::InvalidGrant,
                    "a code 61 s old",
                )
                .map_err(|observed| {
                    Problem::Findings(vec![Finding::new(
                        "RFC 6749 §4.1.2: an authorization code expires (the sandbox: after 60 s)",
                        observed,
                    )])
                })?;
                out.line(format!("exchange the code 61 s later -> {refusal}"));
                Ok(())
            })()),
        },
    );
}
