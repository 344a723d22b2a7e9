//! What the subcommands share: failures and exit codes, secrets from the environment or files,
//! building a client from the command line, and output.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use smart_client::jwt::{Algorithm, PrivateKey};
use smart_client::token::{ClientSecret, OAuthError, TokenError, TokenResponse};
use smart_client::{
    ClientConfig, ClientConfigBuilder, ClientError, ClientType, HttpOptions, SecretMethod,
    SmartClient,
};

use crate::args::{ClientArgs, ClientTypeArg, Global, SecretMethodArg, TokenSource};

/// How a command failed: the exit code and what to print.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments or configuration: exit code 2.
    Usage(String),
    /// The server said no, or answered in a way that cannot be used: exit code 1.
    Server {
        /// The one-line message.
        message: String,
        /// The OAuth error fields, when there are some.
        oauth: Option<OAuthFields>,
    },
}

/// The fields of an OAuth error answer, printed below the message.
#[derive(Debug)]
pub(crate) struct OAuthFields {
    status: Option<u16>,
    error: String,
    description: Option<String>,
    uri: Option<String>,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    pub(crate) fn server(message: impl Into<String>) -> Self {
        Self::Server {
            message: message.into(),
            oauth: None,
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Server { .. } => 1,
        }
    }

    /// Prints the failure on stderr (or as JSON on stdout with `--json`).
    pub(crate) fn report(&self, json: bool) {
        let (kind, message, oauth) = match self {
            Self::Usage(message) => ("usage", message, None),
            Self::Server { message, oauth } => ("server", message, oauth.as_ref()),
        };
        if json {
            let mut object = json!({"ok": false, "kind": kind, "error": message});
            if let Some(fields) = oauth {
                object["oauth"] = json!({
                    "status": fields.status,
                    "error": fields.error,
                    "error_description": fields.description,
                    "error_uri": fields.uri,
                });
            }
            println!("{object}");
            return;
        }
        eprintln!("error: {message}");
        if let Some(fields) = oauth {
            if let Some(status) = fields.status {
                eprintln!("  status: {status}");
            }
            eprintln!("  error: {}", fields.error);
            if let Some(description) = &fields.description {
                eprintln!("  error_description: {description}");
            }
            if let Some(uri) = &fields.uri {
                eprintln!("  error_uri: {uri}");
            }
        }
    }
}

fn oauth_fields(error: &OAuthError) -> Option<OAuthFields> {
    error.error().map(|code| OAuthFields {
        status: Some(error.status()),
        error: code.to_string(),
        description: error.error_description().map(str::to_owned),
        uri: error.error_uri().map(str::to_owned),
    })
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        let message = error.to_string();
        match &error {
            ClientError::Config(_) => Self::Usage(message),
            ClientError::Token(TokenError::OAuth(oauth)) | ClientError::Registration(oauth) => {
                Self::Server {
                    oauth: oauth_fields(oauth),
                    message,
                }
            }
            ClientError::Authorization {
                error,
                description,
                uri,
            } => Self::Server {
                oauth: Some(OAuthFields {
                    status: None,
                    error: error.to_string(),
                    description: description.clone(),
                    uri: uri.clone(),
                }),
                message,
            },
            _ => Self::server(message),
        }
    }
}

impl From<smart_client::ConfigError> for Failure {
    fn from(error: smart_client::ConfigError) -> Self {
        Self::Usage(error.to_string())
    }
}

impl From<smart_client::jwt::Error> for Failure {
    fn from(error: smart_client::jwt::Error) -> Self {
        Self::Usage(error.to_string())
    }
}

