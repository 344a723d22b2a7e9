//! The secrets that cross the token endpoint.

smart_core::secret_string! {
    /// An OAuth access token (RFC 6749 §1.4). Send it only as `Authorization: Bearer` to the
    /// FHIR server it was issued for.
    #[derive(Clone)]
    pub struct AccessToken;
}

smart_core::secret_string! {
    /// An OAuth refresh token (RFC 6749 §1.5). Use it once: servers may rotate it.
    #[derive(Clone)]
    pub struct RefreshToken;
}

smart_core::secret_string! {
    /// An OpenID Connect id_token: a signed JWT about the user. Verify it before trusting it.
    #[derive(Clone)]
    pub struct IdToken;
}

smart_core::secret_string! {
    /// An authorization code from the redirect (RFC 6749 §4.1.2): one use, short-lived.
    pub struct AuthorizationCode;
}

smart_core::secret_string! {
    /// A client secret (confidential-symmetric clients).
    #[derive(Clone)]
    pub struct ClientSecret;
}
