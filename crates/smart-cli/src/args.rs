//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The longest `--timeout` and `--wait`: a day. Longer values would be mistakes, and must not
/// overflow the clock.
pub(crate) const MAX_SECONDS: u64 = 86_400;

/// SMART on FHIR from the command line: discover servers, run launches, request tokens, make
/// keys and JWK Sets, and run an embedded SMART sandbox.
///
/// Secrets are read from environment variables or files, never from the command line.
/// Exit codes: 0 success, 1 server or protocol error, 2 usage or configuration error.
#[derive(Debug, Parser)]
#[command(
    name = "smart",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Log to stderr: -v info, -vv debug, -vvv trace (secrets are never logged).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    /// Time limit for each HTTP call, in seconds (1 to 86400).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        global = true,
        value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS)
    )]
    pub(crate) timeout: u64,
    /// Allow `http://` to localhost, 127.0.0.1 and `[::1]` (development only).
    #[arg(long, global = true)]
    pub(crate) allow_insecure_localhost: bool,
    /// An issuer registry file (JSON, or TOML when named *.toml; default: `$SMART_CONFIG`):
    /// the entry for --fhir-base supplies the client id, type, secret or key, kid and
    /// endpoints that no flag gives.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Fetch a server's SMART configuration: metadata, capabilities and compliance findings.
    Discover(DiscoverArgs),
    /// Build an authorization request (GET URL or POST form) with its state and verifier.
    AuthorizeUrl(AuthorizeUrlArgs),
    /// Run a whole standalone launch (or an EHR launch with --launch) through a loopback
    /// redirect listener.
    Launch(LaunchArgs),
    /// Token-endpoint calls: code exchange, refresh, Backend Services.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Ask the introspection endpoint about a token (RFC 7662).
    Introspect(IntrospectArgs),
    /// Revoke a token (RFC 7009).
    Revoke(RevokeArgs),
    /// Register a client (RFC 7591) with JSON metadata from a file.
    Register(RegisterArgs),
    /// Make a private key (PKCS#8 PEM) for client assertions.
    Keygen(KeygenArgs),
    /// Print the public JWK Set of a private key, to register with an EHR.
    Jwks(JwksArgs),
    /// Print a signed client assertion with its decoded header and claims (for debugging).
    Assertion(AssertionArgs),
    /// UDAP Security STU2: signed discovery and X.509 client registration.
    #[command(subcommand)]
    Udap(UdapCommand),
    /// Run the embedded SMART sandbox server until interrupted.
    Sandbox(SandboxArgs),
    /// Start the sandbox and run every flow against it, printing a transcript.
    Demo(DemoArgs),
}

/// Which SMART client type to act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ClientTypeArg {
    /// `client-public`: no authentication.
    Public,
    /// `client-confidential-symmetric`: a client secret.
    ConfidentialSymmetric,
    /// `client-confidential-asymmetric`: a private key.
    ConfidentialAsymmetric,
}

/// How a client secret is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SecretMethodArg {
    /// `client_secret_basic` with the raw `id:secret` (the default).
    Basic,
    /// `client_secret_basic` with RFC 6749 §2.3.1 form-encoding.
    BasicRfc6749,
    /// `client_secret_post`.
    Post,
}

