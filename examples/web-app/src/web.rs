//! The web plumbing around the SMART parts: the app's state, cookies, the pages (rendered
//! from the templates) and the failure page of every error.

use std::sync::{Arc, LazyLock};

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64ct::{Base64UrlUnpadded, Encoding};
use minijinja::{Environment, Value as Context, context};
use serde_json::{Map, Value};
use smart_client::core::{ct_eq, display_text, escape_text};
use smart_client::{ClientError, PendingAuthorization};
use smart_session::{
    PendingError, PendingStore, SessionConfig, SessionError, StoreError, TokenStore,
};

use smart_client::registry::IssuerRegistry;

use crate::{AppConfig, SESSION_COOKIE};

/// The cookie that ties a callback to the browser that started the login (its `state`).
const STATE_COOKIE: &str = "smart_state";
/// How long a session cookie lives (8 hours, a working day).
const SESSION_MAX_AGE: u32 = 8 * 3600;
/// How long a login may take (the pending store's maximum age).
const STATE_MAX_AGE: u32 = 600;

/// The templates, parsed once (a unit test checks that they parse).
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("home.html", include_str!("../templates/home.html")),
        ("patient.html", include_str!("../templates/patient.html")),
        (
            "signed_out.html",
            include_str!("../templates/signed_out.html"),
        ),
        ("failure.html", include_str!("../templates/failure.html")),
    ] {
        if let Err(error) = env.add_template(name, source) {
            log::error!("template {name} does not parse: {error}");
        }
    }
    env
});

