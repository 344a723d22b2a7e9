//! Where sessions get tokens from: the two token-endpoint calls a lifecycle needs, and the
//! FHIR request the session's reads make, blocking and async. The client shells implement
//! them.

use core::future::Future;
use std::sync::Arc;

use serde_json::Value;
use smart_client::{AsyncSmartClient, ClientError, SmartClient};
use smart_token::scope::ScopeSet;
use smart_token::{AccessToken, RefreshToken, TokenResponse};

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

/// A blocking client that also makes FHIR requests with a token: what
/// [`Session::fhir_request`](crate::Session::fhir_request) and the reads and searches over it
/// need.
pub trait FhirSource: TokenSource {
    /// One FHIR request with `token`; `path` is relative to the FHIR base or an absolute URL
    /// below it. Implementations must send the token to the FHIR base's origin only (the
    /// client shells refuse anything outside the base with [`ClientError::ForeignUrl`]) and
    /// must not follow redirects. Any HTTP status is an answer.
    ///
    /// # Errors
    ///
    /// The client's: a URL outside the FHIR base, a network error.
    fn fhir_request(
        &self,
        token: &AccessToken,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<http::Response<Vec<u8>>, ClientError>;
}

/// The async twin of [`FhirSource`].
pub trait AsyncFhirSource: AsyncTokenSource {
    /// As [`FhirSource::fhir_request`].
    fn fhir_request(
        &self,
        token: &AccessToken,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> impl Future<Output = Result<http::Response<Vec<u8>>, ClientError>> + Send;
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

/// [`AsyncSmartClient::refresh`] and [`AsyncSmartClient::backend_services_token`].
impl AsyncTokenSource for AsyncSmartClient {
    fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&ScopeSet>,
    ) -> impl Future<Output = Result<TokenResponse, ClientError>> + Send {
        AsyncSmartClient::refresh(self, refresh_token, scope)
    }

    fn client_credentials(
        &self,
        scopes: Option<&ScopeSet>,
    ) -> impl Future<Output = Result<TokenResponse, ClientError>> + Send {
        self.backend_services_token(scopes)
    }
}

/// [`SmartClient::fhir_request`].
impl FhirSource for SmartClient {
    fn fhir_request(
        &self,
        token: &AccessToken,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<http::Response<Vec<u8>>, ClientError> {
        SmartClient::fhir_request(self, token, method, path, body)
    }
}

/// [`AsyncSmartClient::fhir_request`].
impl AsyncFhirSource for AsyncSmartClient {
    fn fhir_request(
        &self,
        token: &AccessToken,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> impl Future<Output = Result<http::Response<Vec<u8>>, ClientError>> + Send {
        AsyncSmartClient::fhir_request(self, token, method, path, body)
    }
}

impl<T: FhirSource + ?Sized> FhirSource for Arc<T> {
    fn fhir_request(
        &self,
        token: &AccessToken,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<http::Response<Vec<u8>>, ClientError> {
        (**self).fhir_request(token, method, path, body)
    }
}

impl<T: AsyncFhirSource + ?Sized> AsyncFhirSource for Arc<T> {
    fn fhir_request(
        &self,
        token: &AccessToken,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> impl Future<Output = Result<http::Response<Vec<u8>>, ClientError>> + Send {
        (**self).fhir_request(token, method, path, body)
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
