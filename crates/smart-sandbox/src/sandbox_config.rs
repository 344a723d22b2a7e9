//! The sandbox's options: [`SandboxConfig`], and the clients file it reads.

use core::fmt;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use smart_core::{Clock, Secret, SystemClock};

use crate::config::RegisteredClient;
use crate::error::SandboxError;

/// At most this many authorization requests wait on the login or consent page, and at most
/// this many launches minted over HTTP are kept: what a flood of requests can make the
/// sandbox hold (by default; `SandboxConfig::max_pending_requests`).
pub(crate) const MAX_PENDING: usize = 10_000;

/// How to run a [`Sandbox`](crate::Sandbox). Builder style; every option has a default.
///
/// ```
/// use smart_sandbox::{SandboxConfig, RegisteredClient};
///
/// let config = SandboxConfig::new()
///     .port(0) // any free port (the default)
///     .interactive(false) // approve at once (the default)
///     .client(RegisteredClient::public("my-app", vec!["http://127.0.0.1/cb".into()]))
///     .require_initial_access_token(Some("registration-token".into()));
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct SandboxConfig {
    pub(crate) port: u16,
    pub(crate) interactive: bool,
    /// The login page before the consent page (`login_and_consent`).
    pub(crate) login: bool,
    /// The most requests waiting on the login or consent page, and launches minted over HTTP.
    pub(crate) max_pending: usize,
    pub(crate) demo_clients: bool,
    pub(crate) clients: Vec<RegisteredClient>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) initial_access_token: Option<Secret<String>>,
    pub(crate) udap: Option<crate::udap_state::UdapMode>,

    pub(crate) tokens: crate::token_policy::TokenPolicy,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            port: 0,
            interactive: false,
            login: false,
            max_pending: MAX_PENDING,
            demo_clients: true,
            clients: Vec::new(),
            clock: Arc::new(SystemClock),
            initial_access_token: None,
            udap: None,

            tokens: crate::token_policy::TokenPolicy::default(),
        }
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            port,
            interactive,
            login,
            max_pending,
            demo_clients,
            clients,
            clock: _,
            initial_access_token,
            udap,

            tokens,
        } = self;
        f.debug_struct("SandboxConfig")
            .field("port", port)
            .field("interactive", interactive)
            .field("login", login)
            .field("max_pending", max_pending)
            .field("demo_clients", demo_clients)
            .field("clients", clients)
            .field("initial_access_token", initial_access_token)
            .field("udap", udap)
            .field("tokens", tokens)
            .finish_non_exhaustive()
    }
}

impl SandboxConfig {
    /// The defaults: any free port, auto-approve, the demo clients, the system clock, open
    /// registration.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns on the UDAP mode: `/.well-known/udap` with signed metadata, `/udap/register` and
    /// `/udap/token` (see [`UdapMode`](crate::UdapMode)).
    #[must_use]
    pub fn udap(mut self, mode: crate::udap_state::UdapMode) -> Self {
        self.udap = Some(mode);
        self
    }

    /// Listens on `127.0.0.1:port`; 0 (the default) picks a free port.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `true`: `/authorize` shows an HTML page with Approve and Deny buttons (and a patient
    /// picker for standalone launches). `false` (the default): every valid request is
    /// approved at once.
    #[must_use]
    pub fn interactive(mut self, interactive: bool) -> Self {
        self.interactive = interactive;
        self
    }

    /// The most authorization requests that may wait on the login or consent page at once,
    /// the most EHR launches minted over HTTP (`/launcher`) and the most codes not yet
    /// exchanged kept at once (default 10 000 each): past it they are refused with
    /// `temporarily_unavailable` (`503`, or a redirect to the app for codes) until some finish
    /// or expire, so a flood of requests cannot grow the sandbox's memory without bound.
    /// Exchanged codes, kept to spot replays, are forgotten first.
    #[must_use]
    pub fn max_pending_requests(mut self, max: usize) -> Self {
        self.max_pending = max;
        self
    }

