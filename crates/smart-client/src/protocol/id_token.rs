//! `id_token` verification (OpenID Connect Core §3.1.3.7): the issuer's OpenID configuration
//! and keys, cached, fetched again once for an unknown `kid`.

use std::sync::{Arc, PoisonError};

use http::header::ACCEPT;
use smart_core::{IssuerUrl, display_url};
use smart_discovery::openid::OpenIdConfiguration;
use smart_jwt_assertion::JwkSet;

use super::SmartFlows;
use crate::config::ConfigError;
use crate::error::ClientError;
use crate::flow::{Fetch, Flow, Next};
use crate::id_token::{
    IdTokenClaims, IdTokenProblem, allowed_algorithms, check_claims, parse_keys,
};

/// The issuer's OpenID configuration and its keys, cached for `id_token` verification.
pub(super) struct Identity {
    issuer: IssuerUrl,
    configuration: OpenIdConfiguration,
    keys: JwkSet,
}

/// Why a refreshed `id_token`'s verified claims do not continue the original sign-in
/// (OpenID Connect Core §12.2), or `None`. Names claims, never their values.
fn not_continuing(original: &IdTokenClaims, refreshed: &IdTokenClaims) -> Option<&'static str> {
    use serde_json::{Map, Value};
    let (before, after) = (original.claims(), refreshed.claims());
    if before.get("iss") != after.get("iss") {
        return Some("its iss is not the original id_token's (OpenID Connect Core 12.2)");
    }
    if before.get("sub") != after.get("sub") {
        return Some(
            "its sub is not the original id_token's: another user (OpenID Connect Core 12.2)",
        );
    }
    // `aud` may be a string or a list: the same audiences, in either form.
    let audiences = |claims: &Map<String, Value>| {
        let mut all: Vec<String> = match claims.get("aud") {
            Some(Value::Array(items)) => items.iter().map(ToString::to_string).collect(),
            Some(aud) => vec![aud.to_string()],
            None => Vec::new(),
        };
        all.sort_unstable();
        all.dedup();
        all
    };
    if audiences(before) != audiences(after) {
        return Some("its aud is not the original id_token's (OpenID Connect Core 12.2)");
    }
    match after.get("nonce") {
        Some(nonce) if before.get("nonce") != Some(nonce) => Some(
            "its nonce is not the original id_token's (OpenID Connect Core 12.2: absent, or the same)",
        ),
        _ => None,
    }
}

/// What an `id_token` is checked against.
struct Check {
    id_token: smart_token::IdToken,
    client_id: smart_core::ClientId,
    nonce: Option<String>,
    clock: Arc<dyn smart_core::Clock>,
}

impl Check {
    fn signature(
        &self,
        identity: &Identity,
    ) -> Result<smart_jwt_assertion::VerifiedJws, smart_jwt_assertion::Error> {
        let allowed = allowed_algorithms(
            identity
                .configuration
                .id_token_signing_alg_values_supported(),
        );
        smart_jwt_assertion::verify_compact(self.id_token.expose_secret(), &identity.keys, &allowed)
    }

    fn claims(
        &self,
        identity: &Identity,
        verified: Result<smart_jwt_assertion::VerifiedJws, smart_jwt_assertion::Error>,
    ) -> Result<IdTokenClaims, ClientError> {
        let verified = verified
            .map_err(|error| ClientError::IdToken(IdTokenProblem::Signature(error.to_string())))?;
        let (_, claims) = verified.into_parts();
        check_claims(
            claims,
            &identity.issuer,
            self.client_id.as_str(),
            self.nonce.as_deref(),
            self.clock.now(),
        )
        .map_err(ClientError::IdToken)
    }
}

impl SmartFlows {
    /// The token answer once its `id_token`, if any, is verified (with `nonce` when the
    /// authorization request sent one): what the code exchange and refresh end with, unless
    /// the configuration accepts unverified `id_token`s.
    pub(super) fn checked_id_token(
        &self,
        token: smart_token::TokenResponse,
        nonce: Option<&str>,
    ) -> Result<Next<smart_token::TokenResponse>, ClientError> {
        let Some(id_token) = token.id_token().cloned() else {
            return Ok(Next::Done(token));
        };
        if self.inner.config.unverified_id_tokens {
            log::warn!(
                "the id_token is NOT verified (accept_unverified_id_tokens_insecure): do not trust its claims"
            );
            return Ok(Next::Done(token));
        }
        self.verification(&id_token, nonce)?
            .map(move |_claims| Ok(token))
    }

