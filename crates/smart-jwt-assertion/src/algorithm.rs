use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, shown};

/// A JWS signature algorithm (RFC 7518 §3.1) this crate can sign and verify with.
///
/// SMART client assertions use [`Algorithm::Rs384`] or [`Algorithm::Es384`]
/// ([client-confidential-asymmetric.html#registering-a-client-communicating-public-keys](https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html#registering-a-client-communicating-public-keys)).
/// [`Algorithm::Rs256`] is here for `id_token`s, which SMART servers sign with RS256
/// ([scopes-and-launch-context.html#scopes-for-requesting-identity-data](https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#scopes-for-requesting-identity-data)).
///
/// The names are case-sensitive, as in JOSE:
///
/// ```
/// use smart_jwt_assertion::Algorithm;
///
/// assert_eq!("RS384".parse::<Algorithm>()?, Algorithm::Rs384);
/// assert_eq!(Algorithm::Es384.to_string(), "ES384");
/// assert!("rs384".parse::<Algorithm>().is_err());
/// assert!("none".parse::<Algorithm>().is_err());
/// # Ok::<(), smart_jwt_assertion::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3). Needs the `rs384` feature.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (RFC 7518 §3.3). Needs the `rs384` feature.
    Rs384,
    /// ECDSA with P-384 and SHA-384 (RFC 7518 §3.4); the signature is the 96-byte `r || s`.
    /// Needs the `es384` feature.
    Es384,
}

impl Algorithm {
    /// Every algorithm, in a fixed order.
    pub const ALL: [Self; 3] = [Self::Rs256, Self::Rs384, Self::Es384];

    /// The algorithms SMART allows for client assertions: RS384 and ES384.
    pub const CLIENT_ASSERTION: [Self; 2] = [Self::Rs384, Self::Es384];

    /// The JOSE name: `RS256`, `RS384` or `ES384`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Es384 => "ES384",
        }
    }

    /// The JWK `kty` of keys for this algorithm: `RSA` or `EC`.
    #[must_use]
    pub const fn key_type(self) -> &'static str {
        match self {
            Self::Rs256 | Self::Rs384 => "RSA",
            Self::Es384 => "EC",
        }
    }

    /// The crate feature this algorithm needs: `rs384` or `es384`.
    #[must_use]
    pub const fn feature(self) -> &'static str {
        match self {
            Self::Rs256 | Self::Rs384 => "rs384",
            Self::Es384 => "es384",
        }
    }

    /// Whether this build can sign and verify with this algorithm (its feature is enabled).
    #[must_use]
    pub const fn is_enabled(self) -> bool {
        match self {
            Self::Rs256 | Self::Rs384 => cfg!(feature = "rs384"),
            Self::Es384 => cfg!(feature = "es384"),
        }
    }

    /// Whether SMART allows this algorithm for client assertions (RS384 and ES384).
    #[must_use]
    pub const fn is_client_assertion_algorithm(self) -> bool {
        matches!(self, Self::Rs384 | Self::Es384)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses a JOSE algorithm name.
    ///
    /// # Errors
    ///
    /// [`Error::UnsecuredJws`] for `none`, [`Error::UnsupportedAlgorithm`] for any other name.
    fn from_str(name: &str) -> Result<Self, Error> {
        match name {
            "RS256" => Ok(Self::Rs256),
            "RS384" => Ok(Self::Rs384),
            "ES384" => Ok(Self::Es384),
            "none" => Err(Error::UnsecuredJws),
            other => Err(Error::UnsupportedAlgorithm { alg: shown(other) }),
        }
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(alg.to_string(), alg.as_str());
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(serde_json::from_str::<Algorithm>(&json).unwrap(), alg);
        }
    }

    #[test]
    fn unknown_names_are_typed_errors() {
        assert!(matches!(
            "none".parse::<Algorithm>(),
            Err(Error::UnsecuredJws)
        ));
        for name in ["HS256", "PS384", "ES256", "rs384", "", "RS384 "] {
            assert!(
                matches!(
                    name.parse::<Algorithm>(),
                    Err(Error::UnsupportedAlgorithm { .. })
                ),
                "{name:?}"
            );
        }
        assert!(serde_json::from_str::<Algorithm>("\"HS256\"").is_err());
    }

    #[test]
    fn key_types() {
        assert_eq!(Algorithm::Rs256.key_type(), "RSA");
        assert_eq!(Algorithm::Rs384.key_type(), "RSA");
        assert_eq!(Algorithm::Es384.key_type(), "EC");
        assert!(!Algorithm::Rs256.is_client_assertion_algorithm());
        assert!(Algorithm::Rs384.is_client_assertion_algorithm());
    }
}
