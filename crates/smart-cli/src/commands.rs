//! The subcommands that make one call or one local computation.

use crate::output::{errln, outln};

use serde_json::{Value, json};
use smart_client::core::{AuthorizeUrl, ClientId, EndpointUrl, IssuerUrl, JwksUrl, TokenUrl};
use smart_client::discovery::{Capability, SmartConfiguration};
use smart_client::jwt::{AssertionSigner, PrivateKey, decode_unverified};
use smart_client::token::scope::ScopeSet;
use smart_client::token::{AccessToken, RefreshToken, TokenRef};
use smart_client::{
    AuthorizeMethod, AuthorizeOptions, ClientConfig, ClientType, IntrospectWith,
    PendingAuthorization, SmartClient,
};

use crate::args::{
    AssertionArgs, AuthorizeUrlArgs, BackendArgs, DiscoverArgs, ExchangeArgs, Global,
    IntrospectArgs, JwksArgs, KeyAlg, KeygenArgs, RefreshArgs, RegisterArgs, RevokeArgs,
};
use crate::common::{
    Failure, client, config_builder, error_chain, esc, http_options, parse_alg, print_json,
    print_token, read_key, read_secret, required_token, shown, token_json, write_private_file,
};
use crate::local::{LARGE_FILE, SMALL_FILE, read_text};
use smart_client::core::display_url;