    /// Verifies an `id_token` as SMART requires: the issuer is the server's SMART `issuer`
    /// (exact string), its OpenID configuration and JWK Set are fetched and cached (the keys
    /// are fetched again once when the token names an unknown `kid`, so key rotation works),
    /// the signature must verify with an advertised algorithm (RS256 by default, RS384 and
    /// ES384 too), `aud` must name this client, `exp` and `iat` must fit the clock (60 s of
    /// skew), and the nonce must come back when one was sent.
    ///
    /// Errors: [`ClientError::IdToken`] saying what is wrong; discovery and transport errors.
    pub fn verify_id_token(
        &self,
        id_token: &smart_token::IdToken,
        expected_nonce: Option<&str>,
    ) -> Flow<IdTokenClaims> {
        Flow::new(self.verification(id_token, expected_nonce))
    }

    fn verification(
        &self,
        id_token: &smart_token::IdToken,
        expected_nonce: Option<&str>,
    ) -> Result<Next<IdTokenClaims>, ClientError> {
        let check = self.check_for(id_token, expected_nonce)?;
        self.verification_outcome(check, id_token)?
            .map(|outcome| outcome)
    }

    /// The verification, its verdict as the flow's value: `Err` inside for a token that does
    /// not verify, outside (the flow's error) when the issuer's configuration or keys cannot
    /// be had.
    fn verification_outcome(
        &self,
        check: Check,
        id_token: &smart_token::IdToken,
    ) -> Result<Next<Result<IdTokenClaims, ClientError>>, ClientError> {
        let flows = self.clone();
        let claimed = claimed_issuer(id_token);
        self.identity(false, claimed.clone())?
            .and_then(move |identity| {
                match check.signature(&identity) {
                    Err(smart_jwt_assertion::Error::NoMatchingKey { .. }) => {
                        // An unknown `kid`: the keys may have rotated. Fetch them once more.
                        flows.identity(true, claimed)?.map(move |identity| {
                            let verified = check.signature(&identity);
                            Ok(check.claims(&identity, verified))
                        })
                    }
                    verified => Ok(Next::Done(check.claims(&identity, verified))),
                }
            })
    }

    /// A refresh answer once its `id_token`, if any, is checked. A refresh has already
    /// renewed the grant (and may have rotated the refresh token, which must not be lost), so
    /// an `id_token` that does not verify is removed from the answer and reported
    /// ([`smart_token::Deviation::IdTokenRefused`]) rather than failing the refresh: the app
    /// never sees an unverified `id_token`, and keeps its tokens.
    pub(super) fn checked_refreshed_id_token(
        &self,
        mut token: smart_token::TokenResponse,
        original: Option<IdTokenClaims>,
    ) -> Result<Next<smart_token::TokenResponse>, ClientError> {
        let Some(id_token) = token.id_token().cloned() else {
            return Ok(Next::Done(token));
        };
        if self.inner.config.unverified_id_tokens {
            return self.checked_id_token(token, None);
        }
        let check = match self.check_for(&id_token, None) {
            Ok(check) => check,
            Err(error) => {
                token.refuse_id_token(error.to_string());
                return Ok(Next::Done(token));
            }
        };
        self.verification_outcome(check, &id_token)?
            .map(move |outcome| {
                let refused = match outcome {
                    Err(error) => Some(error.to_string()),
                    Ok(claims) => original
                        .as_ref()
                        .and_then(|original| not_continuing(original, &claims))
                        .map(str::to_owned),
                };
                if let Some(reason) = refused {
                    log::warn!("the refreshed id_token was removed from the answer: {reason}");
                    token.refuse_id_token(reason);
                }
                Ok(token)
            })
    }

