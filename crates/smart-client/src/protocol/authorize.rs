//! The authorization request ([app-launch.html#obtain-authorization-code](https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#obtain-authorization-code)),
//! the callback, and the code exchange.

use std::sync::{Arc, PoisonError};

use smart_core::url::Url;

use smart_core::{ClientId, RedirectUri, display_url, unix_seconds};
use smart_discovery::SmartConfiguration;
use smart_pkce::{MAX_VERIFIER_LEN, PkceVerifier, STATE_LEN, State};
use smart_token::scope::{Scope, ScopeSet};
use smart_token::{AuthorizationCode, TokenRequest, TokenResponse};

use super::SmartFlows;
use crate::authorize::{
    AuthorizationRequest, AuthorizeMethod, AuthorizeOptions, Callback, PendingAuthorization,
};
use crate::config::ConfigError;
use crate::error::ClientError;
use crate::flow::{Flow, Next};

/// The random bytes of one authorization request: a state and a nonce (`STATE_LEN / 2` bytes
/// each) and the longest verifier (`MAX_VERIFIER_LEN * 3 / 4`).
type RandomBatch = smart_core::OsRandomBatch<{ STATE_LEN + MAX_VERIFIER_LEN * 3 / 4 }>;

impl SmartFlows {
    /// The authorization request: a fresh `state` and PKCE verifier, `aud` = the issuer, and
    /// the [`PendingAuthorization`] the callback needs. Discovers the authorization endpoint
    /// unless it is configured.
    ///
    /// The configuration is checked before anything goes on the network: a missing
    /// `client_id`, `redirect_uri` or scope is reported at once, all together
    /// ([`ClientError::Config`]).
    pub fn authorize(&self, options: AuthorizeOptions) -> Flow<AuthorizationRequest> {
        Flow::new(self.authorization_request(options))
    }

    fn authorization_request(
        &self,
        options: AuthorizeOptions,
    ) -> Result<Next<AuthorizationRequest>, ClientError> {
        let config = &self.inner.config;
        if let Some(iss) = &options.launch_iss
            && iss != config.issuer.as_str()
        {
            return Err(ClientError::LaunchIssuer {
                iss: smart_core::display_text(iss, 256),
                issuer: config.issuer.as_str().to_owned(),
                hint: crate::error::issuer_difference(iss, config.issuer.as_str()),
            });
        }
        // Whether the `scope` parameter is the configured one (its text is made once, with
        // the flows, and sits in the URL template).
        let mut configured_scope = options.scopes.is_none();
        let mut scopes = options
            .scopes
            .clone()
            .or_else(|| config.scopes.clone())
            .filter(|s| !s.is_empty());
        if let Some(scopes) = &mut scopes {
            // An EHR launch needs the `launch` scope to receive its context (SHALL).
            if options.launch.is_some() && !scopes.contains(&Scope::Launch) {
                scopes.insert(Scope::Launch);
                configured_scope = false;
            }
            if scopes.contains(&Scope::OpenId)
                && !cfg!(feature = "openid")
                && !config.unverified_id_tokens
            {
                return Err(ConfigError::OpenIdWithoutVerification.into());
            }
        }
        let mut missing = Vec::new();
        if config.client_id.is_none() {
            missing.push("client_id");
        }
        if config.redirect_uri.is_none() {
            missing.push("redirect_uri");
        }
        if scopes.is_none() {
            missing.push("scopes");
        }
        let (Some(client_id), Some(redirect_uri), Some(scope)) = (
            config.client_id.clone(),
            config.redirect_uri.clone(),
            scopes,
        ) else {
            return Err(ConfigError::Missing {
                fields: missing,
                operation: "build an authorization request",
            }
            .into());
        };
        let flows = self.clone();
        self.authorization_url()?.map(move |endpoint| {
            let parts = Parts {
                client_id,
                redirect_uri,
                scope,
                configured_scope,
            };
            flows.build_request(&endpoint, parts, options)
        })
    }