/// `smart discover`.
pub(crate) fn discover(global: &Global, args: &DiscoverArgs) -> Result<(), Failure> {
    let config = ClientConfig::builder(args.fhir_base.clone())
        .allow_insecure_localhost(global.allow_insecure_localhost)
        .fallback_to_metadata(args.fallback_metadata)
        .http_options(http_options(global))
        .build()?;
    let client = SmartClient::new(config, ClientType::Public)?;
    let configuration = client.discover()?;
    let report = configuration.compliance();
    let supports = supports(&configuration);
    if global.json {
        print_json(&json!({
            "ok": true,
            "fhir_base": args.fhir_base,
            "configuration": serde_json::to_value(&*configuration).unwrap_or(Value::Null),
            "supports": supports,
            "asymmetric_signing_algorithms": configuration.asymmetric_signing_algorithms_supported(),
            "compliant": report.is_compliant(),
            "findings": report.findings().iter().map(ToString::to_string).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    print_discovery(&args.fhir_base, &configuration, &report, &supports);
    Ok(())
}

/// The text form of `smart discover`.
fn print_discovery(
    fhir_base: &str,
    configuration: &SmartConfiguration,
    report: &smart_client::discovery::ComplianceReport,
    supports: &Value,
) {
    outln!("SMART configuration of {}", display_url(fhir_base));
    let endpoint = |name: &str, value: Option<&str>| {
        outln!(
            "  {name:<24} {}",
            value.map_or_else(|| "-".to_owned(), display_url)
        );
    };
    endpoint("issuer", configuration.issuer().map(IssuerUrl::as_str));
    endpoint(
        "authorization_endpoint",
        configuration
            .authorization_endpoint()
            .map(AuthorizeUrl::as_str),
    );
    endpoint(
        "token_endpoint",
        configuration.token_endpoint().map(TokenUrl::as_str),
    );
    endpoint("jwks_uri", configuration.jwks_uri().map(JwksUrl::as_str));
    endpoint(
        "registration_endpoint",
        configuration
            .registration_endpoint()
            .map(EndpointUrl::as_str),
    );
    endpoint(
        "introspection_endpoint",
        configuration
            .introspection_endpoint()
            .map(EndpointUrl::as_str),
    );
    endpoint(
        "revocation_endpoint",
        configuration.revocation_endpoint().map(EndpointUrl::as_str),
    );
    endpoint(
        "management_endpoint",
        configuration.management_endpoint().map(EndpointUrl::as_str),
    );
    let list = |values: Option<&[String]>| {
        values.map_or_else(
            || "-".to_owned(),
            |v| v.iter().map(|s| esc(s)).collect::<Vec<_>>().join(", "),
        )
    };
    outln!(
        "  {:<24} {}",
        "grant_types",
        list(configuration.grant_types_supported())
    );
    outln!(
        "  {:<24} {}",
        "code_challenge_methods",
        list(configuration.code_challenge_methods_supported())
    );
    outln!(
        "  {:<24} {}",
        "token_endpoint_auth",
        list(configuration.token_endpoint_auth_methods_supported())
    );
    outln!();
    outln!("Capabilities:");
    let advertised = configuration.capabilities().unwrap_or_default();
    for capability in Capability::KNOWN {
        let mark = if advertised.contains(capability) {
            "x"
        } else {
            " "
        };
        outln!("  [{mark}] {}", capability.as_str());
    }
    for unknown in advertised.iter().filter(|c| !c.is_known()) {
        outln!("  [x] {} (not defined by SMART 2.2)", esc(unknown.as_str()));
    }
    outln!();
    outln!("Client support:");
    if let Value::Object(map) = supports {
        for (name, value) in map {
            outln!(
                "  {:<32} {}",
                name,
                if value == &Value::Bool(true) {
                    "yes"
                } else {
                    "no"
                }
            );
        }
    }
    outln!();
    if report.is_compliant() {
        outln!("Compliance: no findings");
    } else {
        outln!("Compliance: {} finding(s)", report.findings().len());
        for finding in report.findings() {
            outln!("  - {}", esc(&finding.to_string()));
        }
    }
}

fn supports(configuration: &SmartConfiguration) -> Value {
    json!({
        "ehr_launch": configuration.supports_ehr_launch(),
        "standalone_launch": configuration.supports_standalone_launch(),
        "public_auth": configuration.supports_public_auth(),
        "symmetric_auth": configuration.supports_symmetric_auth(),
        "asymmetric_auth": configuration.supports_asymmetric_auth(),
        "backend_services": configuration.supports_backend_services(),
        "dynamic_registration": configuration.supports_dynamic_registration(),
        "post_based_authorization": configuration.supports_post_based_authorization(),
        "openid_connect": configuration.supports_openid_connect(),
    })
}

/// Splits `NAME=VALUE` extra parameters.
pub(crate) fn extra_params(
    options: AuthorizeOptions,
    params: &[String],
) -> Result<AuthorizeOptions, Failure> {
    params.iter().try_fold(options, |options, param| {
        let (name, value) = param
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("--param `{param}` is not NAME=VALUE")))?;
        Ok(options.param(name, value)?)
    })
}

/// `smart authorize-url`.
pub(crate) fn authorize_url(global: &Global, args: &AuthorizeUrlArgs) -> Result<(), Failure> {
    let (builder, client_type) = config_builder(global, &args.client)?;
    let client = client(
        builder
            .redirect_uri(args.redirect_uri.clone())
            .scopes(args.scope.clone()),
        client_type,
    )?;
    let mut options = AuthorizeOptions::new();
    if let Some(launch) = &args.launch {
        options = options.launch(launch.clone());
    }
    if args.post {
        options = options.method(AuthorizeMethod::Post);
    }
    let options = extra_params(options, &args.params)?;
    let request = client.authorize(options)?;
    let pending = request.pending();
    if let Some(path) = &args.save_pending {
        let text = serde_json::to_string_pretty(pending).map_err(|error| {
            Failure::usage(format!(
                "cannot serialise the pending authorization: {error}"
            ))
        })?;
        write_private_file(path, &text, true)?;
    }
    if global.json {
        print_json(&json!({
            "ok": true,
            "method": if args.post { "POST" } else { "GET" },
            "url": request.url().as_str(),
            "form": request.form().iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
            "state": pending.state().expose_secret(),
            // Saved with the pending authorization, the verifier is not shown as well.
            "code_verifier": args.save_pending.is_none().then(|| pending.verifier().expose_secret()),
            "nonce": pending.nonce(),
        }));
        return Ok(());
    }
    match request.method() {
        AuthorizeMethod::Get => outln!("Open this URL in the browser:\n\n{}\n", request.url()),
        AuthorizeMethod::Post => {
            outln!("POST this form to {}:\n", request.url());
            for (name, value) in request.form() {
                outln!("  {name} = {value}");
            }
            outln!();
        }
    }
    outln!("state:         {}", pending.state().expose_secret());
    if args.save_pending.is_none() {
        outln!("code_verifier: {}", pending.verifier().expose_secret());
    }
    if let Some(nonce) = pending.nonce() {
        outln!("nonce:         {}", esc(nonce));
    }
    if let Some(path) = &args.save_pending {
        outln!(
            "pending authorization saved to {} (keep it private)",
            path.display()
        );
    }
    Ok(())
}

/// `smart token exchange`.
pub(crate) fn exchange(global: &Global, args: &ExchangeArgs) -> Result<(), Failure> {
    let text = read_text(&args.pending, "pending authorization", SMALL_FILE)?;
    let pending: PendingAuthorization = serde_json::from_str(&text).map_err(|error| {
        Failure::usage(format!(
            "{} is not a pending authorization: {error}",
            args.pending.display()
        ))
    })?;
    let callback = read_secret(
        args.callback_env.as_deref(),
        args.callback_file.as_deref(),
        "callback URL",
    )?
    .ok_or_else(|| {
        Failure::usage("give the callback URL with --callback-env VAR or --callback-file FILE")
    })?;
    // A server may echo the code or the verifier in an error: they are never printed.
    crate::messages::remember_secret(pending.verifier().expose_secret());
    let query = callback
        .split_once('?')
        .map_or(callback.as_str(), |(_, query)| query);
    for (name, value) in smart_client::core::form::decode(query.as_bytes()) {
        if name == "code" {
            crate::messages::remember_secret(&value);
        }
    }
    // The pending authorization names the client it was made for.
    let stored = pending.client_id().as_str();
    if let Some(given) = &args.client.client_id
        && given != stored
    {
        return Err(Failure::usage(format!(
            "--client-id {} is not the client of the pending authorization in {} ({}); leave --client-id out to use the pending authorization's",
            esc(given),
            args.pending.display(),
            esc(stored)
        )));
    }
    let mut client_args = args.client.clone();
    client_args.client_id = Some(stored.to_owned());
    let (builder, client_type) = config_builder(global, &client_args)?;
    let builder = builder.redirect_uri(pending.redirect_uri().as_str());
    let client = client(builder, client_type)?;
    let token = client.complete_authorization(&callback, &pending)?;
    report_token(global, &token, args.show_tokens);
    Ok(())
}

/// `smart token refresh`.
pub(crate) fn refresh(global: &Global, args: &RefreshArgs) -> Result<(), Failure> {
    let refresh_token = RefreshToken::new(required_token(&args.refresh_token, "refresh token")?);
    let narrower = args.scope.as_deref().map(ScopeSet::parse).transpose()?;
    let (builder, client_type) = config_builder(global, &args.client)?;
    let token = client(builder, client_type)?.refresh(&refresh_token, narrower.as_ref())?;
    report_token(global, &token, args.show_tokens);
    Ok(())
}

/// `smart token backend`.
pub(crate) fn backend(global: &Global, args: &BackendArgs) -> Result<(), Failure> {
    let scope = args.scope.as_deref().map(ScopeSet::parse).transpose()?;
    let (builder, _) = config_builder(global, &args.client)?;
    let client = client(builder, ClientType::ConfidentialAsymmetric)?;
    check_assertion_algorithm(&client, &args.client)?;
    let token = client.backend_services_token(scope.as_ref())?;
    report_token(global, &token, args.show_tokens);
    Ok(())
}

/// Refuses, before anything is signed, an assertion algorithm the server does not list in
/// `token_endpoint_auth_signing_alg_values_supported` (a server that lists neither RS384 nor
/// ES384 would answer a bare `invalid_client`).
fn check_assertion_algorithm(
    client: &SmartClient,
    args: &crate::args::ClientArgs,
) -> Result<(), Failure> {
    let Some(path) = &args.key else {
        return Ok(());
    };
    // Without discovery (a configured --token-endpoint and no document) there is no list.
    let Ok(configuration) = client.discover() else {
        return Ok(());
    };
    let key = read_key(path)?;
    let alg =
        smart_client::jwt::JwsSigner::algorithm(&key.signer(parse_alg(args.alg.as_deref())?)?);
    if configuration.accepts_assertion_algorithm(alg.as_str()) {
        return Ok(());
    }
    let listed = configuration
        .token_endpoint_auth_signing_alg_values_supported()
        .unwrap_or_default()
        .iter()
        .map(|alg| esc(alg).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    Err(Failure::usage(format!(
        "the server accepts client assertions signed with {listed} only (token_endpoint_auth_signing_alg_values_supported), not {alg}; nothing was sent. SMART requires servers to accept RS384 and ES384: use a key and --alg the server lists, or report it to the server's operator"
    )))
}

fn report_token(global: &Global, token: &smart_client::token::TokenResponse, show: bool) {
    if global.json {
        let mut value = token_json(token, show);
        value["ok"] = Value::Bool(true);
        print_json(&value);
    } else {
        print_token(token, show);
    }
}

/// The token an introspection or revocation is about, read from the environment or a file.
enum Subject {
    Access(AccessToken),
    Refresh(RefreshToken),
}

impl Subject {
    fn read(source: &crate::args::TokenSource, refresh: bool, what: &str) -> Result<Self, Failure> {
        let value = required_token(source, what)?;
        Ok(if refresh {
            Self::Refresh(RefreshToken::new(value))
        } else {
            Self::Access(AccessToken::new(value))
        })
    }

    fn token_ref(&self) -> TokenRef<'_> {
        match self {
            Self::Access(token) => TokenRef::Access(token),
            Self::Refresh(token) => TokenRef::Refresh(token),
        }
    }
}

/// `smart introspect`.
pub(crate) fn introspect(global: &Global, args: &IntrospectArgs) -> Result<(), Failure> {
    let subject = Subject::read(&args.token, args.refresh, "token to introspect")?;
    let token = subject.token_ref();
    let bearer =
        read_secret(args.bearer_env.as_deref(), None, "bearer token")?.map(AccessToken::new);
    let with = bearer
        .as_ref()
        .map_or(IntrospectWith::Client, IntrospectWith::Bearer);
    let (builder, client_type) = config_builder(global, &args.client)?;
    let info = client(builder, client_type)?
        .introspect(token, with)
        .map_err(|error| Failure::from_client(&error, bearer.is_some()))?;
    if global.json {
        print_json(&json!({
            "ok": true,
            "active": info.active(),
            "scope": info.scope().map(ToString::to_string),
            "client_id": info.client_id(),
            "exp": info.exp(),
            "sub": info.sub(),
            "fhirUser": info.fhir_user(),
            "launch_context": info.context(),
        }));
    } else {
        outln!("{info}");
        if let Some(exp) = info.exp() {
            outln!("exp: {exp}");
        }
        if let Some(patient) = info.context().patient() {
            outln!("patient: {}", esc(patient));
        }
    }
    Ok(())
}

/// `smart revoke`.
pub(crate) fn revoke(global: &Global, args: &RevokeArgs) -> Result<(), Failure> {
    let subject = Subject::read(&args.token, args.refresh, "token to revoke")?;
    let token = subject.token_ref();
    let (builder, client_type) = config_builder(global, &args.client)?;
    client(builder, client_type)?.revoke(token)?;
    if global.json {
        print_json(&json!({"ok": true, "revoked": true}));
    } else {
        outln!("revoked");
    }
    Ok(())
}

/// `smart register`.
pub(crate) fn register(global: &Global, args: &RegisterArgs) -> Result<(), Failure> {
    let text = read_text(&args.metadata, "metadata file", LARGE_FILE)?;
    let metadata: serde_json::Map<String, Value> =
        serde_json::from_str(&text).map_err(|error| {
            Failure::usage(format!(
                "{} is not a JSON object: {error}",
                args.metadata.display()
            ))
        })?;
    let initial = read_secret(
        args.initial_access_token_env.as_deref(),
        None,
        "initial access token",
    )?
    .map(AccessToken::new);
    let config = ClientConfig::builder(args.fhir_base.clone())
        .allow_insecure_localhost(global.allow_insecure_localhost)
        .http_options(http_options(global))
        .build()?;
    let client = SmartClient::new(config, ClientType::Public)?;
    let registration = match &args.registration_endpoint {
        Some(url) => {
            let endpoint = EndpointUrl::parse(url.clone())
                .map_err(|error| Failure::usage(error_chain(&error)))?;
            client.register_at(&endpoint, &metadata, initial.as_ref())?
        }
        None => client.register(&metadata, initial.as_ref())?,
    };
    let secret = registration
        .client_secret()
        .map(|s| shown(s.expose_secret(), args.show_tokens));
    if global.json {
        print_json(&json!({
            "ok": true,
            "client_id": registration.client_id().as_str(),
            "client_secret": secret,
            "client_id_issued_at": registration.client_id_issued_at(),
            "metadata": registration.metadata(),
        }));
    } else {
        outln!("client_id:     {}", esc(registration.client_id().as_str()));
        if let Some(secret) = secret {
            outln!("client_secret: {secret}");
        }
    }
    Ok(())
}

/// `smart keygen`.
pub(crate) fn keygen(global: &Global, args: &KeygenArgs) -> Result<(), Failure> {
    let key = match args.alg {
        KeyAlg::Es384 => PrivateKey::generate_p384()?,
        KeyAlg::Rs384 => PrivateKey::generate_rsa(args.bits)?,
    };
    let pem = key.to_pkcs8_pem()?;
    write_private_file(&args.out, &pem, args.force)?;
    let jwks = key.public_jwk_set(args.kid.as_deref());
    if global.json {
        print_json(
            &json!({"ok": true, "key_file": args.out, "kid": kid_of(&key, args.kid.as_deref()), "jwks": serde_json::to_value(&jwks).unwrap_or(Value::Null)}),
        );
    } else {
        errln!(
            "wrote {} ({}, {} bits); register this JWK Set with the EHR:",
            args.out.display(),
            key.key_type(),
            key.bits()
        );
        outln!("{}", jwks.to_json_pretty());
    }
    Ok(())
}

fn kid_of(key: &PrivateKey, kid: Option<&str>) -> String {
    kid.map_or_else(|| key.thumbprint(), str::to_owned)
}

/// `smart jwks`: the bare JWK Set as text (ready to register); with `--json`, an object with
/// `ok`, `kid` and `jwks`, like every other command's JSON.
pub(crate) fn jwks(global: &Global, args: &JwksArgs) -> Result<(), Failure> {
    let key = read_key(&args.key)?;
    let jwks = key.public_jwk_set(args.kid.as_deref());
    if global.json {
        print_json(&json!({
            "ok": true,
            "kid": kid_of(&key, args.kid.as_deref()),
            "jwks": serde_json::to_value(&jwks).unwrap_or(Value::Null),
        }));
    } else {
        outln!("{}", jwks.to_json_pretty());
    }
    Ok(())
}

/// `smart assertion`.
pub(crate) fn assertion(global: &Global, args: &AssertionArgs) -> Result<(), Failure> {
    let key = read_key(&args.key)?;
    let client_id = ClientId::parse(args.client_id.clone())
        .map_err(|error| Failure::usage(error_chain(&error)))?;
    let audience =
        TokenUrl::parse(args.aud.clone()).map_err(|error| Failure::usage(error_chain(&error)))?;
    let mut signer = AssertionSigner::from_key(
        &key,
        kid_of(&key, args.kid.as_deref()),
        parse_alg(args.alg.as_deref())?,
    )?;
    if let Some(jku) = &args.jku {
        let jku =
            JwksUrl::parse(jku.clone()).map_err(|error| Failure::usage(error_chain(&error)))?;
        signer = signer.with_jku(jku)?;
    }
    let assertion = signer.sign(&client_id, &audience)?;
    let (header, claims) = decode_unverified(assertion.expose_secret())?;
    if global.json {
        print_json(
            &json!({"ok": true, "assertion": assertion.expose_secret(), "header": header, "claims": claims}),
        );
    } else {
        outln!("{}\n", assertion.expose_secret());
        outln!(
            "header: {}",
            serde_json::to_string_pretty(&header).unwrap_or_default()
        );
        outln!(
            "claims: {}",
            serde_json::to_string_pretty(&claims).unwrap_or_default()
        );
    }
    Ok(())
}

impl From<smart_client::token::scope::ScopeError> for Failure {
    fn from(error: smart_client::token::scope::ScopeError) -> Self {
        Self::usage(error_chain(&error))
    }
}