    /// As [`SmartFlows::refresh`] for a user signed in with OpenID Connect, whose verified
    /// `id_token` claims from the code exchange are `original`: a refreshed `id_token` must
    /// also keep their `iss`, `sub` and `aud`, and carry no `nonce` or the original one
    /// (OpenID Connect Core §12.2). One that does not is removed from the answer and reported
    /// as [`smart_token::Deviation::IdTokenRefused`], like one that fails verification; the
    /// refreshed tokens are kept either way.
    ///
    /// Errors: as [`SmartFlows::refresh`].
    pub fn refresh_signed_in(
        &self,
        refresh_token: &smart_token::RefreshToken,
        narrower_scope: Option<&smart_token::scope::ScopeSet>,
        original: &IdTokenClaims,
    ) -> Flow<smart_token::TokenResponse> {
        let original = original.clone();
        Flow::new(
            self.refresh_flow(refresh_token, narrower_scope, move |flows, token| {
                flows.checked_refreshed_id_token(token, Some(original))
            }),
        )
    }

    /// What `id_token` is checked against.
    fn check_for(
        &self,
        id_token: &smart_token::IdToken,
        expected_nonce: Option<&str>,
    ) -> Result<Check, ClientError> {
        let client_id =
            self.inner
                .config
                .client_id
                .clone()
                .ok_or_else(|| ConfigError::Missing {
                    fields: vec!["client_id"],
                    operation: "verify an id_token",
                })?;
        Ok(Check {
            id_token: id_token.clone(),
            client_id,
            nonce: expected_nonce.map(str::to_owned),
            clock: Arc::clone(&self.inner.clock),
        })
    }

    /// The issuer's OpenID configuration and keys, from the cache unless `refresh`. The
    /// issuer is the SMART configuration's; when it names none, the one the `id_token` claims
    /// (`claimed`), whose OpenID configuration must then name the same issuer (checked by
    /// `openid::parse`) and whose keys must verify the token.
    fn identity(
        &self,
        refresh: bool,
        claimed: Option<IssuerUrl>,
    ) -> Result<Next<Arc<Identity>>, ClientError> {
        if !refresh
            && let Some(identity) = self
                .inner
                .identity
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
        {
            return Ok(Next::Done(Arc::clone(identity)));
        }
        let policy = self.inner.config.policy;
        let limit = self.limit();
        let flows = self.clone();
        self.discovery()?.and_then(move |configuration| {
            let issuer = configuration
                .issuer()
                .cloned()
                .or(claimed)
                .ok_or(ClientError::IdToken(IdTokenProblem::NoIssuer))?;
            let request = smart_discovery::openid::request(&issuer)?;
            Ok(Next::fetch(
                Fetch::public_get(request, policy, limit),
                move |response| {
                    let openid = smart_discovery::openid::parse(&issuer, &response, policy)?;
                    let jwks_uri = openid.jwks_uri().clone();
                    let request = http::Request::get(jwks_uri.url().as_str())
                        .header(ACCEPT, "application/jwk-set+json, application/json")
                        .body(Vec::new())
                        .map_err(|_| {
                            ClientError::IdToken(IdTokenProblem::Keys(
                                "the jwks_uri cannot be requested".to_owned(),
                            ))
                        })?;
                    Ok(Next::fetch(
                        Fetch::public_get(request, policy, limit),
                        move |response| {
                            if !response.status().is_success() {
                                return Err(ClientError::IdToken(IdTokenProblem::Keys(format!(
                                    "GET {} answered HTTP {}",
                                    display_url(jwks_uri.as_str()),
                                    response.status().as_u16()
                                ))));
                            }
                            let keys = parse_keys(response.body()).map_err(ClientError::IdToken)?;
                            let identity = Arc::new(Identity {
                                issuer,
                                configuration: openid,
                                keys,
                            });
                            *flows
                                .inner
                                .identity
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner) =
                                Some(Arc::clone(&identity));
                            Ok(Next::Done(identity))
                        },
                    ))
                },
            ))
        })
    }
}

/// The `iss` an `id_token` claims, read without verification: only to find the issuer when
/// the SMART configuration names none. Its OpenID configuration and keys decide the rest.
fn claimed_issuer(id_token: &smart_token::IdToken) -> Option<IssuerUrl> {
    let (_, claims) = smart_jwt_assertion::decode_unverified(id_token.expose_secret()).ok()?;
    let iss = claims.get("iss")?.as_str()?;
    IssuerUrl::parse(iss).ok()
}
