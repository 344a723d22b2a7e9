#![doc = include_str!("../README.md")]

pub mod browser;

use std::cell::Cell;
use std::sync::Arc;

use serde_json::{Map, Value};
use smart_client::discovery::SmartConfiguration;
use smart_client::token::scope::ScopeSet;
use smart_client::token::{
    AccessToken, IdToken, IntrospectionResponse, RefreshToken, TokenRef, TokenResponse,
};
use smart_client::{
    AsyncSmartClient, AuthorizationRequest, AuthorizeOptions, ClientConfig, ClientError,
    ClientType, IdTokenClaims, IntrospectWith, PendingAuthorization, Registration, SmartClient,
};

/// Which shell a test drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// `SmartClient` over ureq.
    Blocking,
    /// `AsyncSmartClient` over reqwest.
    Async,
}

/// Both shells, for tables that iterate over them.
pub const SHELLS: [Shell; 2] = [Shell::Blocking, Shell::Async];

thread_local! {
    static SHELL: Cell<Shell> = const { Cell::new(Shell::Blocking) };
}

/// Runs `test` with clients of `shell` (what [`Client::new`] makes on this thread).
pub fn run(shell: Shell, test: impl FnOnce()) {
    SHELL.with(|current| current.set(shell));
    test();
}

/// A client of either shell, with the blocking shell's signatures. Clones share the
/// shell's caches (and the runtime).
#[derive(Debug, Clone)]
pub enum Client {
    /// The blocking shell.
    Blocking(SmartClient),
    /// The async shell and the runtime its calls run on.
    Async(AsyncSmartClient, Arc<tokio::runtime::Runtime>),
}

/// Calls the operation on either shell: directly, or to completion on the test's runtime.
macro_rules! on_shell {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Client::Blocking(client) => client.$method($($arg),*),
            Client::Async(client, runtime) => runtime.block_on(client.$method($($arg),*)),
        }
    };
}

impl Client {
    /// A client of the shell set by [`run`] on this thread (blocking by default).
    ///
    /// # Errors
    ///
    /// As the shells' constructors.
    pub fn new(config: ClientConfig, client_type: ClientType) -> Result<Self, ClientError> {
        Self::of(SHELL.with(Cell::get), config, client_type)
    }

