//! Every SMART flow, run in order against one server: the demo's transcript and the
//! conformance table (`cargo xtask conformance`).

use crate::output::outln;
use std::time::Duration;

use smart_client::core::ClientId;
use smart_client::jwt::{AssertionSigner, PrivateKey};
use smart_client::token::scope::ScopeSet;
use smart_client::token::{
    AccessToken, ClientSecret, ErrorCode, TokenError, TokenRef, TokenResponse,
};
use smart_client::ureq;
use smart_client::{
    AuthorizationRequest, AuthorizeMethod, AuthorizeOptions, ClientConfig, ClientConfigBuilder,
    ClientError, ClientType, HttpOptions, IntrospectWith, SecretMethod, SmartClient,
};

pub(crate) use crate::profile::{
    AppClient, BackendClient, DISCOVERY_STEP, Outcome, Profile, Report, StepResult, Transcript,
};

fn error_text(error: &ClientError) -> String {
    crate::common::error_chain(error)
}

/// An agent that follows no redirect and reads no proxy from the environment.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Sends the authorization request as a browser would; returns the status and the `Location`.
fn browse_raw(request: &AuthorizationRequest) -> Result<(u16, Option<String>), String> {
    let agent = agent();
    let response = match request.method() {
        AuthorizeMethod::Get => agent.get(request.url().as_str()).call(),
        AuthorizeMethod::Post => agent
            .post(request.url().as_str())
            .send_form(request.form().iter().map(|(n, v)| (n.as_str(), v.as_str()))),
    }
    .map_err(|error| format!("the browser could not reach the authorization endpoint: {error}"))?;
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Ok((response.status().as_u16(), location))
}

/// Plays the user's browser against a server that approves at once: sends the authorization
/// request and returns where the server redirects to (the callback URL).
fn browse(request: &AuthorizationRequest) -> Result<String, String> {
    match browse_raw(request)? {
        (_, Some(location)) => Ok(location),
        (status, None) => Err(format!(
            "the authorization endpoint answered HTTP {status} without a redirect"
        )),
    }
}

/// POSTs a form to the token endpoint as it is, without the client library (for requests the
/// library would never make, such as a replayed assertion). Returns the status and `error`.
fn raw_token_request(url: &str, form: &[(&str, &str)]) -> Result<(u16, Option<String>), String> {
    let mut response = agent()
        .post(url)
        .send_form(form.iter().copied())
        .map_err(|error| format!("the token endpoint could not be reached: {error}"))?;
    let status = response.status().as_u16();
    let error = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .ok()
        .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|body| body.get("error")?.as_str().map(str::to_owned));
    Ok((status, error))
}

/// What a call that should have been refused did, as a sentence (never a `Debug` dump).
fn outcome<T>(result: Result<T, ClientError>) -> String {
    match result {
        Ok(_) => "it succeeded".to_owned(),
        Err(error) => format!("it failed with: {}", error_text(&error)),
    }
}

/// Expects an OAuth refusal with `code` from a library call.
fn expect_refusal<T>(
    result: Result<T, ClientError>,
    code: &ErrorCode,
    what: &str,
) -> Result<String, String> {
    match result {
        Err(ClientError::Token(TokenError::OAuth(oauth))) if oauth.error() == Some(code) => {
            Ok(oauth.to_string())
        }
        Err(other) => Err(format!(
            "{what} was refused, but not with {code}: {}",
            error_text(&other)
        )),
        Ok(_) => Err(format!("{what} was accepted")),
    }
}

/// Shows a callback URL with its code and state hidden.
fn redacted_callback(callback: &str) -> String {
    match callback.split_once('?') {
        Some((base, query)) => {
            let names: Vec<String> = smart_client::core::form::decode(query.as_bytes())
                .into_iter()
                .map(|(name, value)| match name.as_str() {
                    "code" | "state" => format!("{name}=[redacted]"),
                    _ => format!("{name}={value}"),
                })
                .collect();
            format!("{base}?{}", names.join("&"))
        }
        None => callback.to_owned(),
    }
}

fn describe(token: &TokenResponse) -> String {
    let mut text = format!(
        "token: {}, expires in {}, scope \"{}\"",
        token.token_type().unwrap_or("?"),
        token
            .expires_in()
            .map_or_else(|| "?".to_owned(), |s| format!("{s} s")),
        token.scope().map(ToString::to_string).unwrap_or_default()
    );
    if let Some(patient) = token.context().patient() {
        text.push_str(", patient ");
        text.push_str(patient);
    }
    if let Some(encounter) = token.context().encounter() {
        text.push_str(", encounter ");
        text.push_str(encounter);
    }
    if token.refresh_token().is_some() {
        text.push_str(", refresh token");
    }
    text
}