/// A secret from an environment variable or a file (its first line, trimmed).
pub(crate) fn read_secret(
    env: Option<&str>,
    file: Option<&Path>,
    what: &str,
) -> Result<Option<String>, Failure> {
    if let Some(name) = env {
        let value = std::env::var(name).map_err(|_| {
            Failure::usage(format!(
                "the environment variable {name} (for the {what}) is not set"
            ))
        })?;
        if value.trim().is_empty() {
            return Err(Failure::usage(format!(
                "the environment variable {name} (for the {what}) is empty"
            )));
        }
        return Ok(Some(value.trim().to_owned()));
    }
    if let Some(path) = file {
        let text = fs::read_to_string(path).map_err(|error| {
            Failure::usage(format!(
                "cannot read the {what} from {}: {error}",
                path.display()
            ))
        })?;
        let line = text.lines().next().unwrap_or_default().trim().to_owned();
        if line.is_empty() {
            return Err(Failure::usage(format!(
                "the file {} (for the {what}) is empty",
                path.display()
            )));
        }
        return Ok(Some(line));
    }
    Ok(None)
}

/// A required secret from a `--token-env` / `--token-file` pair.
pub(crate) fn required_token(source: &TokenSource, what: &str) -> Result<String, Failure> {
    read_secret(
        source.token_env.as_deref(),
        source.token_file.as_deref(),
        what,
    )?
    .ok_or_else(|| {
        Failure::usage(format!(
            "give the {what} with --token-env VAR or --token-file FILE"
        ))
    })
}

/// A private key from a PEM or JWK file.
pub(crate) fn read_key(path: &Path) -> Result<PrivateKey, Failure> {
    let text = fs::read_to_string(path).map_err(|error| {
        Failure::usage(format!("cannot read the key {}: {error}", path.display()))
    })?;
    PrivateKey::parse(&text).map_err(|error| {
        Failure::usage(format!(
            "the key {} cannot be used: {error}",
            path.display()
        ))
    })
}

pub(crate) fn parse_alg(alg: Option<&str>) -> Result<Option<Algorithm>, Failure> {
    alg.map(|name| {
        name.parse::<Algorithm>()
            .map_err(|_| Failure::usage(format!("unknown algorithm `{name}`; use RS384 or ES384")))
    })
    .transpose()
}

/// HTTP options from the global flags.
pub(crate) fn http_options(global: &Global) -> HttpOptions {
    HttpOptions::new().timeout(Duration::from_secs(global.timeout.max(1)))
}

/// A configuration builder from the client flags (without redirect URI and scopes).
pub(crate) fn config_builder(
    global: &Global,
    args: &ClientArgs,
) -> Result<(ClientConfigBuilder, ClientType), Failure> {
    let mut builder = ClientConfig::builder(args.fhir_base.clone())
        .allow_insecure_localhost(global.allow_insecure_localhost)
        .http_options(http_options(global))
        .secret_method(match args.secret_method {
            SecretMethodArg::Basic => SecretMethod::Basic,
            SecretMethodArg::BasicRfc6749 => SecretMethod::BasicRfc6749,
            SecretMethodArg::Post => SecretMethod::Post,
        });
    if let Some(id) = &args.client_id {
        builder = builder.client_id(id.clone());
    }
    if let Some(issuer) = &args.issuer {
        builder = builder.issuer(issuer.clone());
    }
    if let Some(url) = &args.token_endpoint {
        builder = builder.token_endpoint(url.clone());
    }
    if let Some(url) = &args.authorization_endpoint {
        builder = builder.authorization_endpoint(url.clone());
    }
    let secret = read_secret(
        args.client_secret_env.as_deref(),
        args.client_secret_file.as_deref(),
        "client secret",
    )?;
    let has_secret = secret.is_some();
    if let Some(secret) = secret {
        builder = builder.client_secret(ClientSecret::new(secret));
    }
    let has_key = args.key.is_some();
    if let Some(path) = &args.key {
        builder = builder.private_key(read_key(path)?);
    }
    if let Some(kid) = &args.kid {
        builder = builder.kid(kid.clone());
    }
    if let Some(alg) = parse_alg(args.alg.as_deref())? {
        builder = builder.jwt_algorithm(alg);
    }
    if let Some(url) = &args.jwks_uri {
        builder = builder.jwks_uri(url.clone());
    }
    let client_type = match args.client_type {
        Some(ClientTypeArg::ConfidentialSymmetric) => ClientType::ConfidentialSymmetric,
        Some(ClientTypeArg::ConfidentialAsymmetric) => ClientType::ConfidentialAsymmetric,
        None if has_key => ClientType::ConfidentialAsymmetric,
        None if has_secret => ClientType::ConfidentialSymmetric,
        Some(ClientTypeArg::Public) | None => ClientType::Public,
    };
    Ok((builder, client_type))
}

