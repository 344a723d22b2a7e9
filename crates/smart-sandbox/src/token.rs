//! `POST /token`, `POST /introspect` and `POST /revoke`.

use http::{Method, Request, StatusCode};
use serde_json::{Map, Value, json};
use smart_jwt_assertion::sign_compact;
use smart_token::ErrorCode;
use smart_token::scope::{Scope, ScopeSet};

use crate::client_auth::authenticate;
use crate::config::{ClientKind, GrantType, RegisteredClient};
use crate::demo::ID_TOKEN_KID;
use crate::http_util::shown;
use crate::http_util::{
    HttpResponse, OAuthFailure, Params, authorization, form_body, json_no_store, method_not_allowed,
};
use crate::store::{
    AccessEntry, Grant, ID_TOKEN_LIFETIME, OFFLINE_REFRESH_LIFETIME, ONLINE_REFRESH_LIFETIME,
    RefreshEntry, Shared, State, key_of, random_token,
};

/// A form POST to an endpoint that authenticates clients: method, form, then the handler.
fn post_form(
    request: &Request<Vec<u8>>,
    handler: impl FnOnce(&Params) -> Result<HttpResponse, OAuthFailure>,
) -> HttpResponse {
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    form_body(request)
        .and_then(|params| handler(&params))
        .unwrap_or_else(OAuthFailure::into_response)
}

/// `POST /token`.
pub(crate) fn token(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    post_form(request, |params| {
        let client = match public_refresh_client(shared, request.headers(), params) {
            Some(client) => client?,
            None => authenticate(shared, request.headers(), params)?,
        };
        grant(shared, &client, params)
    })
}

/// The client of a refresh request that carries no client authentication and no
/// `client_id`: RFC 6749 §6 asks authentication of confidential clients only, so a public
/// client may refresh with the refresh token alone, which names its client. `None` when the
/// request is not such a request (it then authenticates as usual).
fn public_refresh_client(
    shared: &Shared,
    headers: &http::HeaderMap,
    params: &Params,
) -> Option<Result<RegisteredClient, OAuthFailure>> {
    let bare = params.get("grant_type") == Some("refresh_token")
        && [
            "client_id",
            "client_secret",
            "client_assertion",
            "client_assertion_type",
        ]
        .iter()
        .all(|name| params.get(name).is_none())
        && !headers.contains_key(http::header::AUTHORIZATION);
    if !bare {
        return None;
    }
    let token = params.get("refresh_token")?;
    let state = shared.state();
    let owner = state
        .refresh
        .get(&key_of(token))
        .and_then(|entry| state.clients.get(&entry.grant.client_id))
        .cloned();
    drop(state);
    Some(match owner {
        Some(client) if matches!(client.kind(), ClientKind::Public) => Ok(client),
        Some(client) => Err(OAuthFailure::invalid_client(
            format!(
                "the refresh token belongs to the confidential client `{}`: authenticate as that client",
                shown(client.client_id())
            ),
            false,
        )),
        None => Err(OAuthFailure::invalid_grant(
            "unknown, expired or revoked refresh token (sent without client authentication, as a public client may)",
        )),
    })
}

/// The grant of a token request from an authenticated client (also used by the UDAP token
/// endpoint, which authenticates differently).
pub(crate) fn grant(
    shared: &Shared,
    client: &RegisteredClient,
    params: &Params,
) -> Result<HttpResponse, OAuthFailure> {
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthFailure::invalid_request("grant_type is missing"))?;
    let Some(grant) = GrantType::parse(grant_type) else {
        return Err(OAuthFailure::new(
            ErrorCode::UnsupportedGrantType,
            format!(
                "grant_type `{}` is not supported; use authorization_code, refresh_token or client_credentials",
                shown(grant_type)
            ),
        ));
    };
    if !client.allows(grant) {
        return Err(OAuthFailure::new(
            ErrorCode::UnauthorizedClient,
            format!("this client is not registered for the {grant} grant"),
        ));
    }
    let body = match grant {
        GrantType::AuthorizationCode => authorization_code(shared, client, params),
        GrantType::RefreshToken => refresh(shared, client, params),
        GrantType::ClientCredentials => client_credentials(shared, client, params),
    };
    let refused = body.as_ref().err().map(|failure| failure.code.as_str());
    shared
        .token_counters
        .record(client.client_id(), grant, refused);
    Ok(json_no_store(StatusCode::OK, &Value::Object(body?)))
}

