//! Token-endpoint flows after the code exchange: refresh, Backend Services
//! (`client_credentials`), and the token's introspection (RFC 7662) and revocation (RFC 7009).

use smart_discovery::SmartConfiguration;
use smart_token::scope::ScopeSet;
use smart_token::{
    AccessToken, IntrospectionAuth, IntrospectionResponse, RefreshToken, TokenRef, TokenRequest,
    TokenResponse, introspection_request, request_redactions, revocation_request,
    revocation_response_redacting,
};

use super::SmartFlows;
use crate::config::ConfigError;
use crate::error::ClientError;
use crate::flow::{Fetch, Flow, Next};

/// The token being introspected is checked with the client's own authentication, or with a
/// Bearer token (both are allowed by SMART).
#[derive(Debug, Clone, Copy)]
pub enum IntrospectWith<'a> {
    /// The client's token-endpoint authentication.
    Client,
    /// `Authorization: Bearer` with a token authorised to introspect.
    Bearer(&'a AccessToken),
}

/// A token of either kind, owned for the rest of a flow.
#[derive(Clone)]
enum OwnedToken {
    Access(AccessToken),
    Refresh(RefreshToken),
}

impl OwnedToken {
    fn new(token: TokenRef<'_>) -> Self {
        match token {
            TokenRef::Access(token) => Self::Access(token.clone()),
            TokenRef::Refresh(token) => Self::Refresh(token.clone()),
        }
    }

    fn as_ref(&self) -> TokenRef<'_> {
        match self {
            Self::Access(token) => TokenRef::Access(token),
            Self::Refresh(token) => TokenRef::Refresh(token),
        }
    }
}

impl SmartFlows {
    /// Refreshes an access token. `narrower_scope` asks for less than the original grant.
    /// When the server returns no new refresh token, the old one is kept in the answer.
    ///
    /// Errors: [`ClientError::Config`] without a `client_id`, [`ClientError::Token`] for the
    /// server's OAuth error or an unusable answer, and transport errors.
    pub fn refresh(
        &self,
        refresh_token: &RefreshToken,
        narrower_scope: Option<&ScopeSet>,
    ) -> Flow<TokenResponse> {
        Flow::new(
            self.refresh_flow(refresh_token, narrower_scope, |flows, token| {
                flows.checked_refreshed_id_token(token, None)
            }),
        )
    }

    /// The refresh step; `finish` checks the answer's `id_token`.
    pub(super) fn refresh_flow(
        &self,
        refresh_token: &RefreshToken,
        narrower_scope: Option<&ScopeSet>,
        finish: impl FnOnce(&Self, TokenResponse) -> Result<Next<TokenResponse>, ClientError>
        + Send
        + 'static,
    ) -> Result<Next<TokenResponse>, ClientError> {
        let auth = self.auth()?.clone();
        let grant = TokenRequest::refresh_token(refresh_token, narrower_scope);
        let kept = refresh_token.clone();
        let narrower = narrower_scope.cloned();
        let flows = self.clone();
        self.token_url()?.and_then(move |token_url| {
            log::info!("Refreshing access token...");
            flows.check_assertion_algorithm(&auth)?;
            let request = grant.build(&token_url, &auth)?;
            flows.token_call(request).and_then(move |mut token| {
                token.keep_refresh_token(Some(&kept));
                // A narrowing refresh that gets more than it asked for is reported.
                if let Some(narrower) = &narrower {
                    token.compare_scope(narrower);
                }
                // A refreshed id_token is verified too (no nonce is expected: OpenID Connect
                // Core §12.2); one that fails is removed and reported, never the refresh.
                finish(&flows, token)
            })
        })
    }

    /// SMART Backend Services: a `client_credentials` token with a fresh signed assertion,
    /// whatever the client type. Scopes: `scopes`, else the configured ones, else
    /// `system/*.rs`.
    ///
    /// Errors: [`ClientError::Config`] without a `client_id` or private key, and as
    /// [`SmartFlows::refresh`].
    pub fn backend_services_token(&self, scopes: Option<&ScopeSet>) -> Flow<TokenResponse> {
        Flow::new(self.backend_flow(scopes))
    }