/// The server and the client's identity and credentials.
#[derive(Debug, Clone, Args)]
pub(crate) struct ClientArgs {
    /// The FHIR server's base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) fhir_base: String,
    /// The client id registered with the server.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub(crate) client_id: Option<String>,
    /// The client type; by default confidential-asymmetric with --key, confidential-symmetric
    /// with a secret, public otherwise.
    #[arg(long, value_enum)]
    pub(crate) client_type: Option<ClientTypeArg>,
    /// Read the client secret from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "client_secret_file")]
    pub(crate) client_secret_env: Option<String>,
    /// Read the client secret from this file (the first line).
    #[arg(long, value_name = "FILE")]
    pub(crate) client_secret_file: Option<PathBuf>,
    /// How the client secret is sent.
    #[arg(long, value_enum, default_value_t = SecretMethodArg::Basic)]
    pub(crate) secret_method: SecretMethodArg,
    /// The private key (PEM or JWK) for client assertions.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Option<PathBuf>,
    /// The key id registered for the key (default: its RFC 7638 thumbprint).
    #[arg(long, value_name = "KID", allow_hyphen_values = true)]
    pub(crate) kid: Option<String>,
    /// The assertion algorithm (default: the one the key fits).
    #[arg(long, value_name = "ALG")]
    pub(crate) alg: Option<String>,
    /// The app's JWKS URL, sent as the assertion's jku header.
    #[arg(long, value_name = "URL")]
    pub(crate) jwks_uri: Option<String>,
    /// The token endpoint, to skip discovery.
    #[arg(long, value_name = "URL")]
    pub(crate) token_endpoint: Option<String>,
    /// The authorization endpoint, to skip discovery.
    #[arg(long, value_name = "URL")]
    pub(crate) authorization_endpoint: Option<String>,
    /// The aud of authorization requests, when it differs from --fhir-base.
    #[arg(long, value_name = "URL")]
    pub(crate) issuer: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    /// The FHIR server's base URL.
    pub(crate) fhir_base: String,
    /// Try the CapabilityStatement (/metadata) when .well-known/smart-configuration fails.
    #[arg(long)]
    pub(crate) fallback_metadata: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AuthorizeUrlArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// The redirect URI registered for the app.
    #[arg(long, value_name = "URI")]
    pub(crate) redirect_uri: String,
    /// The scopes to ask for, space-separated.
    #[arg(long, value_name = "SCOPES")]
    pub(crate) scope: String,
    /// An EHR launch: the launch value the EHR passed to the app.
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    pub(crate) launch: Option<String>,
    /// Build a POST authorization request (capability authorize-post).
    #[arg(long)]
    pub(crate) post: bool,
    /// An extra parameter such as nonce=abc or prompt=login (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub(crate) params: Vec<String>,
    /// Write the pending authorization (state, verifier, ...) to this file for `smart token
    /// exchange`. It holds secrets: the file is created readable by you only.
    #[arg(long, value_name = "FILE")]
    pub(crate) save_pending: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct LaunchArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// The scopes to ask for, space-separated [default: `launch/patient openid fhirUser
    /// patient/*.rs`, or `launch openid fhirUser patient/*.rs` with --launch].
    #[arg(long, value_name = "SCOPES")]
    pub(crate) scope: Option<String>,
    /// An EHR launch: the launch value the EHR passed to the app.
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    pub(crate) launch: Option<String>,
    /// An extra authorization parameter such as prompt=none or a vendor's (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub(crate) params: Vec<String>,
    /// The loopback port for the redirect listener (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// The redirect path on the listener.
    #[arg(long, default_value = "/callback")]
    pub(crate) redirect_path: String,
    /// Open the authorization URL in the default browser.
    #[arg(long)]
    pub(crate) open: bool,
    /// Use a POST authorization request (served as an auto-submitting page on the listener).
    #[arg(long)]
    pub(crate) post: bool,
    /// How long to wait for the browser to come back, in seconds (1 to 86400).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 300,
        value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS)
    )]
    pub(crate) wait: u64,
    /// Print the tokens themselves; by default they are redacted.
    #[arg(long)]
    pub(crate) show_tokens: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Exchange an authorization code, using a pending authorization saved by `authorize-url`.
    Exchange(ExchangeArgs),
    /// Refresh an access token.
    Refresh(RefreshArgs),
    /// SMART Backend Services: a `client_credentials` token with a signed assertion.
    Backend(BackendArgs),
}