fn authorization_code(
    shared: &Shared,
    client: &RegisteredClient,
    params: &Params,
) -> Result<Map<String, Value>, OAuthFailure> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthFailure::invalid_request("code is missing"))?;
    let now = shared.now();
    let mut state = shared.state();
    state.purge(now);
    let Some(entry) = state.codes.get_mut(&key_of(code)) else {
        return Err(OAuthFailure::invalid_grant(
            "unknown or expired authorization code",
        ));
    };
    if entry.used {
        let family = entry.grant.family;
        state.revoke_family(family);
        return Err(OAuthFailure::invalid_grant(
            "the authorization code was already used; the tokens issued for it are revoked",
        ));
    }
    // One presentation only, whatever its outcome: a code cannot be tried twice.
    entry.used = true;
    if now >= entry.expires_at {
        return Err(OAuthFailure::invalid_grant(
            "the authorization code has expired (codes live 60 seconds)",
        ));
    }
    if entry.grant.client_id != client.client_id() {
        return Err(OAuthFailure::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    match params.get("redirect_uri") {
        Some(uri) if uri == entry.redirect_uri => {}
        Some(_) => {
            return Err(OAuthFailure::invalid_grant(
                "redirect_uri differs from the one in the authorization request",
            ));
        }
        None => {
            return Err(OAuthFailure::invalid_request(
                "redirect_uri is missing; send the one of the authorization request",
            ));
        }
    }
    let Some(verifier) = params.get("code_verifier") else {
        return Err(OAuthFailure::invalid_request(
            "code_verifier is missing (PKCE)",
        ));
    };
    if !entry.challenge.is_satisfied_by(verifier) {
        return Err(OAuthFailure::invalid_grant(
            "code_verifier does not match the code_challenge (S256)",
        ));
    }
    let grant = entry.grant.clone();
    let scope = grant.scope.clone();
    issue(shared, &mut state, client, &grant, &scope, now)
}

fn refresh(
    shared: &Shared,
    client: &RegisteredClient,
    params: &Params,
) -> Result<Map<String, Value>, OAuthFailure> {
    let token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthFailure::invalid_request("refresh_token is missing"))?;
    let narrower = params
        .get("scope")
        .map(ScopeSet::parse)
        .transpose()
        .map_err(|error| OAuthFailure::invalid_scope(error.to_string()))?;
    let now = shared.now();
    let mut state = shared.state();
    state.purge(now);
    let Some(entry) = state.refresh.get_mut(&key_of(token)) else {
        return Err(OAuthFailure::invalid_grant(
            "unknown, expired or revoked refresh token",
        ));
    };
    if entry.grant.client_id != client.client_id() {
        return Err(OAuthFailure::invalid_grant(format!(
            "the refresh token was issued to the client `{}`, not to `{}`",
            shown(&entry.grant.client_id),
            shown(client.client_id())
        )));
    }
    if entry.rotated {
        let family = entry.grant.family;
        state.revoke_family(family);
        return Err(OAuthFailure::invalid_grant(
            "the refresh token was already used (refresh tokens rotate); every token of this grant is now revoked",
        ));
    }
    let grant = entry.grant.clone();
    let scope = match narrower {
        Some(narrower) if !grant.scope.covers_all(&narrower) => {
            return Err(OAuthFailure::invalid_scope(
                "the scope of a refresh must be within the original grant",
            ));
        }
        Some(narrower) => narrower,
        None => grant.scope.clone(),
    };
    let rotate = shared.tokens.rotate_refresh_tokens;
    if rotate {
        entry.rotated = true;
    }
    let mut body = issue(shared, &mut state, client, &grant, &scope, now)?;
    if !rotate && let Some(Value::String(issued)) = body.remove("refresh_token") {
        // No rotation: the refresh token presented stays the grant's; forget the new one.
        state.refresh.remove(&key_of(&issued));
    }
    Ok(body)
}

