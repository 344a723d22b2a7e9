use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use crate::transport::{TransportPolicy, UrlError, UrlProblem, display_url};

/// How a URL newtype validates what it is given.
#[derive(Clone, Copy)]
enum Shape {
    /// `http` or `https` with a host (the transport rule is checked separately).
    Web,
    /// Any absolute URL without a fragment: redirect URIs may use a private-use scheme
    /// (RFC 8252 §7.1).
    Redirect,
}

/// `{url}/{suffix}` with the URL's path kept: a trailing slash is not doubled, and the query
/// and fragment are dropped. This is how `.well-known` documents are found below a FHIR base or
/// an issuer (`Url::join` would replace the last path segment instead).
///
/// ```
/// use smart_core::{append_path, url::Url};
///
/// let issuer = Url::parse("https://ehr.example/tenant-1/")?;
/// assert_eq!(
///     append_path(&issuer, ".well-known/openid-configuration").as_str(),
///     "https://ehr.example/tenant-1/.well-known/openid-configuration"
/// );
/// # Ok::<(), smart_core::url::ParseError>(())
/// ```
#[must_use]
pub fn append_path(url: &Url, suffix: &str) -> Url {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_owned();
    let suffix = suffix.trim_start_matches('/');
    url.set_path(&format!("{path}/{suffix}"));
    url
}

fn parse_url(field: &'static str, value: &str, shape: Shape) -> Result<Url, UrlError> {
    // The `url` crate would trim these, but the original string is what goes on the wire.
    if value.trim() != value {
        return Err(UrlError::new(field, value, UrlProblem::Whitespace));
    }
    UrlError::refuse_control_characters(field, value)?;
    let parsed = Url::parse(value)
        .map_err(|error| UrlError::new(field, value, UrlProblem::Malformed(error)))?;
    match shape {
        Shape::Web => match parsed.scheme() {
            "http" | "https" if parsed.host().is_some() => Ok(parsed),
            "http" | "https" => Err(UrlError::new(field, value, UrlProblem::MissingHost)),
            _ => Err(UrlError::new(field, value, UrlProblem::UnsupportedScheme)),
        },
        Shape::Redirect if parsed.fragment().is_some() => {
            Err(UrlError::new(field, value, UrlProblem::Fragment))
        }
        Shape::Redirect
            if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_none() =>
        {
            Err(UrlError::new(field, value, UrlProblem::MissingHost))
        }
        Shape::Redirect => Ok(parsed),
    }
}