impl Profile<'_> {
    fn builder(&self) -> ClientConfigBuilder {
        ClientConfig::builder(self.fhir_base.clone())
            .allow_insecure_localhost(self.allow_insecure_localhost)
            .http_options(HttpOptions::new().timeout(self.timeout))
    }

    fn app(&self, app: &AppClient, client_type: ClientType) -> Result<SmartClient, String> {
        let mut builder = self
            .builder()
            .client_id(app.client_id.clone())
            .redirect_uri(app.redirect_uri.clone())
            .scopes(app.scope.clone());
        if let Some(secret) = &app.secret {
            builder = builder
                .client_secret(ClientSecret::new(secret.clone()))
                .secret_method(app.secret_method);
        }
        if let Some(key) = &app.key {
            let pem = key.to_pkcs8_pem().map_err(|e| e.to_string())?;
            builder = builder.private_key(PrivateKey::from_pem(&pem).map_err(|e| e.to_string())?);
        }
        if let Some(kid) = &app.kid {
            builder = builder.kid(kid.clone());
        }
        let config = builder.build().map_err(|e| e.to_string())?;
        SmartClient::new(config, client_type).map_err(|e| error_text(&e))
    }

    fn backend_client(&self, backend: &BackendClient) -> Result<SmartClient, String> {
        let pem = backend.key.to_pkcs8_pem().map_err(|e| e.to_string())?;
        let mut builder = self
            .builder()
            .client_id(backend.client_id.clone())
            .private_key(PrivateKey::from_pem(&pem).map_err(|e| e.to_string())?);
        if let Some(kid) = &backend.kid {
            builder = builder.kid(kid.clone());
        }
        let config = builder.build().map_err(|e| e.to_string())?;
        SmartClient::new(config, ClientType::ConfidentialAsymmetric).map_err(|e| error_text(&e))
    }

    /// Authorize, play the browser, exchange the code, verify the `id_token`, read the patient.
    fn code_flow(
        out: &Transcript,
        client: &SmartClient,
        options: AuthorizeOptions,
    ) -> Result<TokenResponse, String> {
        let request = client.authorize(options).map_err(|e| error_text(&e))?;
        match request.method() {
            AuthorizeMethod::Get => out.line(format!("authorization URL: {}", request.url())),
            AuthorizeMethod::Post => out.line(format!(
                "authorization form POSTed to {} ({} fields)",
                request.url(),
                request.form().len()
            )),
        }
        let callback = browse(&request)?;
        out.line(format!(
            "browser returned to {}",
            redacted_callback(&callback)
        ));
        let pending = request.into_pending();
        let token = client
            .complete_authorization(&callback, &pending)
            .map_err(|e| error_text(&e))?;
        out.line(describe(&token));
        if let Some(id_token) = token.id_token() {
            let claims = client
                .verify_id_token(id_token, pending.nonce())
                .map_err(|e| error_text(&e))?;
            out.line(format!(
                "id_token verified (RS256, issuer, audience, nonce): fhirUser {}",
                claims.fhir_user().unwrap_or("-")
            ));
        }
        if let Some(patient) = token.context().patient() {
            let resource = client
                .read_resource(token.access_token(), &format!("Patient/{patient}"))
                .map_err(|e| error_text(&e))?;
            out.line(format!(
                "GET Patient/{patient} with the token -> {} {}",
                resource
                    .get("resourceType")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?"),
                resource.get("id").and_then(|v| v.as_str()).unwrap_or("?")
            ));
        }
        Ok(token)
    }
}