    fn build_request(
        &self,
        endpoint: &smart_core::AuthorizeUrl,
        parts: Parts,
        options: AuthorizeOptions,
    ) -> Result<AuthorizationRequest, ClientError> {
        let config = &self.inner.config;
        let discovered: Option<Arc<SmartConfiguration>> = self.cached_configuration();
        if options.method == AuthorizeMethod::Post
            && discovered
                .as_ref()
                .is_some_and(|c| !c.supports_post_based_authorization())
        {
            log::warn!(
                "the server does not advertise authorize-post; sending a POST authorization request anyway"
            );
        }
        log::info!(
            "Generating authorization URL for SMART {} (method: {:?})...",
            self.inner.client_type,
            options.method
        );
        // One OS randomness call for the state, the verifier and a nonce (the most they use).
        let mut random = RandomBatch::draw().map_err(smart_pkce::Error::from)?;
        let state = State::generate_with_rng(&mut random)?;
        let verifier = PkceVerifier::generate_with_rng(&mut random, MAX_VERIFIER_LEN)?;
        let mut options = options;
        let given = options
            .params
            .iter()
            .find(|(name, _)| name == "nonce")
            .map(|(_, value)| value.clone());
        // With `openid`, a nonce binds the id_token to this request: the caller's, or a
        // fresh one from the CSPRNG (128 bits), kept in the pending authorization.
        let nonce = match given {
            Some(nonce) => Some(nonce),
            None if parts.scope.contains(&Scope::OpenId) => {
                let nonce = State::generate_with_rng(&mut random)?
                    .expose_secret()
                    .to_owned();
                options.params.push(("nonce".to_owned(), nonce.clone()));
                Some(nonce)
            }
            None => None,
        };
        let challenge = verifier.challenge();
        let values = RequestValues {
            state: &state,
            challenge: challenge.as_str(),
            launch: options.launch.as_deref(),
            extra: &options.params,
        };
        let (url, form) = self.url_and_form(options.method, endpoint, &parts, &values);
        let Parts {
            client_id,
            redirect_uri,
            scope,
            configured_scope: _,
        } = parts;
        let pending = PendingAuthorization {
            state,
            verifier,
            client_id,
            redirect_uri,
            aud: config.issuer.clone(),
            token_endpoint: config.token_endpoint.clone().or_else(|| {
                discovered
                    .as_ref()
                    .and_then(|c| c.token_endpoint().cloned())
            }),
            issuer: discovered
                .as_ref()
                .and_then(|c| c.issuer().map(|i| i.as_str().to_owned())),
            scope,
            nonce,
            launch: options.launch,
            issued_at: unix_seconds(self.inner.clock.now()),
        };
        Ok(AuthorizationRequest {
            method: options.method,
            url,
            form,
            pending: Box::new(pending),
        })
    }

    /// The GET authorization URL's part that is the same for every request of this client
    /// at `endpoint` (the endpoint's own query, kept: safire drops it, then the
    /// [`SmartFlows::fixed_params`], and the configured `scope` when `parts` uses it), made
    /// once and cloned after.
    fn url_template(&self, endpoint: &smart_core::AuthorizeUrl, parts: &Parts) -> Url {
        let scope = self
            .inner
            .scope_text
            .as_deref()
            .filter(|_| parts.configured_scope);
        let mut cached = self
            .inner
            .authorize_template
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(template) = cached.as_ref()
            && template.endpoint == endpoint.url().as_str()
            && template.with_scope == scope.is_some()
        {
            return template.url.clone();
        }
        let mut url = endpoint.url().clone();
        {
            let mut query = url.query_pairs_mut();
            self.fixed_params(parts, |name, value| {
                query.append_pair(name, value);
            });
            if let Some(scope) = scope {
                query.append_pair("scope", scope);
            }
        }
        *cached = Some(UrlTemplate {
            endpoint: endpoint.url().as_str().to_owned(),
            with_scope: scope.is_some(),
            url: url.clone(),
        });
        url
    }