macro_rules! url_type {
    ($(#[$meta:meta])* $name:ident, $field:literal, $shape:expr) => {
        $(#[$meta])*
        ///
        /// The string is kept exactly as given and is what goes on the wire; equality compares
        /// that string, never a normalised form.
        #[derive(Clone, Eq)]
        pub struct $name {
            original: String,
            parsed: Url,
        }

        impl $name {
            /// The field name used in errors about this kind of URL.
            pub const FIELD: &'static str = $field;

            /// Parses and keeps `value`.
            ///
            /// # Errors
            ///
            /// Returns [`UrlError`] when `value` is not an absolute URL of the right shape.
            /// Whether `http://` may be used is decided later by a [`TransportPolicy`].
            pub fn parse(value: impl Into<String>) -> Result<Self, UrlError> {
                let original = value.into();
                let parsed = parse_url($field, &original, $shape)?;
                Ok(Self { original, parsed })
            }

            /// The URL exactly as given.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.original
            }

            /// The parsed URL.
            #[must_use]
            pub fn url(&self) -> &Url {
                &self.parsed
            }

            /// The URL exactly as given.
            #[must_use]
            pub fn into_string(self) -> String {
                self.original
            }

            /// Checks the URL against `policy`.
            ///
            /// # Errors
            ///
            /// Returns [`UrlError`] when the policy refuses the URL.
            pub fn check_transport(&self, policy: TransportPolicy) -> Result<(), UrlError> {
                policy.check($field, &self.parsed)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.original == other.original
            }
        }

        impl core::hash::Hash for $name {
            fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
                self.original.hash(state);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&display_url(&self.original))
                    .finish()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&display_url(&self.original))
            }
        }

        impl core::str::FromStr for $name {
            type Err = UrlError;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = UrlError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = UrlError;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.original)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::parse(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

url_type!(
    /// The FHIR server's base URL, sent as the `aud` of authorization requests
    /// ([app-launch.html#request-4](https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#request-4)).
    FhirBaseUrl,
    "base_url",
    Shape::Web
);
url_type!(
    /// The authorization server's token endpoint, also the `aud` of client assertions
    /// ([client-confidential-asymmetric.html](https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html#authenticating-to-the-token-endpoint)).
    TokenUrl,
    "token_endpoint",
    Shape::Web
);
url_type!(
    /// The authorization endpoint the user's browser is sent to.
    AuthorizeUrl,
    "authorization_endpoint",
    Shape::Web
);
url_type!(
    /// The app's redirect URI, sent byte for byte as registered (RFC 6749 §3.1.2).
    ///
    /// Any absolute URL without a fragment is accepted here, including the private-use schemes
    /// of native apps (RFC 8252 §7.1); `http`/`https` redirect URIs are also held to the
    /// [`TransportPolicy`] by the client configuration.
    RedirectUri,
    "redirect_uri",
    Shape::Redirect
);
url_type!(
    /// The URL of a JSON Web Key Set, sent as the `jku` header of client assertions.
    JwksUrl,
    "jwks_uri",
    Shape::Web
);
url_type!(
    /// An issuer identifier (`OpenID` Connect, SMART `issuer`), compared as an exact string.
    IssuerUrl,
    "issuer",
    Shape::Web
);
url_type!(
    /// Any other HTTP endpoint: introspection, revocation, registration, management.
    EndpointUrl,
    "endpoint",
    Shape::Web
);

impl FhirBaseUrl {
    /// `{base}/{suffix}` with the base's path kept: a trailing slash on the base is not doubled.
    ///
    /// Unlike `Url::join`, which replaces the last path segment of `https://h/r4`, this gives
    /// `https://h/r4/.well-known/smart-configuration`. The query and fragment of the base are
    /// dropped.
    ///
    /// ```
    /// use smart_core::FhirBaseUrl;
    ///
    /// let base = FhirBaseUrl::parse("https://ehr.example/r4")?;
    /// assert_eq!(
    ///     base.append_path(".well-known/smart-configuration").as_str(),
    ///     "https://ehr.example/r4/.well-known/smart-configuration"
    /// );
    /// # Ok::<(), smart_core::UrlError>(())
    /// ```
    #[must_use]
    pub fn append_path(&self, suffix: &str) -> Url {
        append_path(&self.parsed, suffix)
    }

    /// Resolves `reference` (absolute, or relative to this base) to an absolute URL.
    ///
    /// A relative reference is taken relative to the base *as a directory*: `auth/token`
    /// against `https://h/r4` gives `https://h/r4/auth/token`; `/auth/token` gives
    /// `https://h/auth/token` (RFC 3986 §5.2 with the base's path ending in `/`).
    ///
    /// # Errors
    ///
    /// Returns the parse error when `reference` cannot be resolved.
    pub fn resolve(&self, reference: &str) -> Result<Url, url::ParseError> {
        match Url::parse(reference) {
            Ok(absolute) => Ok(absolute),
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                let mut directory = self.parsed.clone();
                directory.set_query(None);
                directory.set_fragment(None);
                if !directory.path().ends_with('/') {
                    let path = format!("{}/", directory.path());
                    directory.set_path(&path);
                }
                directory.join(reference)
            }
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_original_string() {
        let url = TokenUrl::parse("https://EHR.example:443/token").unwrap();
        assert_eq!(url.as_str(), "https://EHR.example:443/token");
        assert_eq!(url.url().as_str(), "https://ehr.example/token");
        let other = TokenUrl::parse("https://ehr.example/token").unwrap();
        assert_ne!(url, other, "equality is on the exact string");
    }

    #[test]
    fn rejects_non_web_urls() {
        for bad in [
            "not-a-url",
            "",
            "justpath",
            "https://exa mple.com",
            "/relative",
        ] {
            let err = TokenUrl::parse(bad).unwrap_err();
            assert_eq!(err.field(), "token_endpoint");
            assert!(
                matches!(err.problem(), UrlProblem::Malformed(_)),
                "{bad}: {err}"
            );
        }
        let err = TokenUrl::parse("ftp://ehr.example/token").unwrap_err();
        assert_eq!(err.problem(), &UrlProblem::UnsupportedScheme);
    }

    #[test]
    fn surrounding_whitespace_is_refused() {
        for bad in [
            " https://ehr.example/token",
            "https://ehr.example/token\n",
            "https://ehr.example/token ",
        ] {
            let err = TokenUrl::parse(bad).unwrap_err();
            assert_eq!(err.problem(), &UrlProblem::Whitespace, "{bad:?}");
        }
    }

    #[test]
    fn inner_control_characters_are_refused() {
        for bad in [
            "https://ehr.example/to\tken",
            "https://ehr.example/token\n?x=1",
            "https://ehr.exa\rmple/token",
            "https://ehr.example/\u{7f}token",
            "https://ehr.example/\u{0}",
        ] {
            let err = TokenUrl::parse(bad).unwrap_err();
            assert_eq!(err.problem(), &UrlProblem::ControlCharacter, "{bad:?}");
            assert!(!err.to_string().chars().any(char::is_control), "{err}");
        }
        let err = RedirectUri::parse("com.example.app:/call\nback").unwrap_err();
        assert_eq!(err.problem(), &UrlProblem::ControlCharacter);
    }

    #[test]
    fn redirect_uris_allow_private_schemes_but_not_fragments() {
        assert!(RedirectUri::parse("com.example.app:/callback").is_ok());
        let err = RedirectUri::parse("https://app.example/cb#x").unwrap_err();
        assert_eq!(err.problem(), &UrlProblem::Fragment);
    }

    #[test]
    fn append_path_keeps_the_base_path() {
        for (base, expected) in [
            (
                "https://h/r4",
                "https://h/r4/.well-known/smart-configuration",
            ),
            (
                "https://h/r4/",
                "https://h/r4/.well-known/smart-configuration",
            ),
            ("https://h", "https://h/.well-known/smart-configuration"),
            ("https://h/", "https://h/.well-known/smart-configuration"),
            (
                "https://h/a/b?x=1",
                "https://h/a/b/.well-known/smart-configuration",
            ),
        ] {
            let base = FhirBaseUrl::parse(base).unwrap();
            assert_eq!(
                base.append_path(".well-known/smart-configuration").as_str(),
                expected
            );
        }
    }

    #[test]
    fn resolve_treats_the_base_as_a_directory() {
        let base = FhirBaseUrl::parse("https://h/r4").unwrap();
        assert_eq!(
            base.resolve("auth/token").unwrap().as_str(),
            "https://h/r4/auth/token"
        );
        assert_eq!(
            base.resolve("/auth/token").unwrap().as_str(),
            "https://h/auth/token"
        );
        assert_eq!(
            base.resolve("https://other.example/t").unwrap().as_str(),
            "https://other.example/t"
        );
        assert_eq!(
            base.resolve("//cdn.example/x").unwrap().as_str(),
            "https://cdn.example/x"
        );
    }

    #[test]
    fn serde_round_trip_keeps_the_string() {
        let url = FhirBaseUrl::parse("https://ehr.example/r4/").unwrap();
        let json = serde_json::to_string(&url).unwrap();
        assert_eq!(json, "\"https://ehr.example/r4/\"");
        let back: FhirBaseUrl = serde_json::from_str(&json).unwrap();
        assert_eq!(back, url);
        assert!(serde_json::from_str::<FhirBaseUrl>("\"nope\"").is_err());
    }
}