    /// Registers these clients, beside the ones already configured.
    #[must_use]
    pub fn clients(mut self, clients: Vec<RegisteredClient>) -> Self {
        self.clients.extend(clients);
        self
    }

    /// Registers one more client.
    #[must_use]
    pub fn client(mut self, client: RegisteredClient) -> Self {
        self.clients.push(client);
        self
    }

    /// Leaves out the built-in [`demo`](crate::demo) clients.
    #[must_use]
    pub fn without_demo_clients(mut self) -> Self {
        self.demo_clients = false;
        self
    }

    /// Registers the clients of a JSON file: `{"clients": [ ... ]}`, each entry a
    /// `client_id` with RFC 7591 metadata (see the crate docs). This is the file of
    /// `smart sandbox --clients`, not the conformance client profile of
    /// `cargo xtask conformance --clients`, which describes clients registered elsewhere.
    ///
    /// # Errors
    ///
    /// [`SandboxError::ReadClients`] when the file cannot be read,
    /// [`SandboxError::ClientsFile`] when it is not of that shape,
    /// [`SandboxError::InvalidClient`] when an entry is refused.
    ///
    /// The file must be a regular file (not a directory, a device or a FIFO) of at most
    /// [`MAX_CLIENTS_FILE`] bytes; it is never read past that.
    pub fn clients_from_file(self, path: impl AsRef<Path>) -> Result<Self, SandboxError> {
        let path = path.as_ref();
        let text =
            read_bounded(path, MAX_CLIENTS_FILE).map_err(|source| SandboxError::ReadClients {
                path: path.to_owned(),
                source,
            })?;
        self.clients_from_bytes(&text, path)
    }

    /// As [`clients_from_file`](Self::clients_from_file), from the file's contents.
    ///
    /// # Errors
    ///
    /// As [`clients_from_file`](Self::clients_from_file), without the read error.
    pub fn clients_from_json(self, json: &str) -> Result<Self, SandboxError> {
        self.clients_from_bytes(json.as_bytes(), Path::new(""))
    }

    fn clients_from_bytes(mut self, bytes: &[u8], path: &Path) -> Result<Self, SandboxError> {
        let file_error = |problem, source| SandboxError::ClientsFile {
            path: path.to_owned(),
            problem,
            source,
        };
        let object = smart_core::json::parse_object(bytes)
            .map_err(|error| file_error("it is not a JSON object", Some(error)))?;
        let Some(Value::Array(entries)) = object.get("clients") else {
            let profile = [
                "public",
                "confidential_symmetric",
                "confidential_asymmetric",
                "backend",
            ]
            .iter()
            .any(|member| object.contains_key(*member));
            return Err(file_error(
                if profile {
                    "it looks like a conformance client profile (for `xtask conformance --clients` and `smart demo --clients`); the sandbox's clients file is {\"clients\": [{\"client_id\": ..., RFC 7591 metadata}]}, see the smart-sandbox README"
                } else {
                    "it needs a `clients` array: {\"clients\": [{\"client_id\": ...}]}"
                },
                None,
            ));
        };
        for entry in entries {
            let Value::Object(entry) = entry else {
                return Err(file_error(
                    "every entry of `clients` must be an object",
                    None,
                ));
            };
            self.clients.push(RegisteredClient::from_file_entry(entry)?);
        }
        Ok(self)
    }

    /// The clock that dates codes, tokens and assertions (tests fix it);
    /// [`Sandbox::advance_clock`](crate::Sandbox::advance_clock) moves it on.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// `Some(token)`: `POST /register` needs `Authorization: Bearer <token>` (an RFC 7591
    /// initial access token). `None` (the default): registration is open.
    #[must_use]
    pub fn require_initial_access_token(mut self, token: Option<String>) -> Self {
        self.initial_access_token = token.map(Secret::new);
        self
    }
}