/// Runs every flow the profile allows.
#[allow(
    clippy::too_many_lines,
    reason = "one linear script of the flows, in the order the transcript tells them"
)]
pub(crate) fn run_all(profile: &Profile<'_>, verbose: bool) -> Report {
    let out = Transcript { verbose };
    let mut steps: Vec<(String, Outcome)> = Vec::new();
    let mut step = |name: &str, result: Result<StepResult, String>| {
        let outcome = match result {
            Ok(Ok(())) => Outcome::Passed,
            Ok(Err(reason)) => Outcome::Failed(reason),
            Err(reason) => Outcome::Skipped(reason),
        };
        if verbose {
            match &outcome {
                Outcome::Passed => outln!("   ✓ passed\n"),
                Outcome::Failed(reason) => outln!("   ✗ FAILED: {}\n", crate::common::esc(reason)),
                Outcome::Skipped(reason) => outln!("   - skipped: {reason}\n"),
            }
        }
        steps.push((name.to_owned(), outcome));
    };
    let number = std::cell::Cell::new(0_usize);
    let title = |text: &str| {
        number.set(number.get() + 1);
        if verbose {
            outln!("{}. {text}", number.get());
        }
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
                Err(format!(
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
                    &out,
                    &client,
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
                let token = Profile::code_flow(&out, &client, AuthorizeOptions::new())?;
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
            &profile.symmetric,
            &profile.ehr_launch,
            browser("an EHR launch"),
        ) {
            (None, _, _) => Err("no confidential-symmetric client configured".to_owned()),
            (_, None, _) => {
                Err("no EHR launch value available (an EHR starts this flow)".to_owned())
            }
            (_, _, Err(reason)) => Err(reason),
            (Some(app), Some(launch), Ok(())) => Ok((|| {
                let client = profile.app(app, ClientType::ConfidentialSymmetric)?;
                let launch = launch();
                out.line("the EHR opened the app with iss and a launch value");
                let options = AuthorizeOptions::new()
                    .launch(launch)
                    .method(AuthorizeMethod::Post)
                    .scopes("launch openid fhirUser patient/*.rs user/*.rs")
                    .map_err(|e| e.to_string())?;
                let token = Profile::code_flow(&out, &client, options)?;
                if token.context().patient().is_none() {
                    return Err("the EHR launch context has no patient".to_owned());
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
                let token = Profile::code_flow(&out, &client, AuthorizeOptions::new())?;
                let first = token
                    .refresh_token()
                    .cloned()
                    .ok_or("no refresh token: ask for offline_access or online_access")?;
                let refreshed = client.refresh(&first, None).map_err(|e| error_text(&e))?;
                out.line(format!(
                    "refresh with a fresh ES384 assertion -> {}",
                    describe(&refreshed)
                ));
                let narrower = ScopeSet::parse("patient/Patient.rs").map_err(|e| e.to_string())?;
                let latest = refreshed
                    .refresh_token()
                    .cloned()
                    .unwrap_or_else(|| first.clone());
                let narrow = client
                    .refresh(&latest, Some(&narrower))
                    .map_err(|e| error_text(&e))?;
                out.line(format!(
                    "refresh with a narrower scope -> scope \"{}\"",
                    narrow.scope().map(ToString::to_string).unwrap_or_default()
                ));
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
                            return Err(format!(
                                "reusing a rotated refresh token failed oddly: {other}"
                            ));
                        }
                        Ok(_) => {
                            return Err("a rotated refresh token was accepted twice".to_owned());
                        }
                    }
                } else {
                    out.line("the server kept the refresh token (no rotation)");
                }
                Ok(())
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
                Profile::code_flow(&out, &client, AuthorizeOptions::new())?;
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
                    return Err(format!(
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

    // Introspection and revocation.
    title("Introspection and revocation");
    step(
        "introspection and revocation",
        match (&profile.backend, &backend_token) {
            (Some(backend), Some(token)) => Ok((|| {
                let client = profile.backend_client(backend)?;
                let info = client
                    .introspect(TokenRef::Access(token), IntrospectWith::Client)
                    .map_err(|e| error_text(&e))?;
                out.line(format!("introspect with client authentication -> {info}"));
                if !info.active() {
                    return Err("a fresh token was reported inactive".to_owned());
                }
                let info = client
                    .introspect(TokenRef::Access(token), IntrospectWith::Bearer(token))
                    .map_err(|e| error_text(&e))?;
                out.line(format!("introspect with a Bearer token -> {info}"));
                client
                    .revoke(TokenRef::Access(token))
                    .map_err(|e| error_text(&e))?;
                out.line("revoke the token");
                let info = client
                    .introspect(TokenRef::Access(token), IntrospectWith::Client)
                    .map_err(|e| error_text(&e))?;
                out.line(format!("introspect again -> {info}"));
                if info.active() {
                    return Err("a revoked token is still active".to_owned());
                }
                match client.read_resource(token, "Patient/x") {
                    Err(ClientError::Fhir { status: 401, .. }) => {
                        out.line("FHIR read with the revoked token -> 401");
                    }
                    other => {
                        return Err(format!(
                            "a FHIR read with the revoked token did not answer 401: {}",
                            outcome(other)
                        ));
                    }
                }
                Ok(())
            })()),
            _ => Err("needs a backend token (step 5)".to_owned()),
        },
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
                Profile::code_flow(&out, &new_client, AuthorizeOptions::new())?;
                Ok(())
            })()),
        },
    );

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
                let grant = Profile::code_flow(&out, &client, AuthorizeOptions::new())?;
                let refresh_token = grant.refresh_token().ok_or(
                    "the server issued no refresh_token, so a refresh with a wrong secret cannot be tried (add offline_access to the client's scope)",
                )?;
                let wrong_client = profile.app(&wrong, ClientType::ConfidentialSymmetric)?;
                match wrong_client.refresh(refresh_token, None) {
                    Err(ClientError::Token(TokenError::OAuth(oauth)))
                        if oauth.error() == Some(&ErrorCode::InvalidClient) =>
                    {
                        out.line(format!("refresh with a wrong client secret -> {oauth}"));
                    }
                    Ok(_) => {
                        return Err("the server does no client authentication at refresh: a refresh of a real refresh token with a wrong client secret was granted".to_owned());
                    }
                    Err(other) => {
                        return Err(format!(
                            "a refresh with a wrong client secret was refused, but not as invalid_client: {}",
                            error_text(&other)
                        ));
                    }
                }
                let request = client
                    .authorize(AuthorizeOptions::new())
                    .map_err(|e| error_text(&e))?;
                let callback = browse(&request)?;
                let forged = callback.replace("state=", "state=0");
                match client.complete_authorization(&forged, request.pending()) {
                    Err(ClientError::StateMismatch) => out
                        .line("a callback with a forged state -> refused before any token request"),
                    other => {
                        return Err(format!(
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
                            return Err(format!(
                                "an assertion signed by the wrong key was not refused as invalid_client: {}",
                                outcome(other)
                            ));
                        }
                    }
                }
                Ok(())
            })()),
        },
    );

    negatives(profile, &out, &browser, &mut step, &title);
    crate::udap_flow::run(profile, &out, &mut step, &title);

    Report { steps }
}