/// A client over the default transport.
pub(crate) fn client(
    builder: ClientConfigBuilder,
    client_type: ClientType,
) -> Result<SmartClient, Failure> {
    Ok(SmartClient::new(builder.build()?, client_type)?)
}

/// A secret as shown: the value with `--show-tokens`, `[redacted]` otherwise.
pub(crate) fn shown(secret: &str, show: bool) -> String {
    if show {
        secret.to_owned()
    } else {
        "[redacted]".to_owned()
    }
}

/// A token response as JSON, secrets shown only when asked.
pub(crate) fn token_json(token: &TokenResponse, show: bool) -> Value {
    json!({
        "access_token": shown(token.access_token().expose_secret(), show),
        "token_type": token.token_type(),
        "expires_in": token.expires_in(),
        "scope": token.scope().map(ToString::to_string),
        "refresh_token": token.refresh_token().map(|t| shown(t.expose_secret(), show)),
        "id_token": token.id_token().map(|t| shown(t.expose_secret(), show)),
        "launch_context": token.context(),
        "authorization_details": token.authorization_details(),
        "extra_fields": token.extra().keys().collect::<Vec<_>>(),
        "deviations": token.deviations().iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// Prints a token response as text.
pub(crate) fn print_token(token: &TokenResponse, show: bool) {
    println!(
        "access_token:  {}",
        shown(token.access_token().expose_secret(), show)
    );
    println!(
        "token_type:    {}",
        token.token_type().unwrap_or("(missing)")
    );
    match token.expires_in() {
        Some(seconds) => println!("expires_in:    {seconds} s"),
        None => println!("expires_in:    (not given)"),
    }
    println!(
        "scope:         {}",
        token
            .scope()
            .map_or_else(|| "(not given)".to_owned(), ToString::to_string)
    );
    if let Some(refresh) = token.refresh_token() {
        println!("refresh_token: {}", shown(refresh.expose_secret(), show));
    }
    if let Some(id_token) = token.id_token() {
        println!("id_token:      {}", shown(id_token.expose_secret(), show));
    }
    let context = token.context();
    if !context.is_empty() {
        println!("launch context:");
        if let Some(patient) = context.patient() {
            println!("  patient:             {patient}");
        }
        if let Some(encounter) = context.encounter() {
            println!("  encounter:           {encounter}");
        }
        for item in context.fhir_context() {
            let what = item
                .reference()
                .or(item.canonical())
                .unwrap_or("(identifier)");
            println!("  fhirContext:         {what} (role {})", item.role());
        }
        if let Some(banner) = context.need_patient_banner() {
            println!("  need_patient_banner: {banner}");
        }
        if let Some(style) = context.smart_style_url() {
            println!("  smart_style_url:     {style}");
        }
        if let Some(intent) = context.intent() {
            println!("  intent:              {intent}");
        }
        if let Some(tenant) = context.tenant() {
            println!("  tenant:              {tenant}");
        }
    }
    for deviation in token.deviations() {
        println!("note: {deviation}");
    }
}

/// Writes `contents` to a new file readable by the owner only.
pub(crate) fn write_private_file(
    path: &Path,
    contents: &str,
    overwrite: bool,
) -> Result<(), Failure> {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::usage(format!(
                "{} exists; pass --force to replace it",
                path.display()
            ))
        } else {
            Failure::usage(format!("cannot write {}: {error}", path.display()))
        }
    })?;
    file.write_all(contents.as_bytes())
        .map_err(|error| Failure::usage(format!("cannot write {}: {error}", path.display())))
}

/// Prints a JSON value on stdout.
pub(crate) fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}
