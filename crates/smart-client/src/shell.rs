//! The operations of both shells, written once: each runs the [`crate::SmartFlows`] method of
//! the same name through the shell's `run` (blocking, or `async` with `.await`), so the two
//! cannot drift apart. See [`crate::SmartFlows`] for what each checks and returns.

/// Expands to the shell's operations: `shell_operations!()` for the blocking shell,
/// `shell_operations!(async, .await)` for the async one.
macro_rules! shell_operations {
    ($($async:ident, $($await:tt)+)?) => {
        /// The server's SMART configuration, fetched once and cached
        /// ([`crate::SmartFlows::discover`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::discover`].
        pub $($async)? fn discover(
            &self,
        ) -> Result<std::sync::Arc<smart_discovery::SmartConfiguration>, crate::ClientError> {
            self.run(self.flows.discover())$($($await)+)?
        }

        /// The token endpoint, configured or discovered
        /// ([`crate::SmartFlows::token_endpoint`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::token_endpoint`].
        pub $($async)? fn token_endpoint(&self) -> Result<smart_core::TokenUrl, crate::ClientError> {
            self.run(self.flows.token_endpoint())$($($await)+)?
        }

        /// The authorization endpoint, configured or discovered
        /// ([`crate::SmartFlows::authorization_endpoint`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::authorization_endpoint`].
        pub $($async)? fn authorization_endpoint(
            &self,
        ) -> Result<smart_core::AuthorizeUrl, crate::ClientError> {
            self.run(self.flows.authorization_endpoint())$($($await)+)?
        }

        /// The authorization request and its pending state ([`crate::SmartFlows::authorize`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::authorize`].
        pub $($async)? fn authorize(
            &self,
            options: crate::AuthorizeOptions,
        ) -> Result<crate::AuthorizationRequest, crate::ClientError> {
            self.run(self.flows.authorize(options))$($($await)+)?
        }

        /// Checks the callback and exchanges its code
        /// ([`crate::SmartFlows::complete_authorization`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::complete_authorization`].
        pub $($async)? fn complete_authorization(
            &self,
            callback: &str,
            pending: &crate::PendingAuthorization,
        ) -> Result<smart_token::TokenResponse, crate::ClientError> {
            self.run(self.flows.complete_authorization(callback, pending))$($($await)+)?
        }

        /// Exchanges a checked code ([`crate::SmartFlows::exchange_code`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::exchange_code`].
        pub $($async)? fn exchange_code(
            &self,
            code: &smart_token::AuthorizationCode,
            pending: &crate::PendingAuthorization,
        ) -> Result<smart_token::TokenResponse, crate::ClientError> {
            self.run(self.flows.exchange_code(code, pending))$($($await)+)?
        }

        /// Refreshes an access token ([`crate::SmartFlows::refresh`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::refresh`].
        pub $($async)? fn refresh(
            &self,
            refresh_token: &smart_token::RefreshToken,
            narrower_scope: Option<&smart_token::scope::ScopeSet>,
        ) -> Result<smart_token::TokenResponse, crate::ClientError> {
            self.run(self.flows.refresh(refresh_token, narrower_scope))$($($await)+)?
        }

        /// Refreshes the tokens of a user signed in with OpenID Connect, holding the
        /// refreshed `id_token` to the original one's claims
        /// ([`crate::SmartFlows::refresh_signed_in`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::refresh`].
        #[cfg(feature = "openid")]
        pub $($async)? fn refresh_signed_in(
            &self,
            refresh_token: &smart_token::RefreshToken,
            narrower_scope: Option<&smart_token::scope::ScopeSet>,
            original: &crate::IdTokenClaims,
        ) -> Result<smart_token::TokenResponse, crate::ClientError> {
            self.run(self.flows.refresh_signed_in(refresh_token, narrower_scope, original))
                $($($await)+)?
        }

        /// A Backend Services token ([`crate::SmartFlows::backend_services_token`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::backend_services_token`].
        pub $($async)? fn backend_services_token(
            &self,
            scopes: Option<&smart_token::scope::ScopeSet>,
        ) -> Result<smart_token::TokenResponse, crate::ClientError> {
            self.run(self.flows.backend_services_token(scopes))$($($await)+)?
        }

        /// Introspects a token ([`crate::SmartFlows::introspect`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::introspect`].
        pub $($async)? fn introspect(
            &self,
            token: smart_token::TokenRef<'_>,
            with: crate::IntrospectWith<'_>,
        ) -> Result<smart_token::IntrospectionResponse, crate::ClientError> {
            self.run(self.flows.introspect(token, with))$($($await)+)?
        }

        /// Revokes a token ([`crate::SmartFlows::revoke`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::revoke`].
        pub $($async)? fn revoke(
            &self,
            token: smart_token::TokenRef<'_>,
        ) -> Result<(), crate::ClientError> {
            self.run(self.flows.revoke(token))$($($await)+)?
        }

        /// Registers a client at the discovered endpoint ([`crate::SmartFlows::register`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::register`].
        pub $($async)? fn register(
            &self,
            metadata: &serde_json::Map<String, serde_json::Value>,
            initial_access_token: Option<&smart_token::AccessToken>,
        ) -> Result<crate::Registration, crate::ClientError> {
            self.run(self.flows.register(metadata, initial_access_token))$($($await)+)?
        }

        /// Registers a client at `endpoint` ([`crate::SmartFlows::register_at`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::register_at`].
        pub $($async)? fn register_at(
            &self,
            endpoint: &smart_core::EndpointUrl,
            metadata: &serde_json::Map<String, serde_json::Value>,
            initial_access_token: Option<&smart_token::AccessToken>,
        ) -> Result<crate::Registration, crate::ClientError> {
            self.run(self.flows.register_at(endpoint, metadata, initial_access_token))
                $($($await)+)?
        }

        /// Verifies an `id_token` ([`crate::SmartFlows::verify_id_token`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::verify_id_token`].
        #[cfg(feature = "openid")]
        pub $($async)? fn verify_id_token(
            &self,
            id_token: &smart_token::IdToken,
            expected_nonce: Option<&str>,
        ) -> Result<crate::IdTokenClaims, crate::ClientError> {
            self.run(self.flows.verify_id_token(id_token, expected_nonce))$($($await)+)?
        }

        /// A FHIR request with the access token ([`crate::SmartFlows::fhir_request`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::fhir_request`].
        pub $($async)? fn fhir_request(
            &self,
            token: &smart_token::AccessToken,
            method: http::Method,
            path: &str,
            body: Option<&serde_json::Value>,
        ) -> Result<http::Response<Vec<u8>>, crate::ClientError> {
            self.run(self.flows.fhir_request(token, method, path, body))$($($await)+)?
        }

        /// A FHIR GET with the access token ([`crate::SmartFlows::fhir_get`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::fhir_get`].
        pub $($async)? fn fhir_get(
            &self,
            token: &smart_token::AccessToken,
            path: &str,
        ) -> Result<http::Response<Vec<u8>>, crate::ClientError> {
            self.run(self.flows.fhir_get(token, path))$($($await)+)?
        }

        /// Reads one FHIR resource as JSON ([`crate::SmartFlows::read_resource`]).
        ///
        /// # Errors
        ///
        /// As [`crate::SmartFlows::read_resource`].
        pub $($async)? fn read_resource(
            &self,
            token: &smart_token::AccessToken,
            path: &str,
        ) -> Result<serde_json::Map<String, serde_json::Value>, crate::ClientError> {
            self.run(self.flows.read_resource(token, path))$($($await)+)?
        }

        /// The configuration.
        #[must_use]
        pub fn config(&self) -> &crate::ClientConfig {
            self.flows.config()
        }

        /// The client type.
        #[must_use]
        pub fn client_type(&self) -> crate::ClientType {
            self.flows.client_type()
        }

        /// The flows this client drives (for a caller's own driver, or the other shell).
        #[must_use]
        pub fn flows(&self) -> &crate::SmartFlows {
            &self.flows
        }

        /// The same client with `clock` for `expires_at`, assertion times and `issued_at`
        /// (tests fix it). The caches start empty.
        #[must_use]
        pub fn with_clock(self, clock: std::sync::Arc<dyn smart_core::Clock>) -> Self {
            let flows = self.flows.rebuilt_with_clock(clock);
            Self { flows, ..self }
        }
    };
}

pub(crate) use shell_operations;