/// The checks that a conforming server refuses what it must: a replayed client assertion, a
/// reused authorization code, an unregistered or changed `redirect_uri`, an expired code.
#[allow(
    clippy::too_many_lines,
    reason = "one linear script of the refusals, in the order the transcript tells them"
)]
fn negatives(
    profile: &Profile<'_>,
    out: &Transcript,
    browser: &dyn Fn(&str) -> Result<(), String>,
    step: &mut dyn FnMut(&str, Result<StepResult, String>),
    title: &dyn Fn(&str),
) {
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
                    return Err(format!(
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
                    (status, error) => Err(format!(
                        "a replayed assertion was not refused as invalid_client: HTTP {status} {}",
                        error.unwrap_or_default()
                    )),
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
                let callback = browse(&request)?;
                client
                    .complete_authorization(&callback, request.pending())
                    .map_err(|e| error_text(&e))?;
                out.line("the code exchanged once -> tokens");
                let refusal = expect_refusal(
                    client.complete_authorization(&callback, request.pending()),
                    &ErrorCode::InvalidGrant,
                    "a second exchange of the same code",
                )?;
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
                let request = profile
                    .app(&wrong, ClientType::Public)?
                    .authorize(AuthorizeOptions::new())
                    .map_err(|e| error_text(&e))?;
                match browse_raw(&request)? {
                    (_, Some(location)) if location.starts_with(&wrong_uri) => {
                        return Err(format!(
                            "the server redirected to the unregistered {wrong_uri}"
                        ));
                    }
                    (status, _) if (400..500).contains(&status) => out.line(format!(
                        "authorize with an unregistered redirect_uri -> HTTP {status}, no redirect to it"
                    )),
                    (status, _) => {
                        return Err(format!(
                            "an unregistered redirect_uri got HTTP {status}; expected a 4xx error page"
                        ));
                    }
                }
                // At the token endpoint: a code exchanged with another redirect_uri than the one
                // of its authorization request.
                let client = profile.app(app, ClientType::Public)?;
                let request = client
                    .authorize(AuthorizeOptions::new())
                    .map_err(|e| error_text(&e))?;
                let callback = browse(&request)?;
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
                        Ok(())
                    }
                    (status, error) => Err(format!(
                        "a code exchanged with another redirect_uri was not refused as invalid_grant: HTTP {status} {}",
                        error.unwrap_or_default()
                    )),
                }
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
                let callback = browse(&request)?;
                advance_clock(Duration::from_secs(61));
                let refusal = expect_refusal(
                    client.complete_authorization(&callback, request.pending()),
                    &ErrorCode::InvalidGrant,
                    "a code 61 s old",
                )?;
                out.line(format!("exchange the code 61 s later -> {refusal}"));
                Ok(())
            })()),
        },
    );
}