fn render(status: StatusCode, name: &str, context: &Context) -> Response {
    let page = TEMPLATES
        .get_template(name)
        .and_then(|template| template.render(context));
    match page {
        Ok(page) => (status, Html(page)).into_response(),
        Err(error) => {
            log::error!("rendering {name} failed: {error}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// What the handlers share.
pub(crate) struct App {
    pub(crate) registry: IssuerRegistry,
    pub(crate) pending: PendingStore,
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) cookies: Cookies,
    session: SessionConfig,
}

impl App {
    pub(crate) fn new(config: AppConfig) -> Self {
        let AppConfig {
            registry,
            store,
            secure_cookies,
            session,
        } = config;
        Self {
            registry,
            pending: PendingStore::new(Arc::clone(&store)),
            store,
            cookies: Cookies {
                secure: secure_cookies,
            },
            session,
        }
    }

    /// The session configuration.
    pub(crate) fn config(&self) -> SessionConfig {
        self.session.clone()
    }
}

impl IntoResponse for Page<'_> {
    fn into_response(self) -> Response {
        match self {
            Page::Home(ehrs) => {
                let login = |name: &str| {
                    let query = smart_client::core::form::encode([("ehr", name)]);
                    [name.to_owned(), format!("/login?{query}")]
                };
                let ehrs: Vec<[String; 2]> = ehrs.iter().map(|name| login(name)).collect();
                render(StatusCode::OK, "home.html", &context! { ehrs => ehrs })
            }
            Page::Patient(ehr, patient, bundle) => render(
                StatusCode::OK,
                "patient.html",
                &context! {
                    ehr => ehr.to_owned(),
                    name => display_name(&patient),
                    birth_date => patient.get("birthDate").and_then(Value::as_str).map(str::to_owned),
                    observations => observations(&bundle),
                },
            ),
            Page::SignedOut => render(StatusCode::OK, "signed_out.html", &context! {}),
        }
    }
}

/// A page the app shows.
pub(crate) enum Page<'a> {
    /// The EHRs to sign in with.
    Home(Vec<&'a str>),
    /// The EHR's name, the Patient, and a Bundle of their Observations.
    Patient(&'a str, Map<String, Value>, Map<String, Value>),
    /// After logout.
    SignedOut,
}

/// A Patient's first name as text: `name[0].text`, or its given names and family name.
fn display_name(patient: &Map<String, Value>) -> String {
    let Some(name) = patient.get("name").and_then(|names| names.get(0)) else {
        return "(no name)".to_owned();
    };
    if let Some(text) = name.get("text").and_then(Value::as_str) {
        return text.to_owned();
    }
    let mut parts: Vec<&str> = name
        .get("given")
        .and_then(Value::as_array)
        .map(|given| given.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    parts.extend(name.get("family").and_then(Value::as_str));
    parts.join(" ")
}

/// The rows of the Observations table: what, value, when.
fn observations(bundle: &Map<String, Value>) -> Vec<[String; 3]> {
    let entries = bundle.get("entry").and_then(Value::as_array);
    let text = |value: Option<&Value>| value.and_then(Value::as_str).unwrap_or_default().to_owned();
    entries
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("resource"))
        .map(|resource| {
            let code = resource.get("code");
            let what = code
                .and_then(|code| code.get("text"))
                .or_else(|| code.and_then(|code| code.pointer("/coding/0/display")));
            let quantity = resource.get("valueQuantity");
            let value = match quantity.and_then(|q| q.get("value")) {
                Some(number) => format!("{number} {}", text(quantity.and_then(|q| q.get("unit")))),
                None => text(resource.get("valueString")),
            };
            [text(what), value, text(resource.get("effectiveDateTime"))]
        })
        .collect()
}

/// 256 random bits, base64url: a session id.
pub(crate) fn random_id() -> Result<String, Failure> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| Failure::Store("no randomness available".into()))?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

/// The app's cookies: `HttpOnly`, `SameSite=Lax` (sent on the EHR's redirect back, never on a
/// cross-site POST), `Secure` unless the app is on loopback.
pub(crate) struct Cookies {
    secure: bool,
}

impl Cookies {
    fn set(&self, name: &str, value: &str, path: &str, max_age: u32) -> (HeaderName, HeaderValue) {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        );
        // The values are base64url and `state`s (unreserved characters): always valid.
        let value = HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static(""));
        (SET_COOKIE, value)
    }

    fn get(headers: &HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(found, _)| *found == name)
            .map(|(_, value)| value.to_owned())
    }

    /// The `state` of a login this browser started.
    pub(crate) fn pending(&self, pending: &PendingAuthorization) -> (HeaderName, HeaderValue) {
        let state = pending.state().expose_secret();
        self.set(STATE_COOKIE, state, "/callback", STATE_MAX_AGE)
    }

    pub(crate) fn clear_pending(&self) -> (HeaderName, HeaderValue) {
        self.set(STATE_COOKIE, "", "/callback", 0)
    }

    /// The callback's `state`, when it is the one of the login this browser started.
    pub(crate) fn checked_state(headers: &HeaderMap, query: &str) -> Result<String, Failure> {
        let state = smart_client::core::form::decode(query.as_bytes())
            .into_iter()
            .find(|(name, _)| name == "state")
            .map(|(_, value)| value)
            .ok_or(Failure::StateMismatch)?;
        match Self::get(headers, STATE_COOKIE) {
            Some(expected) if ct_eq(expected.as_bytes(), state.as_bytes()) => Ok(state),
            _ => Err(Failure::StateMismatch),
        }
    }

    pub(crate) fn session(&self, id: &str) -> (HeaderName, HeaderValue) {
        self.set(SESSION_COOKIE, id, "/", SESSION_MAX_AGE)
    }

    pub(crate) fn clear_session(&self) -> (HeaderName, HeaderValue) {
        self.set(SESSION_COOKIE, "", "/", 0)
    }

    pub(crate) fn session_id(headers: &HeaderMap) -> Option<String> {
        Self::get(headers, SESSION_COOKIE).filter(|id| !id.is_empty())
    }
}

/// Why a request failed: each shows the failure page with what happened and what to do.
#[derive(Debug)]
pub(crate) enum Failure {
    BadLaunch,
    UnknownIssuer(String),
    UnknownEhr(String),
    StateMismatch,
    Replayed,
    Stale,
    Denied {
        error: String,
        description: Option<String>,
    },
    SessionExpired,
    NoPatient,
    Ehr(String),
    Store(String),
}

