//! The server and the clients registered there, and what every flow does with them: build a
//! client, run a code flow, describe a token.

use std::time::Duration;

use smart_client::jwt::PrivateKey;
use smart_client::token::{ClientSecret, ErrorCode, TokenError, TokenResponse};
use smart_client::{
    AuthorizeMethod, AuthorizeOptions, ClientConfig, ClientConfigBuilder, ClientError, ClientType,
    HttpOptions, SecretMethod, SmartClient,
};

use crate::browser::{Browser, redacted_callback};
use crate::transcript::Transcript;

/// A user-facing client registered at the server.
pub struct AppClient {
    /// The `client_id` the server knows the app by.
    pub client_id: String,
    /// The registered redirect URI (never contacted: the browser stops there).
    pub redirect_uri: String,
    /// The scopes asked for.
    pub scope: String,
    /// The client secret (confidential-symmetric clients).
    pub secret: Option<String>,
    /// How the secret is sent: the method the client registered.
    pub secret_method: SecretMethod,
    /// The private key (confidential-asymmetric clients).
    pub key: Option<PrivateKey>,
    /// The key id the server knows the key by.
    pub kid: Option<String>,
}

/// A backend service registered at the server.
pub struct BackendClient {
    /// The `client_id` the server knows the service by.
    pub client_id: String,
    /// The private key that signs its assertions.
    pub key: PrivateKey,
    /// The key id the server knows the key by.
    pub kid: Option<String>,
    /// The scopes asked for (the server's default when absent).
    pub scope: Option<String>,
}

/// The server and what the flows may use.
pub struct Profile<'a> {
    /// The FHIR base URL (the `iss`).
    pub fhir_base: String,
    /// Allow plain HTTP to loopback (a test server).
    pub allow_insecure_localhost: bool,
    /// The bound on each HTTP request.
    pub timeout: Duration,
    /// A public client.
    pub public: Option<AppClient>,
    /// A confidential client with a secret.
    pub symmetric: Option<AppClient>,
    /// A confidential client with a private key whose JWK Set is registered inline.
    pub asymmetric: Option<AppClient>,
    /// A confidential-asymmetric client whose JWK Set the server reads from a `jwks_uri`.
    pub asymmetric_jwks_uri: Option<AppClient>,
    /// The confidential-symmetric client of the EHR launch, when it differs from `symmetric`
    /// (a server whose client registration is the launch value).
    pub ehr_client: Option<AppClient>,
    /// A Backend Services client.
    pub backend: Option<BackendClient>,
    /// Makes an EHR launch value (the sandbox can; a real EHR launches the app itself, and
    /// [`crate::EhrLaunchRecipe`] says how to get one from it), or says why it cannot.
    pub ehr_launch: Option<Box<dyn Fn() -> Result<String, String> + 'a>>,
    /// Moves the server's clock forward (the sandbox can), for the expired-code check.
    pub advance_clock: Option<Box<dyn Fn(Duration) + 'a>>,
    /// The server approves at once, so a program can play the browser.
    pub auto_approve: bool,
    /// Registration metadata for a new public client, when the flow should run.
    pub registration: Option<serde_json::Map<String, serde_json::Value>>,
    /// UDAP trust anchors and client certificate, when the UDAP flows should run.
    pub udap: Option<crate::UdapProfile>,
}

impl std::fmt::Debug for AppClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppClient")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("key", &self.key.as_ref().map(|_| "[redacted]"))
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for BackendClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendClient")
            .field("client_id", &self.client_id)
            .field("kid", &self.kid)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Profile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("fhir_base", &self.fhir_base)
            .field("public", &self.public)
            .field("symmetric", &self.symmetric)
            .field("asymmetric", &self.asymmetric)
            .field("asymmetric_jwks_uri", &self.asymmetric_jwks_uri)
            .field("backend", &self.backend)
            .field("ehr_launch", &self.ehr_launch.is_some())
            .field("auto_approve", &self.auto_approve)
            .finish_non_exhaustive()
    }
}

/// The error and its causes, as one line safe for a terminal.
pub(crate) fn error_text(error: &dyn std::error::Error) -> String {
    smart_client::core::error_line(error)
}

/// What a call that should have been refused did, as a sentence (never a `Debug` dump).
pub(crate) fn outcome<T>(result: Result<T, ClientError>) -> String {
    match result {
        Ok(_) => "it succeeded".to_owned(),
        Err(error) => format!("it failed with: {}", error_text(&error)),
    }
}

/// Expects an OAuth refusal with `code` from a library call.
pub(crate) fn expect_refusal<T>(
    result: Result<T, ClientError>,
    code: &ErrorCode,
    what: &str,
) -> Result<String, String> {
    match result {
        Err(ClientError::Token(TokenError::OAuth(oauth))) if oauth.error() == Some(code) => {
            Ok(oauth.to_string())
        }
        Err(other) => Err(format!(
            "{what} was refused, but not with {code}: {}",
            error_text(&other)
        )),
        Ok(_) => Err(format!("{what} was accepted")),
    }
}