/// Where a secret value comes from: an environment variable or a file.
#[derive(Debug, Clone, Args)]
pub(crate) struct TokenSource {
    /// Read the token from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "token_file")]
    pub(crate) token_env: Option<String>,
    /// Read the token from this file (the first line).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ExchangeArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// The pending authorization written by `authorize-url --save-pending`.
    #[arg(long, value_name = "FILE")]
    pub(crate) pending: PathBuf,
    /// Read the callback URL (with code and state) from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "callback_file")]
    pub(crate) callback_env: Option<String>,
    /// Read the callback URL from this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) callback_file: Option<PathBuf>,
    /// Print the tokens themselves; by default they are redacted.
    #[arg(long)]
    pub(crate) show_tokens: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RefreshArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    #[command(flatten)]
    pub(crate) refresh_token: TokenSource,
    /// Ask for a narrower scope than the original grant.
    #[arg(long, value_name = "SCOPES")]
    pub(crate) scope: Option<String>,
    /// Print the tokens themselves; by default they are redacted.
    #[arg(long)]
    pub(crate) show_tokens: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BackendArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// The scopes to ask for (default: system/*.rs).
    #[arg(long, value_name = "SCOPES")]
    pub(crate) scope: Option<String>,
    /// Print the token itself; by default it is redacted.
    #[arg(long)]
    pub(crate) show_tokens: bool,
}

#[derive(Debug, Args)]
pub(crate) struct IntrospectArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    #[command(flatten)]
    pub(crate) token: TokenSource,
    /// The token is a refresh token.
    #[arg(long)]
    pub(crate) refresh: bool,
    /// Authenticate with this Bearer token (from an environment variable) instead of the
    /// client's credentials.
    #[arg(long, value_name = "VAR")]
    pub(crate) bearer_env: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    #[command(flatten)]
    pub(crate) token: TokenSource,
    /// The token is a refresh token.
    #[arg(long)]
    pub(crate) refresh: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    /// The FHIR server's base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) fhir_base: String,
    /// The client metadata (RFC 7591 §2) as a JSON file.
    #[arg(long, value_name = "FILE")]
    pub(crate) metadata: PathBuf,
    /// Read an initial access token (RFC 7591 §3.1) from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub(crate) initial_access_token_env: Option<String>,
    /// The registration endpoint, to skip discovery.
    #[arg(long, value_name = "URL")]
    pub(crate) registration_endpoint: Option<String>,
    /// Print the issued client secret itself; by default it is redacted.
    #[arg(long)]
    pub(crate) show_tokens: bool,
}

/// The key algorithms `keygen` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyAlg {
    /// P-384 (ES384).
    #[value(name = "ES384")]
    Es384,
    /// RSA (RS384).
    #[value(name = "RS384")]
    Rs384,
}

