//! Every SMART flow, run in order against one server: discovery, the launches of every client
//! type, refresh, Backend Services, introspection and revocation, registration; then the
//! refusals ([`crate::refusals`]) and the UDAP flows ([`crate::udap_flow`]).

use smart_client::token::scope::ScopeSet;
use smart_client::token::{AccessToken, ErrorCode, TokenError, TokenRef};
use smart_client::{
    AuthorizeMethod, AuthorizeOptions, ClientError, ClientType, IntrospectWith, SecretMethod,
    SmartClient,
};

use crate::profile::{AppClient, Profile, describe, error_text, outcome};
use crate::report::{Finding, Outcome, Problem, Report, StepResult, fail, finish};
use crate::transcript::Transcript;

/// The name of the first step, which needs no client.
pub const DISCOVERY_STEP: &str = "discovery and compliance";

/// Runs every flow the profile allows, writing the narrative to `out`.
#[allow(
    clippy::too_many_lines,
    reason = "one linear script of the flows, in the order the transcript tells them"
)]
pub fn run_all(profile: &Profile<'_>, out: &Transcript<'_>) -> Report {
    let mut steps: Vec<(String, Outcome)> = Vec::new();
    let mut step = |name: &str, result: Result<StepResult, String>| {
        let outcome = match result {
            Ok(Ok(())) => Outcome::Passed,
            Ok(Err(Problem::Fail(reason))) => Outcome::Failed(reason),
            Ok(Err(Problem::Findings(findings))) => Outcome::ServerFinding(findings),
            Err(reason) => Outcome::Skipped(reason),
        };
        match &outcome {
            Outcome::Passed => out.raw("   \u{2713} passed\n"),
            Outcome::Failed(reason) => out.raw(format!(
                "   \u{2717} FAILED: {}\n",
                smart_client::core::escape_text(reason)
            )),
            Outcome::Skipped(reason) => out.raw(format!("   - skipped: {reason}\n")),
            Outcome::ServerFinding(_) => out.raw(format!(
                "   ! server finding: {}\n",
                smart_client::core::escape_text(&outcome.detail())
            )),
        }
        steps.push((name.to_owned(), outcome));
    };
    let number = std::cell::Cell::new(0_usize);
    let title = |text: &str| {
        number.set(number.get() + 1);
        out.raw(format!("{}. {text}", number.get()));
    };

    // Discovery.
    title("Discovery");
    step(
        DISCOVERY_STEP,
        Ok((|| -> StepResult {
            let client = SmartClient::new(
                profile.builder().build().map_err(|e| e.to_string())?,
                ClientType::Public,
            )
            .map_err(|e| error_text(&e))?;
            let configuration = client.discover().map_err(|e| error_text(&e))?;
            out.line(format!(
                "GET {}/.well-known/smart-configuration",
                profile.fhir_base.trim_end_matches('/')
            ));
            let capabilities: Vec<&str> = configuration
                .capabilities()
                .unwrap_or_default()
                .iter()
                .map(smart_client::discovery::Capability::as_str)
                .collect();
            out.line(format!("capabilities: {}", capabilities.join(", ")));
            let report = configuration.compliance();
            if report.is_compliant() {
                out.line("compliance report: no findings");
                Ok(())
            } else {
                Err(fail!(
                    "{} compliance finding(s): {}",
                    report.findings().len(),
                    report
                        .findings()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            }
        })()),
    );

    let browser = |what: &str| -> Result<(), String> {
        if profile.auto_approve {
            Ok(())
        } else {
            Err(format!(
                "{what} needs a user in a browser; run `smart launch`"
            ))
        }
    };

    // Standalone launch, public client, GET.
    title("Standalone launch: public client, GET authorization request");
    step(
        "standalone launch (public, GET)",
        match (&profile.public, browser("a standalone launch")) {
            (None, _) => Err("no public client configured".to_owned()),
            (_, Err(reason)) => Err(reason),
            (Some(app), Ok(())) => Ok((|| {
                let client = profile.app(app, ClientType::Public)?;
                Profile::code_flow(
                    out,
                    &client,
                    &app.redirect_uri,
                    AuthorizeOptions::new()
                        .param("nonce", "demo-nonce-1")
                        .map_err(|e| e.to_string())?,
                )?;
                Ok(())
            })()),
        },
    );

    // Standalone launch, confidential-symmetric, GET.
    title("Standalone launch: confidential client with a secret, GET authorization request");
    step(
        "standalone launch (symmetric, GET)",
        match (&profile.symmetric, browser("a standalone launch")) {
            (None, _) => Err("no confidential-symmetric client configured".to_owned()),
            (_, Err(reason)) => Err(reason),
            (Some(app), Ok(())) => Ok((|| {
                let client = profile.app(app, ClientType::ConfidentialSymmetric)?;
                let token =
                    Profile::code_flow(out, &client, &app.redirect_uri, AuthorizeOptions::new())?;
                if let Some(refresh) = token.refresh_token() {
                    let refreshed = client.refresh(refresh, None).map_err(|e| error_text(&e))?;
                    out.line(format!(
                        "refresh with the client secret -> {}",
                        describe(&refreshed)
                    ));
                }
                Ok(())
            })()),
        },
    );

    // EHR launch, confidential-symmetric, POST.
    title("EHR launch: confidential client with a secret, POST authorization request");
    step(
        "EHR launch (symmetric, POST)",
        match (
            profile.ehr_client.as_ref().or(profile.symmetric.as_ref()),
            &profile.ehr_launch,
            browser("an EHR launch"),
        ) {
            (None, _, _) => Err("no confidential-symmetric client configured".to_owned()),
            (_, None, _) => Err("no EHR launch configured (an EHR starts this flow)".to_owned()),
            (_, _, Err(reason)) => Err(reason),
            (Some(app), Some(launch), Ok(())) => Ok((|| {
                let client = profile.app(app, ClientType::ConfidentialSymmetric)?;
                let launch = launch()?;
                out.line("the EHR opened the app with iss and a launch value");
                let options = AuthorizeOptions::new()
                    .launch(launch)
                    .method(AuthorizeMethod::Post)
                    .scopes("launch openid fhirUser patient/*.rs user/*.rs")
                    .map_err(|e| e.to_string())?;
                let token = Profile::code_flow(out, &client, &app.redirect_uri, options)?;
                if token.context().patient().is_none() {
                    return Err("the EHR launch context has no patient".into());
                }
                Ok(())
            })()),
        },
    );

    // Confidential-asymmetric: code flow, refresh with rotation, reuse refused.
    title("Standalone launch: confidential client with a private key, then refresh");
    step(
        "standalone launch (asymmetric) and refresh",
        match (&profile.asymmetric, browser("a standalone launch")) {
            (None, _) => Err("no confidential-asymmetric client configured".to_owned()),
            (_, Err(reason)) => Err(reason),
            (Some(app), Ok(())) => Ok((|| {
                let client = profile.app(app, ClientType::ConfidentialAsymmetric)?;
                let token =
                    Profile::code_flow(out, &client, &app.redirect_uri, AuthorizeOptions::new())?;
                let first = token
                    .refresh_token()
                    .cloned()
                    .ok_or("no refresh token: ask for offline_access or online_access")?;
                let mut findings = Vec::new();
                let refreshed = client.refresh(&first, None).map_err(|e| error_text(&e))?;
                let alg = app
                    .key
                    .as_ref()
                    .map_or("?", |key| key.default_algorithm().as_str());
                out.line(format!(
                    "refresh with a fresh {alg} assertion -> {}",
                    describe(&refreshed)
                ));
                // A literal subset of the granted scopes: a plain OAuth server refuses a
                // narrower scope that is not spelled as in the grant.
                let granted = token
                    .scope()
                    .map_or_else(|| app.scope.clone(), ToString::to_string);
                let subset: Vec<&str> = granted
                    .split_whitespace()
                    .filter(|s| {
                        s.starts_with("patient/")
                            || s.starts_with("user/")
                            || s.starts_with("system/")
                    })
                    .take(1)
                    .collect();
                if let Some(asked) = subset.first() {
                    let narrower = ScopeSet::parse(asked).map_err(|e| e.to_string())?;
                    let latest = refreshed
                        .refresh_token()
                        .cloned()
                        .unwrap_or_else(|| first.clone());
                    let narrow = client
                        .refresh(&latest, Some(&narrower))
                        .map_err(|e| error_text(&e))?;
                    let got = narrow.scope().map(ToString::to_string).unwrap_or_default();
                    out.line(format!(
                        "refresh with the narrower scope \"{asked}\" -> scope \"{got}\""
                    ));
                    if !got.is_empty() && got != *asked {
                        findings.push(Finding::new(
                            "RFC 6749 §6: a refresh may narrow the scope, and the new token has the scope asked",
                            format!("answered scope \"{got}\" to a refresh that asked for \"{asked}\""),
                        ));
                    }
                }
                let rotated = refreshed
                    .refresh_token()
                    .is_some_and(|new| new.expose_secret() != first.expose_secret());
                if rotated {
                    out.line("the server rotated the refresh token");
                    match client.refresh(&first, None) {
                        Err(ClientError::Token(TokenError::OAuth(oauth)))
                            if oauth.error() == Some(&ErrorCode::InvalidGrant) =>
                        {
                            out.line(
                                "reusing the first refresh token -> invalid_grant, as it should",
                            );
                        }
                        Err(other) => {
                            return Err(fail!(
                                "reusing a rotated refresh token failed oddly: {other}"
                            ));
                        }
                        Ok(_) => findings.push(Finding::new(
                            "OAuth 2.0 Security BCP §4.14.2: a rotated refresh token is invalidated",
                            "accepted the replaced refresh token again",
                        )),
                    }
                } else {
                    out.line("the server kept the refresh token (no rotation)");
                }
                finish(findings)
            })()),
        },
    );

    // Confidential-asymmetric with its keys registered by URL.
    title("Standalone launch: confidential client whose keys are registered by jwks_uri");
    step(
        "standalone launch (asymmetric, jwks_uri)",
        match (&profile.asymmetric_jwks_uri, browser("a standalone launch")) {
            (None, _) => Err("no confidential-asymmetric jwks_uri client configured".to_owned()),
            (_, Err(reason)) => Err(reason),
            (Some(app), Ok(())) => Ok((|| {
                let client = profile.app(app, ClientType::ConfidentialAsymmetric)?;
                Profile::code_flow(out, &client, &app.redirect_uri, AuthorizeOptions::new())?;
                out.line("the server fetched the client's JWK Set from its jwks_uri");
                Ok(())
            })()),
        },
    );

    // Backend Services.
    title("Backend Services: client_credentials with a signed assertion");
    let mut backend_token: Option<AccessToken> = None;
    step(
        "backend services",
        match &profile.backend {
            None => Err("no backend client configured".to_owned()),
            Some(backend) => Ok((|| {
                let client = profile.backend_client(backend)?;
                let scope = backend
                    .scope
                    .as_deref()
                    .map(ScopeSet::parse)
                    .transpose()
                    .map_err(|e| e.to_string())?;
                let token = client
                    .backend_services_token(scope.as_ref())
                    .map_err(|e| error_text(&e))?;
                out.line(describe(&token));
                let report = token.validate(smart_client::token::Flow::BackendServices);
                if !report.is_valid() {
                    return Err(fail!(
                        "token response findings: {}",
                        report
                            .findings()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                }
                backend_token = Some(token.access_token().clone());
                Ok(())
            })()),
        },
    );

    // Introspection: with client authentication or a Bearer token, whichever the server takes.
    title("Introspection (client authentication, else a Bearer token)");
    let mut by_client: Option<bool> = None;
    step(
        "introspection",
        match (&profile.backend, &backend_token) {
            (Some(backend), Some(token)) => Ok((|| {
                let client = profile.backend_client(backend)?;
                let info = match client.introspect(TokenRef::Access(token), IntrospectWith::Client)
                {
                    Ok(info) => {
                        out.line(format!("introspect with client authentication -> {info}"));
                        by_client = Some(true);
                        info
                    }
                    Err(first) => {
                        out.line(format!(
                            "introspect with client authentication -> refused: {}",
                            error_text(&first)
                        ));
                        let info = client
                            .introspect(TokenRef::Access(token), IntrospectWith::Bearer(token))
                            .map_err(|e| {
                                fail!(
                                    "introspection was refused with client authentication ({}) and with a Bearer token ({})",
                                    error_text(&first),
                                    error_text(&e)
                                )
                            })?;
                        out.line(format!("introspect with a Bearer token -> {info}"));
                        by_client = Some(false);
                        info
                    }
                };
                if !info.active() {
                    return Err("a fresh token was reported inactive".into());
                }
                Ok(())
            })()),
            (None, _) => Err("no backend client configured".to_owned()),
            _ => Err("needs a backend token (the backend services step)".to_owned()),
        },
    );

    title("Revocation (RFC 7009), then introspection and a FHIR read with the revoked token");
    let revocation = match (&profile.backend, &backend_token) {
        (Some(backend), Some(token)) => profile
            .backend_client(backend)
            .and_then(|client| {
                let configuration = client.discover().map_err(|e| error_text(&e))?;
                Ok((client, configuration.revocation_endpoint().is_some()))
            })
            .map_or_else(
                |reason| Err(format!("discovery failed: {reason}")),
                |(client, advertised)| {
                    if advertised {
                        Ok((client, token))
                    } else {
                        Err("the server advertises no revocation_endpoint".to_owned())
                    }
                },
            ),
        (None, _) => Err("no backend client configured".to_owned()),
        _ => Err("needs a backend token (the backend services step)".to_owned()),
    };
    step(
        "revocation",
        revocation.map(|(client, token)| {
            client
                .revoke(TokenRef::Access(token))
                .map_err(|e| error_text(&e))?;
            out.line("revoke the token");
            let with = if by_client == Some(false) {
                IntrospectWith::Bearer(token)
            } else {
                IntrospectWith::Client
            };
            match client.introspect(TokenRef::Access(token), with) {
                Ok(info) if info.active() => {
                    return Err("a revoked token is still active".into());
                }
                Ok(info) => out.line(format!("introspect again -> {info}")),
                Err(error) => out.line(format!(
                    "introspect again -> refused ({}), as a revoked Bearer token may be",
                    error_text(&error)
                )),
            }
            match client.read_resource(token, "Patient/x") {
                Err(ClientError::Fhir { status: 401, .. }) => {
                    out.line("FHIR read with the revoked token -> 401");
                    Ok(())
                }
                other => Err(fail!(
                    "a FHIR read with the revoked token did not answer 401: {}",
                    outcome(other)
                )),
            }
        }),
    );

    // Dynamic client registration.
    title("Dynamic client registration (RFC 7591), then a launch with the new client");
    step(
        "dynamic registration",
        match (
            &profile.registration,
            browser("a launch with the new client"),
        ) {
            (None, _) => Err("no registration metadata configured".to_owned()),
            (_, Err(reason)) => Err(reason),
            (Some(metadata), Ok(())) => Ok((|| {
                let client = SmartClient::new(
                    profile.builder().build().map_err(|e| e.to_string())?,
                    ClientType::Public,
                )
                .map_err(|e| error_text(&e))?;
                let registration = client
                    .register(metadata, None)
                    .map_err(|e| error_text(&e))?;
                out.line(format!("registered client_id {}", registration.client_id()));
                let redirect = metadata
                    .get("redirect_uris")
                    .and_then(|v| v.get(0))
                    .and_then(|v| v.as_str())
                    .ok_or("the metadata has no redirect_uris")?;
                let app = AppClient {
                    client_id: registration.client_id().as_str().to_owned(),
                    redirect_uri: redirect.to_owned(),
                    scope: metadata
                        .get("scope")
                        .and_then(|v| v.as_str())
                        .unwrap_or("launch/patient patient/*.rs")
                        .to_owned(),
                    secret: None,
                    secret_method: SecretMethod::default(),
                    key: None,
                    kid: None,
                };
                let new_client = profile.app(&app, ClientType::Public)?;
                Profile::code_flow(out, &new_client, &app.redirect_uri, AuthorizeOptions::new())?;
                Ok(())
            })()),
        },
    );

    crate::refusals::run(profile, out, &browser, &mut step, &title);
    crate::udap_flow::run(profile, out, &mut step, &title);

    Report { steps }
}