    fn backend_flow(&self, scopes: Option<&ScopeSet>) -> Result<Next<TokenResponse>, ClientError> {
        let config = &self.inner.config;
        let auth = self.inner.backend_auth.clone().ok_or_else(|| {
            ClientError::from(ConfigError::Missing {
                fields: super::assertion_missing(config),
                operation: "authenticate to the token endpoint",
            })
        })?;
        let scopes = scopes.or(config.scopes.as_ref().filter(|s| !s.is_empty()));
        let grant = TokenRequest::client_credentials(scopes)?;
        let flows = self.clone();
        self.token_url()?.and_then(move |token_url| {
            log::info!("Requesting backend services access token (client_credentials grant)...");
            flows.check_assertion_algorithm(&auth)?;
            let request = grant.build(&token_url, &auth)?;
            Ok(flows.token_call(request))
        })
    }

    /// Asks the introspection endpoint about a token (RFC 7662).
    ///
    /// Errors: [`ClientError::NotAdvertised`] when the server has no
    /// `introspection_endpoint`, and as [`SmartFlows::refresh`].
    pub fn introspect(
        &self,
        token: TokenRef<'_>,
        with: IntrospectWith<'_>,
    ) -> Flow<IntrospectionResponse> {
        Flow::new(self.introspect_flow(token, with))
    }

    fn introspect_flow(
        &self,
        token: TokenRef<'_>,
        with: IntrospectWith<'_>,
    ) -> Result<Next<IntrospectionResponse>, ClientError> {
        let token = OwnedToken::new(token);
        let limit = self.limit();
        let endpoint = self.discovered_endpoint(
            "introspection_endpoint",
            SmartConfiguration::introspection_endpoint,
        )?;
        let request = match with {
            IntrospectWith::Bearer(bearer) => {
                let bearer = bearer.clone();
                endpoint.map(move |endpoint| {
                    Ok(introspection_request(
                        &endpoint,
                        IntrospectionAuth::Bearer(&bearer),
                        token.as_ref(),
                    )?)
                })?
            }
            IntrospectWith::Client => {
                let auth = self.auth()?.clone();
                let flows = self.clone();
                endpoint.and_then(move |endpoint| {
                    flows.token_url()?.map(move |token_url| {
                        let auth = IntrospectionAuth::Client {
                            auth: &auth,
                            token_url: &token_url,
                        };
                        Ok(introspection_request(&endpoint, auth, token.as_ref())?)
                    })
                })?
            }
        };
        request.and_then(move |request| {
            let redactions = request_redactions(&request);
            Ok(Next::fetch(Fetch::post(request, limit), move |response| {
                Ok(Next::Done(IntrospectionResponse::from_response_redacting(
                    &response,
                    &redactions,
                )?))
            }))
        })
    }

    /// Revokes a token (RFC 7009).
    ///
    /// Errors: [`ClientError::NotAdvertised`] when the server has no `revocation_endpoint`,
    /// and as [`SmartFlows::refresh`].
    pub fn revoke(&self, token: TokenRef<'_>) -> Flow<()> {
        Flow::new(self.revoke_flow(token))
    }

    fn revoke_flow(&self, token: TokenRef<'_>) -> Result<Next<()>, ClientError> {
        let token = OwnedToken::new(token);
        let auth = self.auth()?.clone();
        let limit = self.limit();
        let flows = self.clone();
        self.discovered_endpoint(
            "revocation_endpoint",
            SmartConfiguration::revocation_endpoint,
        )?
        .and_then(move |endpoint| {
            flows.token_url()?.and_then(move |token_url| {
                let request = revocation_request(&endpoint, &auth, &token_url, token.as_ref())?;
                let redactions = request_redactions(&request);
                Ok(Next::fetch(Fetch::post(request, limit), move |response| {
                    revocation_response_redacting(&response, &redactions)?;
                    Ok(Next::Done(()))
                }))
            })
        })
    }

    /// POSTs a built token request and reads the answer with the client's clock.
    pub(crate) fn token_call(&self, request: http::Request<Vec<u8>>) -> Next<TokenResponse> {
        let clock = std::sync::Arc::clone(&self.inner.clock);
        // The secrets this request carries, replaced in any server text that echoes them.
        let redactions = request_redactions(&request);
        Next::fetch(Fetch::post(request, self.limit()), move |response| {
            Ok(Next::Done(TokenResponse::from_response_redacting(
                &response,
                clock.as_ref(),
                &redactions,
            )?))
        })
    }
}