fn client_credentials(
    shared: &Shared,
    client: &RegisteredClient,
    params: &Params,
) -> Result<Map<String, Value>, OAuthFailure> {
    if !matches!(client.kind(), ClientKind::BackendService { .. }) {
        return Err(OAuthFailure::new(
            ErrorCode::UnauthorizedClient,
            "client_credentials is for backend services",
        ));
    }
    let scope = params
        .get("scope")
        .ok_or_else(|| OAuthFailure::invalid_scope("scope is required for client_credentials"))?;
    let scope =
        ScopeSet::parse(scope).map_err(|error| OAuthFailure::invalid_scope(error.to_string()))?;
    client.check_registered(&scope)?;
    let now = shared.now();
    let mut state = shared.state();
    state.purge(now);
    let grant = Grant {
        client_id: client.client_id().to_owned(),
        scope: scope.clone(),
        context: crate::LaunchContext::new(),
        fhir_user: None,
        nonce: None,
        family: state.new_family(),
    };
    issue(shared, &mut state, client, &grant, &scope, now)
}

/// Issues an access token for `scope` (within `grant.scope`), a new refresh token when the
/// grant has `offline_access` or `online_access`, and an `id_token` when it has `openid`.
fn issue(
    shared: &Shared,
    state: &mut State,
    client: &RegisteredClient,
    grant: &Grant,
    scope: &ScopeSet,
    now: u64,
) -> Result<Map<String, Value>, OAuthFailure> {
    let backend = matches!(client.kind(), ClientKind::BackendService { .. });
    let lifetime = if backend {
        shared.tokens.backend_lifetime
    } else {
        shared.tokens.access_lifetime
    };
    let access_token = random_token()?;
    let mut body = Map::new();
    body.insert("access_token".into(), Value::from(access_token.as_str()));
    body.insert("token_type".into(), Value::from("Bearer"));
    body.insert("expires_in".into(), Value::from(lifetime));
    body.insert("scope".into(), Value::from(scope.to_string()));
    let mut token_grant = grant.clone();
    token_grant.scope = scope.clone();
    state.access.insert(
        key_of(&access_token),
        AccessEntry {
            grant: token_grant,
            issued_at: now,
            expires_at: now.saturating_add(lifetime),
        },
    );

    let refresh_lifetime = if grant.scope.contains(&Scope::OfflineAccess) {
        Some(OFFLINE_REFRESH_LIFETIME)
    } else if grant.scope.contains(&Scope::OnlineAccess) {
        Some(ONLINE_REFRESH_LIFETIME)
    } else {
        None
    };
    if let Some(refresh_lifetime) = refresh_lifetime
        && !backend
        && client.allows(GrantType::RefreshToken)
    {
        let refresh_token = random_token()?;
        body.insert("refresh_token".into(), Value::from(refresh_token.as_str()));
        state.refresh.insert(
            key_of(&refresh_token),
            RefreshEntry {
                grant: grant.clone(),
                issued_at: now,
                expires_at: now.saturating_add(refresh_lifetime),
                rotated: false,
            },
        );
    }
    if !backend && scope.contains(&Scope::OpenId) {
        body.insert(
            "id_token".into(),
            Value::from(id_token(shared, grant, scope, now)?),
        );
    }
    grant.context.write_to(&mut body);
    Ok(body)
}

/// An OpenID Connect `id_token`: RS256 with `kid`, for the grant's user.
fn id_token(
    shared: &Shared,
    grant: &Grant,
    scope: &ScopeSet,
    now: u64,
) -> Result<String, OAuthFailure> {
    let user = grant
        .fhir_user
        .as_deref()
        .ok_or_else(|| OAuthFailure::server_error("the grant has no user"))?;
    let user_url = format!("{}/{user}", shared.base);
    let mut header = Map::new();
    header.insert("typ".into(), Value::from("JWT"));
    header.insert("kid".into(), Value::from(ID_TOKEN_KID));
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::from(shared.base.as_str()));
    claims.insert("sub".into(), Value::from(user));
    claims.insert("aud".into(), Value::from(grant.client_id.as_str()));
    claims.insert("iat".into(), Value::from(now));
    claims.insert(
        "exp".into(),
        Value::from(now.saturating_add(ID_TOKEN_LIFETIME)),
    );
    if let Some(nonce) = &grant.nonce {
        claims.insert("nonce".into(), Value::from(nonce.as_str()));
    }
    if scope.contains(&Scope::FhirUser) {
        claims.insert("fhirUser".into(), Value::from(user_url.as_str()));
    }
    if scope.contains(&Scope::Profile) {
        claims.insert("profile".into(), Value::from(user_url.as_str()));
    }
    sign_compact(&header, &claims, &shared.id_token_signer)
        .map_err(|_| OAuthFailure::server_error("the id_token could not be signed"))
}