/// The largest clients file [`SandboxConfig::clients_from_file`] reads: 8 MiB.
pub const MAX_CLIENTS_FILE: u64 = 8 * 1024 * 1024;

/// The bytes of a regular file of at most `limit` bytes. A directory, a device (`/dev/zero`)
/// or a FIFO is refused before it is opened (opening a FIFO would wait for a writer).
fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let not_regular = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is not a regular file (a directory, a device or a FIFO); give the path of a file",
        )
    };
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} MiB, the limit for a clients file; check the path",
                limit / (1024 * 1024)
            ),
        ));
    }
    Ok(bytes)
}

impl SandboxConfig {
    /// `true`: `/authorize` shows a login page (a form with username and password: one of
    /// the demo users, [`demo::PRACTITIONER_USERNAME`](crate::demo::PRACTITIONER_USERNAME) or [`demo::PATIENT_USERNAME`](crate::demo::PATIENT_USERNAME) with
    /// [`demo::USER_PASSWORD`](crate::demo::USER_PASSWORD)), then the consent page with Approve and Deny, as a real
    /// authorization server does: for tests that drive a browser. The user who signs in is
    /// the `fhirUser` of a standalone launch (an EHR launch keeps the user of its context,
    /// when it names one). Deny sends the app `error=access_denied` with a description.
    /// Implies [`interactive`](Self::interactive); `false` (the default) leaves it as it is.
    #[must_use]
    pub fn login_and_consent(mut self, on: bool) -> Self {
        self.login = on;
        if on {
            self.interactive = true;
        }
        self
    }
}

impl SandboxConfig {
    /// The lifetime (`expires_in`) of the access tokens of user-facing clients, in seconds
    /// (default 3600; at least 1). Short lifetimes let tests cross many expiries quickly.
    #[must_use]
    pub fn access_token_lifetime(mut self, seconds: u64) -> Self {
        self.tokens.access_lifetime = seconds.max(1);
        self
    }

    /// The lifetime (`expires_in`) of backend services' access tokens, in seconds (default
    /// 300; at least 1).
    #[must_use]
    pub fn backend_token_lifetime(mut self, seconds: u64) -> Self {
        self.tokens.backend_lifetime = seconds.max(1);
        self
    }

    /// `true` (the default): each refresh returns a new refresh token and retires the one
    /// presented; presenting a retired one is `invalid_grant` and revokes the grant. `false`:
    /// a refresh returns no refresh token, and the one presented stays valid (servers that do
    /// not rotate, such as Cerner's).
    #[must_use]
    pub fn rotate_refresh_tokens(mut self, rotate: bool) -> Self {
        self.tokens.rotate_refresh_tokens = rotate;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_files_are_read_bounded_and_only_when_regular() {
        let message = |path: &Path| match SandboxConfig::new().clients_from_file(path) {
            Ok(_) => panic!("{} was read", path.display()),
            Err(error) => {
                let mut text = error.to_string();
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    if !text.contains(&cause.to_string()) {
                        text.push_str(": ");
                        text.push_str(&cause.to_string());
                    }
                    source = cause.source();
                }
                text
            }
        };
        #[cfg(unix)]
        {
            let started = std::time::Instant::now();
            assert_eq!(
                message(Path::new("/dev/zero")),
                "cannot read the clients file /dev/zero: it is not a regular file (a directory, a device or a FIFO); give the path of a file"
            );
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
        let dir = std::env::temp_dir().join(format!("sandbox-clients-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(message(&dir).ends_with(
            "it is not a regular file (a directory, a device or a FIFO); give the path of a file"
        ));
        let big = dir.join("big.json");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_CLIENTS_FILE + 1).unwrap();
        assert_eq!(
            message(&big),
            format!(
                "cannot read the clients file {}: it is larger than 8 MiB, the limit for a clients file; check the path",
                big.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