#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The algorithm the key is for.
    #[arg(long, value_enum)]
    pub(crate) alg: KeyAlg,
    /// RSA key size: 2048, 3072 or 4096.
    #[arg(long, default_value_t = 2048)]
    pub(crate) bits: usize,
    /// Where to write the private key (PKCS#8 PEM, readable by you only).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    pub(crate) force: bool,
    /// The kid for the printed JWK Set (default: the RFC 7638 thumbprint).
    #[arg(long, value_name = "KID", allow_hyphen_values = true)]
    pub(crate) kid: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct JwksArgs {
    /// The private key (PEM or JWK).
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// The kid (default: the RFC 7638 thumbprint).
    #[arg(long, value_name = "KID", allow_hyphen_values = true)]
    pub(crate) kid: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct AssertionArgs {
    /// The private key (PEM or JWK).
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// The client id (iss and sub).
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub(crate) client_id: String,
    /// The token endpoint URL (aud), exactly as the server advertises it.
    #[arg(long, value_name = "TOKEN_URL")]
    pub(crate) aud: String,
    /// The kid (default: the RFC 7638 thumbprint).
    #[arg(long, value_name = "KID", allow_hyphen_values = true)]
    pub(crate) kid: Option<String>,
    /// The jku header (the app's JWKS URL, https).
    #[arg(long, value_name = "URL")]
    pub(crate) jku: Option<String>,
    /// RS384 or ES384 (default: the one the key fits).
    #[arg(long, value_name = "ALG")]
    pub(crate) alg: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// The port to listen on (127.0.0.1).
    #[arg(long, default_value_t = 8765)]
    pub(crate) port: u16,
    /// Registered clients from a JSON file, in addition to the built-in demo clients.
    #[arg(long, value_name = "FILE")]
    pub(crate) clients: Option<PathBuf>,
    /// Show an approve/deny page instead of approving at once.
    #[arg(long)]
    pub(crate) interactive: bool,
    /// Show a login page (demo users clinician and amy, password sandbox-password), then the
    /// approve/deny page: a real browser flow, for testing apps in a browser.
    #[arg(long)]
    pub(crate) login: bool,
    /// The lifetime of access tokens in seconds (default 3600); short ones exercise refresh.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) access_token_lifetime: Option<u64>,
    /// The lifetime of Backend Services access tokens in seconds (default 300).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) backend_token_lifetime: Option<u64>,
    /// Print an EHR launch (iss and launch) for this demo patient, such as sandbox-patient-1.
    #[arg(long, value_name = "PATIENT")]
    pub(crate) ehr_launch: Option<String>,
    /// With --ehr-launch: the app's launch URL, to print the whole URL an EHR would open.
    #[arg(long, value_name = "URL", requires = "ehr_launch")]
    pub(crate) app_launch_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Run the flows against this SMART server instead of the embedded sandbox.
    #[arg(long, value_name = "FHIR_BASE", requires = "clients")]
    pub(crate) server: Option<String>,
    /// With --server: the registered clients to use, as JSON (see the README).
    #[arg(long, value_name = "FILE")]
    pub(crate) clients: Option<PathBuf>,
    /// With --server: the server approves authorization requests without a user (like
    /// `smart sandbox`), so browser steps can be automated; otherwise they are skipped.
    #[arg(long)]
    pub(crate) auto_approve: bool,
    /// Print a pass/fail table instead of the transcript.
    #[arg(long)]
    pub(crate) table: bool,
}

/// UDAP Security STU2 (trust communities, signed metadata, X.509 client registration).
#[derive(Debug, Subcommand)]
pub(crate) enum UdapCommand {
    /// Fetch and verify a server's /.well-known/udap: signed metadata, profiles, conformance.
    Discover(UdapDiscoverArgs),
    /// Register (or modify, or cancel with --cancel) a client with a signed software statement.
    Register(UdapRegisterArgs),
}

/// Who is trusted, shared by both commands.
#[derive(Debug, Args)]
pub(crate) struct TrustArgs {
    /// The trust community URI (sent as ?community=).
    #[arg(long, value_name = "URI")]
    pub(crate) community: Option<String>,
    /// A trust anchor (the community's root certificate), PEM (repeatable).
    #[arg(long = "anchor", value_name = "FILE")]
    pub(crate) anchors: Vec<PathBuf>,
    /// A certificate revocation list, PEM or DER (repeatable). Required for chain validation.
    #[arg(long = "crl", value_name = "FILE")]
    pub(crate) crls: Vec<PathBuf>,
    /// Development only: skip the certificate chain and revocation checks (the signature and
    /// the claims of `signed_metadata` are still verified).
    #[arg(long)]
    pub(crate) dangerously_skip_chain: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UdapDiscoverArgs {
    /// The FHIR server's base URL.
    pub(crate) fhir_base: String,
    #[command(flatten)]
    pub(crate) trust: TrustArgs,
}

#[derive(Debug, Args)]
pub(crate) struct UdapRegisterArgs {
    /// The FHIR server's base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) fhir_base: String,
    #[command(flatten)]
    pub(crate) trust: TrustArgs,
    /// The client metadata (`client_name`, `contacts`, `scope`, `grant_types`, ...) as a JSON file.
    #[arg(long, value_name = "FILE")]
    pub(crate) metadata: PathBuf,
    /// The client URI: a URI SAN of the leaf certificate (iss and sub of the statement).
    #[arg(long, value_name = "URI")]
    pub(crate) client_uri: String,
    /// The client's certificate chain, PEM, leaf first.
    #[arg(long, value_name = "FILE")]
    pub(crate) cert_chain: PathBuf,
    /// The leaf certificate's private key, PEM (RSA or P-384).
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// The software statement algorithm (RS256, RS384 or ES384); by default the first the key
    /// and the server share.
    #[arg(long, value_name = "ALG")]
    pub(crate) alg: Option<String>,
    /// Cancel the registration of this client URI instead (`grant_types` is sent empty).
    #[arg(long)]
    pub(crate) cancel: bool,
}
