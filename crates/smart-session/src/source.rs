//! Where sessions get tokens from: the two token-endpoint calls a lifecycle needs, blocking
//! and async. The client shells implement them.

use core::future::Future;
use std::sync::Arc;

use smart_client::{ClientError, SmartClient};
use smart_token::scope::ScopeSet;
use smart_token::{RefreshToken, TokenResponse};

/// The token-endpoint calls of a blocking client.
///
/// Each call must make one request, with fresh client authentication (a new assertion for
/// `private_key_jwt`).
pub trait TokenSource: Send + Sync {
    /// `grant_type=refresh_token`, with `scope` when narrowing.
    ///
    /// # Errors
    ///
    /// The client's: an OAuth error from the server (`invalid_grant` ends a session), a
    /// network error, ...
    fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError>;

    /// `grant_type=client_credentials` (SMART Backend Services), for `scopes` or the
    /// client's default.
    ///
    /// # Errors
    ///
    /// The client's.
    fn client_credentials(&self, scopes: Option<&ScopeSet>) -> Result<TokenResponse, ClientError>;
}

/// The token-endpoint calls of an async client. Their futures are `Send`, so sessions work on
/// multi-threaded executors.
pub trait AsyncTokenSource: Send + Sync {
    /// As [`TokenSource::refresh`].
    fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&ScopeSet>,
    ) -> impl Future<Output = Result<TokenResponse, ClientError>> + Send;

    /// As [`TokenSource::client_credentials`].
    fn client_credentials(
        &self,
        scopes: Option<&ScopeSet>,
    ) -> impl Future<Output = Result<TokenResponse, ClientError>> + Send;
}

/// [`SmartClient::refresh`] and [`SmartClient::backend_services_token`].
impl TokenSource for SmartClient {
    fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError> {
        SmartClient::refresh(self, refresh_token, scope)
    }

    fn client_credentials(&self, scopes: Option<&ScopeSet>) -> Result<TokenResponse, ClientError> {
        self.backend_services_token(scopes)
    }
}

/// [`AsyncSmartClient::refresh`](smart_client::AsyncSmartClient::refresh) and
/// [`AsyncSmartClient::backend_services_token`](smart_client::AsyncSmartClient::backend_services_token).
impl AsyncTokenSource for smart_client::AsyncSmartClient {
    fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&ScopeSet>,
    ) -> impl Future<Output = Result<TokenResponse, ClientError>> + Send {
        smart_client::AsyncSmartClient::refresh(self, refresh_token, scope)
    }

    fn client_credentials(
        &self,
        scopes: Option<&ScopeSet>,
    ) -> impl Future<Output = Result<TokenResponse, ClientError>> + Send {
        self.backend_services_token(scopes)
    }
}

impl<T: TokenSource + ?Sized> TokenSource for Arc<T> {
    fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError> {
        (**self).refresh(refresh_token, scope)
    }

    fn client_credentials(&self, scopes: Option<&ScopeSet>) -> Result<TokenResponse, ClientError> {
        (**self).client_credentials(scopes)
    }
}

impl<T: AsyncTokenSource + ?Sized> AsyncTokenSource for Arc<T> {
    fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&ScopeSet>,
    ) -> impl Future<Output = Result<TokenResponse, ClientError>> + Send {
        (**self).refresh(refresh_token, scope)
    }

    fn client_credentials(
        &self,
        scopes: Option<&ScopeSet>,
    ) -> impl Future<Output = Result<TokenResponse, ClientError>> + Send {
        (**self).client_credentials(scopes)
    }
}
