#![doc = include_str!("../README.md")]

mod issuers;
mod smart;
mod web;

use std::sync::Arc;

use smart_client::AsyncSmartClient;
use smart_client::registry::IssuerRegistry;
use smart_session::{MemoryStore, SessionConfig, TokenStore};

/// The name of the session cookie (`HttpOnly`, `SameSite=Lax`, `Secure` unless the app is on
/// loopback). Its value is the session id, the store key is [`session_key`] of it.
pub const SESSION_COOKIE: &str = "smart_session";

/// The store key of the session with this id (the value of [`SESSION_COOKIE`]).
#[must_use]
pub fn session_key(id: &str) -> String {
    format!("web-app:session:{id}")
}

/// An EHR the app is registered with, as the handlers use it: its registry name and the
/// registry's client for it.
#[derive(Debug, Clone)]
pub(crate) struct Ehr {
    /// Its name in `/login?ehr=NAME`.
    pub(crate) name: String,
    /// The registry's client (its redirect URI is the app's `/callback`).
    pub(crate) client: AsyncSmartClient,
}

/// How the app runs.
#[derive(Debug)]
pub struct AppConfig {
    /// The EHRs it trusts, keyed by issuer: smart-client's issuer registry. An EHR launch
    /// from any other `iss` is refused before any request.
    pub registry: IssuerRegistry,
    /// Where sessions and pending authorizations live (memory by default; Redis to share
    /// them between instances).
    pub store: Arc<dyn TokenStore>,
    /// Whether cookies carry `Secure` (everywhere but loopback).
    pub secure_cookies: bool,
    /// When tokens are refreshed, and how long a refresh is waited for.
    pub session: SessionConfig,
}

impl AppConfig {
    /// The app at `public_url` (such as `https://app.example`), trusting the EHRs of
    /// `registry` (each entry's redirect URI is the app's `/callback`), with sessions in
    /// memory. Cookies are `Secure` unless `public_url` is `http` on a loopback host.
    #[must_use]
    pub fn new(registry: IssuerRegistry, public_url: &str) -> Self {
        let loopback = url::Url::parse(public_url).is_ok_and(|url| {
            url.scheme() == "http"
                && matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
        });
        Self {
            registry,
            store: Arc::new(MemoryStore::new()),
            secure_cookies: !loopback,
            session: SessionConfig::new(),
        }
    }

    /// Keeps sessions in `store` instead of memory.
    #[must_use]
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = store;
        self
    }
}

/// The app's routes: `GET /launch`, `GET /login`, `GET /callback`, `GET /` and
/// `POST /logout`. Serve them with `axum::serve`.
pub fn router(config: AppConfig) -> axum::Router {
    smart::routes(web::App::new(config))
}
