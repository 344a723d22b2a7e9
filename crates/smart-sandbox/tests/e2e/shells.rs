//! One test table, two shells: every end-to-end test runs once through the blocking
//! `SmartClient` (ureq) and once through the async `AsyncSmartClient` (reqwest), with the same
//! inputs and the same expected results.

use std::cell::Cell;
use std::sync::Arc;

use serde_json::{Map, Value};
use smart_client::token::scope::ScopeSet;
use smart_client::token::{
    AccessToken, IdToken, IntrospectionResponse, RefreshToken, TokenRef, TokenResponse,
};
use smart_client::{
    AsyncSmartClient, AuthorizationRequest, AuthorizeOptions, ClientConfig, ClientError,
    ClientType, IdTokenClaims, IntrospectWith, PendingAuthorization, Registration, SmartClient,
};

/// Which shell the current test drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shell {
    Blocking,
    Async,
}

thread_local! {
    static SHELL: Cell<Shell> = const { Cell::new(Shell::Blocking) };
}

/// Runs `test` with clients of `shell`.
pub(crate) fn run(shell: Shell, test: impl FnOnce()) {
    SHELL.with(|current| current.set(shell));
    test();
}

/// A client of the current test's shell, with the blocking shell's signatures.
pub(crate) enum Client {
    Blocking(SmartClient),
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
    pub(crate) fn new(config: ClientConfig, client_type: ClientType) -> Result<Self, ClientError> {
        match SHELL.with(Cell::get) {
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

    pub(crate) fn authorize(
        &self,
        options: AuthorizeOptions,
    ) -> Result<AuthorizationRequest, ClientError> {
        on_shell!(self.authorize(options))
    }

    pub(crate) fn complete_authorization(
        &self,
        callback: &str,
        pending: &PendingAuthorization,
    ) -> Result<TokenResponse, ClientError> {
        on_shell!(self.complete_authorization(callback, pending))
    }

    pub(crate) fn verify_id_token(
        &self,
        id_token: &IdToken,
        nonce: Option<&str>,
    ) -> Result<IdTokenClaims, ClientError> {
        on_shell!(self.verify_id_token(id_token, nonce))
    }

    pub(crate) fn read_resource(
        &self,
        token: &AccessToken,
        path: &str,
    ) -> Result<Map<String, Value>, ClientError> {
        on_shell!(self.read_resource(token, path))
    }

    pub(crate) fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError> {
        on_shell!(self.refresh(refresh_token, scope))
    }

    pub(crate) fn backend_services_token(
        &self,
        scopes: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError> {
        on_shell!(self.backend_services_token(scopes))
    }

    pub(crate) fn introspect(
        &self,
        token: TokenRef<'_>,
        with: IntrospectWith<'_>,
    ) -> Result<IntrospectionResponse, ClientError> {
        on_shell!(self.introspect(token, with))
    }

    pub(crate) fn revoke(&self, token: TokenRef<'_>) -> Result<(), ClientError> {
        on_shell!(self.revoke(token))
    }

    pub(crate) fn register(
        &self,
        metadata: &Map<String, Value>,
        initial_access_token: Option<&AccessToken>,
    ) -> Result<Registration, ClientError> {
        on_shell!(self.register(metadata, initial_access_token))
    }
}

/// Each `#[test] fn name() { ... }` becomes a module `name` with the test `blocking` and the
/// test `async_shell`, both running the same body.
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
                    crate::shells::run(crate::shells::Shell::Blocking, body);
                }

                #[test]
                fn async_shell() {
                    crate::shells::run(crate::shells::Shell::Async, body);
                }
            }
        )*
    };
}

pub(crate) use both_shells;
