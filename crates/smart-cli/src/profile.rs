//! What a run of the flows is given (the server, its clients, what the server can do for the
//! harness) and what it gives back (a transcript and a report of outcomes).

use std::sync::Arc;
use std::time::Duration;

use smart_client::SecretMethod;
use smart_client::jwt::PrivateKey;
use smart_udap::{Crl, UdapCredentials, X509Certificate};

use crate::output::outln;

/// A user-facing client registered at the server.
pub(crate) struct AppClient {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) scope: String,
    pub(crate) secret: Option<String>,
    /// How the secret is sent: the method the client registered.
    pub(crate) secret_method: SecretMethod,
    pub(crate) key: Option<PrivateKey>,
    pub(crate) kid: Option<String>,
}

/// A backend service registered at the server.
pub(crate) struct BackendClient {
    pub(crate) client_id: String,
    pub(crate) key: PrivateKey,
    pub(crate) kid: Option<String>,
    pub(crate) scope: Option<String>,
}

/// The server and what the flows may use.
pub(crate) struct Profile<'a> {
    pub(crate) fhir_base: String,
    pub(crate) allow_insecure_localhost: bool,
    pub(crate) timeout: Duration,
    pub(crate) public: Option<AppClient>,
    pub(crate) symmetric: Option<AppClient>,
    pub(crate) asymmetric: Option<AppClient>,
    /// A confidential-asymmetric client whose JWK Set the server reads from a `jwks_uri`.
    pub(crate) asymmetric_jwks_uri: Option<AppClient>,
    pub(crate) backend: Option<BackendClient>,
    /// Makes an EHR launch value (the sandbox can; a real EHR launches the app itself).
    pub(crate) ehr_launch: Option<Box<dyn Fn() -> String + 'a>>,
    /// Moves the server's clock forward (the sandbox can), for the expired-code check.
    pub(crate) advance_clock: Option<Box<dyn Fn(Duration) + 'a>>,
    /// The server approves at once, so a program can play the browser.
    pub(crate) auto_approve: bool,
    /// Registration metadata for a new public client, when the flow should run.
    pub(crate) registration: Option<serde_json::Map<String, serde_json::Value>>,
    /// UDAP trust anchors and client certificate, when the UDAP flows should run.
    pub(crate) udap: Option<UdapProfile>,
}

/// The name of the first step, which needs no client.
pub(crate) const DISCOVERY_STEP: &str = "discovery and compliance";

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// The results of a run.
pub(crate) struct Report {
    pub(crate) steps: Vec<(String, Outcome)>,
}

impl Report {
    pub(crate) fn passed(&self) -> usize {
        self.steps
            .iter()
            .filter(|(_, o)| *o == Outcome::Passed)
            .count()
    }

    pub(crate) fn skipped(&self) -> usize {
        self.steps
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Skipped(_)))
            .count()
    }

    pub(crate) fn failed(&self) -> usize {
        self.steps
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
            .count()
    }
}

/// Where the transcript goes: lines as they happen, or nowhere (table mode).
pub(crate) struct Transcript {
    pub(crate) verbose: bool,
}

impl Transcript {
    pub(crate) fn line(&self, text: impl AsRef<str>) {
        if self.verbose {
            outln!("   {}", text.as_ref());
        }
    }
}

pub(crate) type StepResult = Result<(), String>;

/// What the UDAP flows need: whom to trust, and the client's certificate and key.
pub(crate) struct UdapProfile {
    pub(crate) anchors: Vec<X509Certificate>,
    pub(crate) crls: Vec<Crl>,
    pub(crate) credentials: Arc<UdapCredentials>,
    pub(crate) client_uri: String,
}