/// `POST /introspect` (RFC 7662, SMART token-introspection): authenticated by the client's
/// own method or by `Authorization: Bearer` with an active access token. A client learns
/// only about its own tokens; anything else is `{"active": false}`.
pub(crate) fn introspect(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    post_form(request, |params| {
        let caller = match authorization(request.headers(), "Bearer") {
            Some(bearer) => {
                let now = shared.now();
                shared
                    .state()
                    .active_access(bearer, now)
                    .map(|entry| entry.grant.client_id.clone())
                    .ok_or_else(|| {
                        OAuthFailure::invalid_token(
                            "the Bearer token is not an active access token",
                        )
                    })?
            }
            None => authenticate(shared, request.headers(), params)?
                .client_id()
                .to_owned(),
        };
        let token = params
            .get("token")
            .ok_or_else(|| OAuthFailure::invalid_request("token is missing"))?;
        let now = shared.now();
        let state = shared.state();
        let key = key_of(token);
        let answer = if let Some(entry) = state
            .active_access(token, now)
            .filter(|entry| entry.grant.client_id == caller)
        {
            let mut body = describe(shared, &entry.grant, entry.issued_at, entry.expires_at);
            body.insert("token_type".into(), Value::from("Bearer"));
            body
        } else if let Some(entry) = state.refresh.get(&key).filter(|entry| {
            !entry.rotated && entry.expires_at > now && entry.grant.client_id == caller
        }) {
            describe(shared, &entry.grant, entry.issued_at, entry.expires_at)
        } else {
            let mut inactive = Map::new();
            inactive.insert("active".into(), Value::Bool(false));
            inactive
        };
        drop(state);
        Ok(json_no_store(StatusCode::OK, &Value::Object(answer)))
    })
}

/// The introspection response of an active token.
fn describe(shared: &Shared, grant: &Grant, issued_at: u64, expires_at: u64) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("active".into(), Value::Bool(true));
    body.insert("scope".into(), Value::from(grant.scope.to_string()));
    body.insert("client_id".into(), Value::from(grant.client_id.as_str()));
    body.insert("iat".into(), Value::from(issued_at));
    body.insert("exp".into(), Value::from(expires_at));
    body.insert("iss".into(), Value::from(shared.base.as_str()));
    let sub = grant.fhir_user.as_deref().unwrap_or(&grant.client_id);
    body.insert("sub".into(), Value::from(sub));
    if let Some(user) = &grant.fhir_user
        && (grant.scope.contains(&Scope::FhirUser) || grant.scope.contains(&Scope::Profile))
    {
        body.insert(
            "fhirUser".into(),
            Value::from(format!("{}/{user}", shared.base)),
        );
    }
    grant.context.write_to(&mut body);
    body
}

/// `POST /revoke` (RFC 7009): client authentication, then the token is revoked if it is the
/// client's. Revoking a refresh token revokes its grant's access tokens too. Unknown tokens
/// are answered `200` all the same.
pub(crate) fn revoke(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    post_form(request, |params| {
        let client = authenticate(shared, request.headers(), params)?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthFailure::invalid_request("token is missing"))?;
        let key = key_of(token);
        let mut state = shared.state();
        if state
            .access
            .get(&key)
            .is_some_and(|entry| entry.grant.client_id == client.client_id())
        {
            state.access.remove(&key);
        }
        let family = state
            .refresh
            .get(&key)
            .filter(|entry| entry.grant.client_id == client.client_id())
            .map(|entry| entry.grant.family);
        if let Some(family) = family {
            state.revoke_family(family);
        }
        drop(state);
        Ok(json_no_store(StatusCode::OK, &json!({})))
    })
}