    /// The parameters every authorization request of this client carries alike: the
    /// configured `client_id`, `redirect_uri` and issuer (`aud`).
    fn fixed_params(&self, parts: &Parts, mut add: impl FnMut(&str, &str)) {
        add("response_type", "code");
        add("client_id", parts.client_id.as_str());
        add("redirect_uri", parts.redirect_uri.as_str());
        add("aud", self.inner.config.issuer.as_str());
        add("code_challenge_method", smart_pkce::CHALLENGE_METHOD);
    }

    /// The request's URL and, for POST, its form: for GET the template with this request's
    /// parameters appended; for POST the endpoint and every parameter in the same order.
    fn url_and_form(
        &self,
        method: AuthorizeMethod,
        endpoint: &smart_core::AuthorizeUrl,
        parts: &Parts,
        values: &RequestValues<'_>,
    ) -> (Url, Vec<(String, String)>) {
        match method {
            AuthorizeMethod::Get => {
                let mut url = self.url_template(endpoint, parts);
                let mut query = url.query_pairs_mut();
                self.request_params(parts, true, values, |name, value| {
                    query.append_pair(name, value);
                });
                drop(query);
                (url, Vec::new())
            }
            AuthorizeMethod::Post => {
                let mut form = Vec::new();
                let mut add =
                    |name: &str, value: &str| form.push((name.to_owned(), value.to_owned()));
                self.fixed_params(parts, &mut add);
                self.request_params(parts, false, values, add);
                (endpoint.url().clone(), form)
            }
        }
    }

    /// The parameters of this request: `scope` (unless the configured one is `in_template`
    /// already), `launch`, `state`, the PKCE challenge, then the caller's extra ones.
    fn request_params(
        &self,
        parts: &Parts,
        in_template: bool,
        values: &RequestValues<'_>,
        mut add: impl FnMut(&str, &str),
    ) {
        match self.inner.scope_text.as_deref() {
            Some(text) if parts.configured_scope => {
                if !in_template {
                    add("scope", text);
                }
            }
            _ => add("scope", &parts.scope.to_string()),
        }
        if let Some(launch) = values.launch {
            add("launch", launch);
        }
        add("state", values.state.expose_secret());
        add("code_challenge", values.challenge);
        for (name, value) in values.extra {
            add(name, value);
        }
    }

    /// Finishes an authorization: reads the callback (the full redirect URL, the request
    /// target a web server received such as `/callback?code=...`, or just the query), checks
    /// it with [`Callback::into_code`], and exchanges the code
    /// ([`SmartFlows::exchange_code`]).
    pub fn complete_authorization(
        &self,
        callback: &str,
        pending: &PendingAuthorization,
    ) -> Flow<TokenResponse> {
        let code = Callback::parse(callback).and_then(|callback| callback.into_code(pending));
        match code {
            Ok(code) => self.exchange_code(&code, pending),
            Err(error) => Flow::new(Err(error)),
        }
    }

    /// Exchanges an authorization code for tokens, with the `redirect_uri` and PKCE verifier
    /// of `pending`, authenticated as the client type says.
    ///
    /// The code goes only to this client's own token endpoint (configured, or discovered):
    /// a `pending` restored from a session store that names another one is refused with
    /// [`ClientError::PendingTokenEndpoint`] before anything is sent. Other errors:
    /// [`ClientError::Config`] without a `client_id`, [`ClientError::Token`] for the server's
    /// OAuth error or an unusable answer, and transport errors.
    pub fn exchange_code(
        &self,
        code: &AuthorizationCode,
        pending: &PendingAuthorization,
    ) -> Flow<TokenResponse> {
        Flow::new(self.code_exchange(code, pending))
    }

