//! What the subcommands share: failures and exit codes, secrets from the environment or files,
//! building a client from the command line, and output.

use crate::output::outln;
use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use smart_client::core::{OsRandom, RandomSource, display_url};
use smart_client::jwt::{Algorithm, PrivateKey};
use smart_client::token::{ClientSecret, TokenResponse};
use smart_client::{
    ClientConfig, ClientConfigBuilder, ClientType, HttpOptions, SecretMethod, SmartClient,
};

use smart_client::registry::{EhrSettings, IssuerRegistry, RegistryError, SecretRef};

use crate::args::{ClientArgs, ClientTypeArg, Global, SecretMethodArg, TokenSource};
pub(crate) use crate::failure::{Failure, error_chain};
use crate::local::{SMALL_FILE, read_text};
use crate::messages;
pub(crate) use crate::output::{esc, json_text};

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
        messages::remember_secret(value.trim());
        return Ok(Some(value.trim().to_owned()));
    }
    if let Some(path) = file {
        let text = read_text(path, what, SMALL_FILE)?;
        let line = text.lines().next().unwrap_or_default().trim().to_owned();
        if line.is_empty() {
            return Err(Failure::usage(format!(
                "the file {} (for the {what}) is empty",
                path.display()
            )));
        }
        messages::remember_secret(&line);
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

/// The text of a key file, wiped when dropped.
struct Zeroizing(String);

impl Drop for Zeroizing {
    fn drop(&mut self) {
        // A Secret zeroizes its String on drop.
        drop(smart_client::core::Secret::new(std::mem::take(&mut self.0)));
    }
}

/// A private key from a PEM or JWK file.
pub(crate) fn read_key(path: &Path) -> Result<PrivateKey, Failure> {
    let text = Zeroizing(read_text(path, "key", SMALL_FILE)?);
    PrivateKey::parse(&text.0).map_err(|error| {
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
    messages::set_timeout(global.timeout);
    HttpOptions::new().timeout(Duration::from_secs(global.timeout))
}

/// A configuration builder from the client flags (without redirect URI and scopes).
pub(crate) fn config_builder(
    global: &Global,
    args: &ClientArgs,
) -> Result<(ClientConfigBuilder, ClientType), Failure> {
    let entry = registry_entry(global, &args.fhir_base)?;
    let args = &with_registry(args, entry.as_ref())?;
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
    messages::set_raw_basic(has_secret && args.secret_method == SecretMethodArg::Basic);
    if let (Some(id), Some(secret)) = (&args.client_id, &secret) {
        messages::remember_basic(id, secret);
    }
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

/// The issuer registry entry for `fhir_base`, from `--config FILE` or `$SMART_CONFIG`.
fn registry_entry(global: &Global, fhir_base: &str) -> Result<Option<EhrSettings>, Failure> {
    let Some(path) = global
        .config
        .clone()
        .or_else(|| std::env::var_os("SMART_CONFIG").map(PathBuf::from))
    else {
        return Ok(None);
    };
    let failed = |error: RegistryError| {
        Failure::usage(format!(
            "--config {}: {}",
            path.display(),
            error_chain(&error)
        ))
    };
    let registry = IssuerRegistry::load(&path).map_err(failed)?;
    let entry = registry.settings(fhir_base).map_err(failed)?.clone();
    Ok(Some(entry))
}

/// The client flags, with what the registry entry says filled in where no flag was given
/// (flags win). The entry's secret and key references become the matching flags, so they are
/// read, capped and redacted exactly as flags are.
fn with_registry(args: &ClientArgs, entry: Option<&EhrSettings>) -> Result<ClientArgs, Failure> {
    let mut args = args.clone();
    let Some(entry) = entry else {
        return Ok(args);
    };
    args.client_id
        .get_or_insert_with(|| entry.client_id().to_owned());
    if args.client_type.is_none() {
        args.client_type = Some(match entry.client_type() {
            ClientType::ConfidentialSymmetric => ClientTypeArg::ConfidentialSymmetric,
            ClientType::ConfidentialAsymmetric => ClientTypeArg::ConfidentialAsymmetric,
            _ => ClientTypeArg::Public,
        });
    }
    let no_secret_flag = args.client_secret_env.is_none() && args.client_secret_file.is_none();
    match entry.client_secret_ref() {
        Some(SecretRef::Env(name)) if no_secret_flag => args.client_secret_env = Some(name.clone()),
        Some(SecretRef::File(path)) if no_secret_flag => {
            args.client_secret_file = Some(path.clone());
        }
        _ => {}
    }
    if no_secret_flag && args.secret_method == SecretMethodArg::Basic {
        args.secret_method = match entry.method() {
            SecretMethod::BasicRfc6749 => SecretMethodArg::BasicRfc6749,
            SecretMethod::Post => SecretMethodArg::Post,
            _ => SecretMethodArg::Basic,
        };
    }
    match entry.private_key_ref() {
        Some(SecretRef::File(path)) if args.key.is_none() => args.key = Some(path.clone()),
        Some(SecretRef::Env(name)) if args.key.is_none() => {
            return Err(Failure::usage(format!(
                "--config: the EHR \"{}\" takes its private key from the environment variable {name}; the smart command reads keys from files: give --key FILE",
                esc(entry.name())
            )));
        }
        _ => {}
    }
    if args.kid.is_none() {
        args.kid = entry.key_id().map(str::to_owned);
    }
    if args.token_endpoint.is_none() {
        args.token_endpoint = entry.configured_token_endpoint().map(str::to_owned);
    }
    if args.authorization_endpoint.is_none() {
        args.authorization_endpoint = entry.configured_authorization_endpoint().map(str::to_owned);
    }
    Ok(args)
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
    outln!(
        "access_token:  {}",
        shown(token.access_token().expose_secret(), show)
    );
    outln!(
        "token_type:    {}",
        esc(token.token_type().unwrap_or("(missing)"))
    );
    match token.expires_in() {
        Some(seconds) => outln!("expires_in:    {seconds} s"),
        None => outln!("expires_in:    (not given)"),
    }
    outln!(
        "scope:         {}",
        token.scope().map_or_else(
            || "(not given)".to_owned(),
            |scope| esc(&scope.to_string()).into_owned()
        )
    );
    if let Some(refresh) = token.refresh_token() {
        outln!("refresh_token: {}", shown(refresh.expose_secret(), show));
    }
    if let Some(id_token) = token.id_token() {
        outln!("id_token:      {}", shown(id_token.expose_secret(), show));
    }
    let context = token.context();
    if !context.is_empty() {
        outln!("launch context:");
        if let Some(patient) = context.patient() {
            outln!("  patient:             {}", esc(patient));
        }
        if let Some(encounter) = context.encounter() {
            outln!("  encounter:           {}", esc(encounter));
        }
        for item in context.fhir_context() {
            let what = item
                .reference()
                .or(item.canonical())
                .unwrap_or("(identifier)");
            outln!(
                "  fhirContext:         {} (role {})",
                esc(what),
                esc(item.role())
            );
        }
        if let Some(banner) = context.need_patient_banner() {
            outln!("  need_patient_banner: {banner}");
        }
        if let Some(style) = context.smart_style_url() {
            outln!("  smart_style_url:     {}", display_url(style));
        }
        if let Some(intent) = context.intent() {
            outln!("  intent:              {}", esc(intent));
        }
        if let Some(tenant) = context.tenant() {
            outln!("  tenant:              {}", esc(tenant));
        }
    }
    for deviation in token.deviations() {
        outln!("note: {}", esc(&deviation.to_string()));
    }
}

/// Writes `contents` to a file readable by the owner only (mode 0600 on Unix).
///
/// Without `overwrite` the file must not exist. With it, the contents go to a new 0600 file
/// beside `path` that is then renamed over it: an existing file's looser mode (0644) is never
/// kept, and the secret is never written into a file others could already read.
pub(crate) fn write_private_file(
    path: &Path,
    contents: &str,
    overwrite: bool,
) -> Result<(), Failure> {
    let cannot =
        |error: std::io::Error| Failure::usage(format!("cannot write {}: {error}", path.display()));
    if !overwrite {
        let file = create_private(path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                Failure::usage(format!(
                    "{} exists; pass --force to replace it",
                    path.display()
                ))
            } else {
                cannot(error)
            }
        })?;
        return write_all(file, contents).map_err(|error| {
            // The file is this process's own: a half-written key must not stay behind.
            let _ = fs::remove_file(path);
            cannot(error)
        });
    }
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("{} is not a file name", path.display())))?;
    // A fresh random name each try: a file left by an earlier run (or planted there) is never
    // opened, and only a file this process created is ever removed.
    let mut attempts = 0;
    let (temporary, file) = loop {
        let mut suffix = [0_u8; 8];
        OsRandom
            .fill(&mut suffix)
            .map_err(|error| Failure::usage(format!("cannot write {}: {error}", path.display())))?;
        let suffix = suffix.iter().fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
        let mut temporary_name = std::ffi::OsString::from(".");
        temporary_name.push(name);
        temporary_name.push(format!(".{suffix}.tmp"));
        let temporary = path.with_file_name(temporary_name);
        match create_private(&temporary) {
            Ok(file) => break (temporary, file),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists && attempts < 3 => {
                attempts += 1;
            }
            Err(error) => return Err(cannot(error)),
        }
    };
    let written = write_all(file, contents).and_then(|()| fs::rename(&temporary, path));
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(cannot(error));
    }
    Ok(())
}

/// Creates a new file (never an existing one) readable by the owner only.
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn write_all(mut file: fs::File, contents: &str) -> std::io::Result<()> {
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Prints a JSON value on stdout.
pub(crate) fn print_json(value: &Value) {
    outln!("{}", json_text(value, true));
}