pub(crate) fn describe(token: &TokenResponse) -> String {
    let mut text = format!(
        "token: {}, expires in {}, scope \"{}\"",
        token.token_type().unwrap_or("?"),
        token
            .expires_in()
            .map_or_else(|| "?".to_owned(), |s| format!("{s} s")),
        token.scope().map(ToString::to_string).unwrap_or_default()
    );
    if let Some(patient) = token.context().patient() {
        text.push_str(", patient ");
        text.push_str(patient);
    }
    if let Some(encounter) = token.context().encounter() {
        text.push_str(", encounter ");
        text.push_str(encounter);
    }
    if token.refresh_token().is_some() {
        text.push_str(", refresh token");
    }
    text
}

impl Profile<'_> {
    pub(crate) fn builder(&self) -> ClientConfigBuilder {
        ClientConfig::builder(self.fhir_base.clone())
            .allow_insecure_localhost(self.allow_insecure_localhost)
            .http_options(HttpOptions::new().timeout(self.timeout))
    }

    pub(crate) fn app(
        &self,
        app: &AppClient,
        client_type: ClientType,
    ) -> Result<SmartClient, String> {
        let mut builder = self
            .builder()
            .client_id(app.client_id.clone())
            .redirect_uri(app.redirect_uri.clone())
            .scopes(app.scope.clone());
        if let Some(secret) = &app.secret {
            builder = builder
                .client_secret(ClientSecret::new(secret.clone()))
                .secret_method(app.secret_method);
        }
        if let Some(key) = &app.key {
            let pem = key.to_pkcs8_pem().map_err(|e| e.to_string())?;
            builder = builder.private_key(PrivateKey::from_pem(&pem).map_err(|e| e.to_string())?);
        }
        if let Some(kid) = &app.kid {
            builder = builder.kid(kid.clone());
        }
        let config = builder.build().map_err(|e| e.to_string())?;
        SmartClient::new(config, client_type).map_err(|e| error_text(&e))
    }

    pub(crate) fn backend_client(&self, backend: &BackendClient) -> Result<SmartClient, String> {
        let pem = backend.key.to_pkcs8_pem().map_err(|e| e.to_string())?;
        let mut builder = self
            .builder()
            .client_id(backend.client_id.clone())
            .private_key(PrivateKey::from_pem(&pem).map_err(|e| e.to_string())?);
        if let Some(kid) = &backend.kid {
            builder = builder.kid(kid.clone());
        }
        let config = builder.build().map_err(|e| e.to_string())?;
        SmartClient::new(config, ClientType::ConfidentialAsymmetric).map_err(|e| error_text(&e))
    }

    /// Authorize, play the browser, exchange the code, verify the `id_token`, read the patient.
    pub(crate) fn code_flow(
        out: &Transcript<'_>,
        client: &SmartClient,
        redirect_uri: &str,
        options: AuthorizeOptions,
    ) -> Result<TokenResponse, String> {
        let request = client.authorize(options).map_err(|e| error_text(&e))?;
        match request.method() {
            AuthorizeMethod::Get => out.line(format!("authorization URL: {}", request.url())),
            AuthorizeMethod::Post => out.line(format!(
                "authorization form POSTed to {} ({} fields)",
                request.url(),
                request.form().len()
            )),
        }
        let callback = Browser::new().authorize(&request, redirect_uri)?;
        out.line(format!(
            "browser returned to {}",
            redacted_callback(&callback)
        ));
        let pending = request.into_pending();
        let token = client
            .complete_authorization(&callback, &pending)
            .map_err(|e| error_text(&e))?;
        out.line(describe(&token));
        if let Some(id_token) = token.id_token() {
            let claims = client
                .verify_id_token(id_token, pending.nonce())
                .map_err(|e| error_text(&e))?;
            let alg = smart_client::jwt::decode_unverified(id_token.expose_secret())
                .ok()
                .and_then(|(header, _)| header.get("alg")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| "?".to_owned());
            out.line(format!(
                "id_token verified ({alg}, issuer, audience, nonce): fhirUser {}",
                claims.fhir_user().unwrap_or("-")
            ));
        }
        if let Some(patient) = token.context().patient() {
            let resource = client
                .read_resource(token.access_token(), &format!("Patient/{patient}"))
                .map_err(|e| error_text(&e))?;
            out.line(format!(
                "GET Patient/{patient} with the token -> {} {}",
                resource
                    .get("resourceType")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?"),
                resource.get("id").and_then(|v| v.as_str()).unwrap_or("?")
            ));
        }
        Ok(token)
    }
}