    fn code_exchange(
        &self,
        code: &AuthorizationCode,
        pending: &PendingAuthorization,
    ) -> Result<Next<TokenResponse>, ClientError> {
        let config = &self.inner.config;
        if config
            .client_id
            .as_ref()
            .is_some_and(|id| id != &pending.client_id)
        {
            return Err(ClientError::Callback {
                reason: "the pending authorization was made for another client_id",
            });
        }
        let auth = self.auth()?.clone();
        let policy = config.policy;
        let stored = pending.token_endpoint.clone();
        let requested = pending.scope.clone();
        let nonce = pending.nonce.clone();
        let grant =
            TokenRequest::authorization_code(code, &pending.redirect_uri, &pending.verifier);
        let flows = self.clone();
        // A pending authorization comes back from a session store, where it may have been
        // tampered with: the code, the verifier and the credentials only ever go to this
        // client's own token endpoint (configured, or discovered now if not yet cached).
        self.token_url()?.and_then(move |token_url| {
            if let Some(stored) = &stored {
                stored
                    .check_transport(policy)
                    .map_err(|error| ConfigError::Urls(vec![error]))?;
                if stored.as_str() != token_url.as_str() {
                    return Err(ClientError::PendingTokenEndpoint {
                        stored: display_url(stored.as_str()),
                        expected: display_url(token_url.as_str()),
                    });
                }
            }
            log::info!("Requesting access token using authorization code...");
            flows.check_assertion_algorithm(&auth)?;
            let request = grant.build(&token_url, &auth)?;
            flows.token_call(request).and_then(move |mut token| {
                token.compare_scope(&requested);
                flows.checked_id_token(token, nonce.as_deref())
            })
        })
    }
}

/// What one authorization request adds to the fixed parameters.
struct RequestValues<'a> {
    state: &'a State,
    challenge: &'a str,
    launch: Option<&'a str>,
    extra: &'a [(String, String)],
}

/// A GET authorization URL's fixed part, and what it was made for.
pub(super) struct UrlTemplate {
    endpoint: String,
    with_scope: bool,
    url: Url,
}

/// The three settings every authorization request needs.
struct Parts {
    client_id: ClientId,
    redirect_uri: RedirectUri,
    scope: ScopeSet,
    /// Whether `scope` is the configuration's, unchanged.
    configured_scope: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientConfig;
    use crate::protocol::ClientType;

    #[test]
    fn the_url_template_follows_the_endpoint() {
        let config = ClientConfig::builder("https://ehr.example/fhir")
            .client_id("app")
            .redirect_uri("https://app.example/cb")
            .scopes("launch/patient openid")
            .build()
            .unwrap();
        let flows = SmartFlows::new(config.clone(), ClientType::Public).unwrap();
        let parts = || Parts {
            client_id: config.client_id.clone().unwrap(),
            redirect_uri: config.redirect_uri.clone().unwrap(),
            scope: config.scopes.clone().unwrap(),
            configured_scope: true,
        };
        let first = smart_core::AuthorizeUrl::parse("https://ehr.example/a?x=1").unwrap();
        let second = smart_core::AuthorizeUrl::parse("https://other.example/b").unwrap();
        let expected = "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&aud=https%3A%2F%2Fehr.example%2Ffhir&code_challenge_method=S256&scope=launch%2Fpatient+openid";
        let a = flows.url_template(&first, &parts());
        assert_eq!(a.as_str(), format!("https://ehr.example/a?x=1&{expected}"));
        assert_eq!(flows.url_template(&first, &parts()), a, "cached");
        let b = flows.url_template(&second, &parts());
        assert_eq!(b.as_str(), format!("https://other.example/b?{expected}"));
        assert_eq!(flows.url_template(&first, &parts()), a, "made again");
        let mut other_scope = parts();
        other_scope.configured_scope = false;
        let without = flows.url_template(&first, &other_scope);
        assert_eq!(
            without.as_str(),
            a.as_str().replace("&scope=launch%2Fpatient+openid", ""),
            "a request with other scopes gets a template without them"
        );
    }
}