    /// A client of `shell`.
    ///
    /// # Errors
    ///
    /// As the shells' constructors.
    ///
    /// # Panics
    ///
    /// When no tokio runtime can be made (a test environment problem).
    pub fn of(
        shell: Shell,
        config: ClientConfig,
        client_type: ClientType,
    ) -> Result<Self, ClientError> {
        match shell {
            Shell::Blocking => SmartClient::new(config, client_type).map(Self::Blocking),
            Shell::Async => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                let client = AsyncSmartClient::new(config, client_type)?;
                Ok(Self::Async(client, Arc::new(runtime)))
            }
        }
    }

    /// A client of the shell set by [`run`] over `flows` (the issuer registry's, say), with
    /// the default transport of that shell.
    ///
    /// # Panics
    ///
    /// When the transport or a tokio runtime cannot be made (a test environment problem).
    #[must_use]
    pub fn from_flows(flows: smart_client::SmartFlows) -> Self {
        let options = flows.config().http_options().clone();
        match SHELL.with(Cell::get) {
            Shell::Blocking => Self::Blocking(SmartClient::from_flows(
                flows,
                smart_client::UreqClient::new(&options).expect("a ureq transport"),
            )),
            Shell::Async => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                let client = AsyncSmartClient::from_flows(
                    flows,
                    smart_client::ReqwestClient::new(&options).expect("a reqwest transport"),
                );
                Self::Async(client, Arc::new(runtime))
            }
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        match self {
            Self::Blocking(client) => client.config(),
            Self::Async(client, _) => client.config(),
        }
    }

    /// The client type.
    #[must_use]
    pub fn client_type(&self) -> ClientType {
        match self {
            Self::Blocking(client) => client.client_type(),
            Self::Async(client, _) => client.client_type(),
        }
    }

    /// `token_endpoint` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn token_endpoint(&self) -> Result<smart_client::core::TokenUrl, ClientError> {
        on_shell!(self.token_endpoint())
    }

    /// `exchange_code` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn exchange_code(
        &self,
        code: &smart_client::token::AuthorizationCode,
        pending: &PendingAuthorization,
    ) -> Result<TokenResponse, ClientError> {
        on_shell!(self.exchange_code(code, pending))
    }

    /// `discover` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn discover(&self) -> Result<Arc<SmartConfiguration>, ClientError> {
        on_shell!(self.discover())
    }

    /// `fhir_get` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn fhir_get(
        &self,
        token: &AccessToken,
        path: &str,
    ) -> Result<http::Response<Vec<u8>>, ClientError> {
        on_shell!(self.fhir_get(token, path))
    }

    /// `authorize` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn authorize(
        &self,
        options: AuthorizeOptions,
    ) -> Result<AuthorizationRequest, ClientError> {
        on_shell!(self.authorize(options))
    }

    /// `complete_authorization` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn complete_authorization(
        &self,
        callback: &str,
        pending: &PendingAuthorization,
    ) -> Result<TokenResponse, ClientError> {
        on_shell!(self.complete_authorization(callback, pending))
    }

    /// `verify_id_token` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn verify_id_token(
        &self,
        id_token: &IdToken,
        nonce: Option<&str>,
    ) -> Result<IdTokenClaims, ClientError> {
        on_shell!(self.verify_id_token(id_token, nonce))
    }

    /// `refresh_signed_in` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn refresh_signed_in(
        &self,
        refresh_token: &RefreshToken,
        narrower_scope: Option<&ScopeSet>,
        original: &IdTokenClaims,
    ) -> Result<TokenResponse, ClientError> {
        on_shell!(self.refresh_signed_in(refresh_token, narrower_scope, original))
    }

    /// `read_resource` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn read_resource(
        &self,
        token: &AccessToken,
        path: &str,
    ) -> Result<Map<String, Value>, ClientError> {
        on_shell!(self.read_resource(token, path))
    }

    /// `refresh` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError> {
        on_shell!(self.refresh(refresh_token, scope))
    }

    /// `backend_services_token` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn backend_services_token(
        &self,
        scopes: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError> {
        on_shell!(self.backend_services_token(scopes))
    }

    /// `introspect` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn introspect(
        &self,
        token: TokenRef<'_>,
        with: IntrospectWith<'_>,
    ) -> Result<IntrospectionResponse, ClientError> {
        on_shell!(self.introspect(token, with))
    }

    /// `revoke` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn revoke(&self, token: TokenRef<'_>) -> Result<(), ClientError> {
        on_shell!(self.revoke(token))
    }

    /// `register` of the shell.
    ///
    /// # Errors
    ///
    /// As the shell's.
    pub fn register(
        &self,
        metadata: &Map<String, Value>,
        initial_access_token: Option<&AccessToken>,
    ) -> Result<Registration, ClientError> {
        on_shell!(self.register(metadata, initial_access_token))
    }
}

/// Each `fn name() { ... }` (a `#[test]` on it is allowed and dropped) becomes a module `name` with the test `blocking` and the
/// test `async_shell`, both running the same body.
#[macro_export]
macro_rules! both_shells {
    ($( $(#[$meta:meta])* fn $name:ident() $body:block )*) => {
        $(
            mod $name {
                #[allow(unused_imports, reason = "each body uses some of the file's imports")]
                use super::*;

                #[allow(
                    clippy::panic,
                    clippy::unwrap_used,
                    reason = "a test body: a panic is a failing test"
                )]
                fn body() $body

                #[test]
                fn blocking() {
                    $crate::run($crate::Shell::Blocking, body);
                }

                #[test]
                fn async_shell() {
                    $crate::run($crate::Shell::Async, body);
                }
            }
        )*
    };
}