impl Failure {
    /// The status, what happened, what to do.
    fn explain(&self) -> (StatusCode, String, &'static str) {
        use StatusCode as S;
        match self {
            Self::BadLaunch => (
                S::BAD_REQUEST,
                "The launch link is incomplete: it needs iss and launch.".into(),
                "Launch the app again from your EHR.",
            ),
            Self::UnknownIssuer(iss) => (
                S::FORBIDDEN,
                format!(
                    "This app does not know the EHR {}, so it did not contact it.",
                    display_text(iss, 200)
                ),
                "Launch the app from an EHR it is registered with, or ask the app's administrator to add this one.",
            ),
            Self::UnknownEhr(name) => (
                S::NOT_FOUND,
                format!(
                    "There is no EHR named \"{}\" here.",
                    display_text(name, 100)
                ),
                "Pick one of the EHRs on the home page.",
            ),
            Self::StateMismatch => (
                S::BAD_REQUEST,
                "This sign-in does not match one started in this browser (state mismatch).".into(),
                "Start again from the home page or your EHR; if it keeps happening, allow cookies for this site.",
            ),
            Self::Replayed => (
                S::BAD_REQUEST,
                "This sign-in was already completed once.".into(),
                "Start again from the home page or your EHR.",
            ),
            Self::Stale => (
                S::BAD_REQUEST,
                "The sign-in took longer than 10 minutes.".into(),
                "Start again from the home page or your EHR.",
            ),
            Self::Denied { error, description } => (
                S::FORBIDDEN,
                format!(
                    "The EHR did not authorize the app: {error}{}",
                    description
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
                "If you denied access, nothing else is needed. To use the app, start again and approve it.",
            ),
            Self::SessionExpired => (
                S::UNAUTHORIZED,
                "Your session has expired or ended.".into(),
                "Sign in again from the home page or your EHR.",
            ),
            Self::NoPatient => (
                S::BAD_REQUEST,
                "The EHR gave no patient for this session.".into(),
                "Launch the app again with a patient selected.",
            ),
            Self::Ehr(error) => (
                S::BAD_GATEWAY,
                format!("Talking to the EHR failed: {error}"),
                "Try again; if it keeps failing, the EHR may be down.",
            ),
            Self::Store(error) => (
                S::SERVICE_UNAVAILABLE,
                format!("The session store failed: {error}"),
                "Try again in a moment.",
            ),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, what, todo) = self.explain();
        log::info!("failure page: {}", escape_text(&what));
        render(
            status,
            "failure.html",
            &context! { what => what, todo => todo },
        )
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Authorization {
                error, description, ..
            } => Self::Denied {
                error: error.as_str().to_owned(),
                description,
            },
            ClientError::StateMismatch | ClientError::MissingState => Self::StateMismatch,
            other => Self::Ehr(other.to_string()),
        }
    }
}

impl From<SessionError> for Failure {
    fn from(error: SessionError) -> Self {
        if matches!(error, SessionError::Removed) || error.requires_reauthorization() {
            Self::SessionExpired
        } else {
            Self::Ehr(error.to_string())
        }
    }
}

impl From<PendingError> for Failure {
    fn from(error: PendingError) -> Self {
        match error {
            PendingError::Unknown => Self::StateMismatch,
            PendingError::Replayed => Self::Replayed,
            PendingError::Stale { .. } => Self::Stale,
            other => Self::Store(other.to_string()),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Store(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_parse_and_escape() {
        for name in [
            "base.html",
            "home.html",
            "patient.html",
            "signed_out.html",
            "failure.html",
        ] {
            assert!(TEMPLATES.get_template(name).is_ok(), "{name}");
        }
        for (name, context) in [
            ("failure.html", context! { what => "<script>", todo => "x" }),
            (
                "home.html",
                context! { ehrs => vec![["a b", "/login?ehr=a+b"]] },
            ),
            ("signed_out.html", context! {}),
            (
                "patient.html",
                context! { ehr => "e", name => "n", birth_date => "1", observations => vec![["a", "b", "c"]] },
            ),
        ] {
            let page = TEMPLATES.get_template(name).unwrap().render(context);
            let page = page.unwrap_or_else(|error| panic!("{name}: {error:#}"));
            assert!(!page.contains("<script>"), "{page}");
        }
    }

    #[test]
    fn what_the_visitor_sent_is_shown_bounded_and_clean() {
        let iss = format!("https://evil.example/\n{}", "a".repeat(10_000));
        let (status, what, _) = Failure::UnknownIssuer(iss).explain();
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(what.len() < 400, "{}", what.len());
        assert!(!what.contains('\n'), "{what}");
    }

    #[test]
    fn names_and_observations_are_read_from_fhir_json() {
        let patient = serde_json::json!({"name": [{"given": ["Amy", "V."], "family": "Shaw"}]});
        assert_eq!(display_name(patient.as_object().unwrap()), "Amy V. Shaw");
        let bundle = serde_json::json!({"entry": [{"resource": {
            "code": {"coding": [{"display": "Heart rate"}]},
            "valueQuantity": {"value": 72.0, "unit": "/min"},
            "effectiveDateTime": "2026-03-02"
        }}]});
        let rows = observations(bundle.as_object().unwrap());
        assert_eq!(
            rows,
            [[
                "Heart rate".to_owned(),
                "72.0 /min".to_owned(),
                "2026-03-02".to_owned()
            ]]
        );
    }
}
