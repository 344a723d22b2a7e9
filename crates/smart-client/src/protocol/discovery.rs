//! Discovery: `.well-known/smart-configuration`, the opt-in CapabilityStatement fallback, the
//! cache, and the endpoints every other flow needs.

use std::sync::{Arc, PoisonError};

use smart_core::{AuthorizeUrl, EndpointUrl, FhirBaseUrl, TokenUrl, TransportPolicy, display_url};
use smart_discovery::{SmartConfiguration, capability_statement};

use super::SmartFlows;
use crate::error::ClientError;
use crate::flow::{Fetch, Flow, Next};

impl SmartFlows {
    /// The server's SMART configuration: fetched on first use, then cached (clones share the
    /// cache). A failure is not cached, so the next call tries again.
    ///
    /// With [`crate::ClientConfigBuilder::fallback_to_metadata`], a well-known document that
    /// is missing or unusable is replaced by the endpoints of the CapabilityStatement.
    ///
    /// Errors: [`ClientError::Discovery`] (URL, status, what was wrong),
    /// [`ClientError::Network`], [`ClientError::RedirectBlocked`] or
    /// [`ClientError::ResponseTooLarge`].
    pub fn discover(&self) -> Flow<Arc<SmartConfiguration>> {
        Flow::new(self.discovery())
    }

    /// The token endpoint: configured, or discovered.
    ///
    /// Errors: discovery errors, or [`ClientError::NotAdvertised`].
    pub fn token_endpoint(&self) -> Flow<TokenUrl> {
        Flow::new(self.token_url())
    }

    /// The authorization endpoint: configured, or discovered.
    ///
    /// Errors: discovery errors, or [`ClientError::NotAdvertised`].
    pub fn authorization_endpoint(&self) -> Flow<AuthorizeUrl> {
        Flow::new(self.authorization_url())
    }

    /// The cached SMART configuration, if discovery has run.
    #[must_use]
    pub fn cached_configuration(&self) -> Option<Arc<SmartConfiguration>> {
        self.inner
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The configuration from the cache, or the flow that fetches and caches it.
    pub(crate) fn discovery(&self) -> Result<Next<Arc<SmartConfiguration>>, ClientError> {
        if let Some(configuration) = self.cached_configuration() {
            return Ok(Next::Done(configuration));
        }
        let config = &self.inner.config;
        let base = config.base_url.clone();
        let policy = config.policy;
        let fallback = config.fallback_to_metadata;
        let limit = self.limit();
        let flows = self.clone();
        let request = smart_discovery::request(&base)?;
        Ok(Next::fetch(
            Fetch::public_get(request, policy, limit),
            move |response| {
                let next = match smart_discovery::parse(&base, &response, policy) {
                    Ok(configuration) => Next::Done(configuration),
                    Err(error) if fallback => {
                        log::warn!(
                            "SMART discovery failed for `{}` ({error}); trying the CapabilityStatement",
                            display_url(smart_discovery::well_known_url(&base).as_str())
                        );
                        metadata_fallback(base, policy, limit)?
                    }
                    Err(error) => {
                        // Returned to the caller, who decides how loud to be: debug only here.
                        log::debug!(
                            "SMART discovery failed for `{}`: {error}",
                            display_url(smart_discovery::well_known_url(&base).as_str())
                        );
                        return Err(error.into());
                    }
                };
                next.map(move |configuration| Ok(flows.store(configuration)))
            },
        ))
    }

    fn store(&self, configuration: SmartConfiguration) -> Arc<SmartConfiguration> {
        warn_if_loopback(&configuration);
        let configuration = Arc::new(configuration);
        *self
            .inner
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&configuration));
        configuration
    }

    pub(crate) fn token_url(&self) -> Result<Next<TokenUrl>, ClientError> {
        if let Some(url) = &self.inner.config.token_endpoint {
            return Ok(Next::Done(url.clone()));
        }
        self.discovery()?.map(|configuration| {
            configuration
                .token_endpoint()
                .cloned()
                .ok_or(ClientError::NotAdvertised {
                    endpoint: "token_endpoint",
                })
        })
    }

    pub(crate) fn authorization_url(&self) -> Result<Next<AuthorizeUrl>, ClientError> {
        if let Some(url) = &self.inner.config.authorization_endpoint {
            return Ok(Next::Done(url.clone()));
        }
        self.discovery()?.map(|configuration| {
            configuration
                .authorization_endpoint()
                .cloned()
                .ok_or(ClientError::NotAdvertised {
                    endpoint: "authorization_endpoint",
                })
        })
    }

    /// An endpoint only discovery can name (introspection, revocation, registration).
    pub(crate) fn discovered_endpoint(
        &self,
        name: &'static str,
        get: fn(&SmartConfiguration) -> Option<&EndpointUrl>,
    ) -> Result<Next<EndpointUrl>, ClientError> {
        self.discovery()?.map(move |configuration| {
            get(&configuration)
                .cloned()
                .ok_or(ClientError::NotAdvertised { endpoint: name })
        })
    }
}

/// The CapabilityStatement's endpoints in place of the well-known document.
fn metadata_fallback(
    base: FhirBaseUrl,
    policy: TransportPolicy,
    limit: u64,
) -> Result<Next<SmartConfiguration>, ClientError> {
    let request = capability_statement::request(&base)?;
    Ok(Next::fetch(
        Fetch::public_get(request, policy, limit),
        move |response| {
            let uris = capability_statement::parse(&base, &response, policy)?;
            Ok(Next::Done(uris.into_smart_configuration()))
        },
    ))
}

/// Warns once when a discovered endpoint is a loopback `http://` URL (which the policy let
/// through only because of `allow_insecure_localhost`), as configured ones do.
fn warn_if_loopback(configuration: &SmartConfiguration) {
    let urls = [
        configuration
            .authorization_endpoint()
            .map(AuthorizeUrl::url),
        configuration.token_endpoint().map(TokenUrl::url),
        configuration.registration_endpoint().map(EndpointUrl::url),
        configuration.introspection_endpoint().map(EndpointUrl::url),
        configuration.revocation_endpoint().map(EndpointUrl::url),
        configuration.management_endpoint().map(EndpointUrl::url),
        configuration.jwks_uri().map(smart_core::JwksUrl::url),
    ];
    if urls.iter().flatten().any(|url| url.scheme() == "http") {
        crate::config::warn_insecure_loopback();
    }
}
