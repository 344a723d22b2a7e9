//! SMART capabilities ([conformance.html#capabilities](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#capabilities)).

use core::convert::Infallible;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! capabilities {
    ($($(#[$meta:meta])* $variant:ident => $text:literal,)*) => {
        /// A capability a SMART server advertises in `capabilities`
        /// ([conformance.html#capabilities](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#capabilities)).
        ///
        /// Every capability of SMART App Launch 2.2 has a variant. Anything else, such as the
        /// full-URI capabilities other implementation guides define, is kept as
        /// [`Capability::Unknown`]: an unknown capability is never an error.
        ///
        /// Equality and hashing compare [`Capability::as_str`], so
        /// `Capability::Unknown("launch-ehr".into())` equals [`Capability::LaunchEhr`]. Build
        /// values with [`Capability::from`] to get the typed variant.
        ///
        /// ```
        /// use smart_discovery::Capability;
        ///
        /// assert_eq!(Capability::from("launch-ehr"), Capability::LaunchEhr);
        /// assert_eq!(Capability::LaunchEhr.as_str(), "launch-ehr");
        /// let other = Capability::from("http://sdo.example.org/example-new-capability");
        /// assert!(!other.is_known());
        /// assert_eq!(other.to_string(), "http://sdo.example.org/example-new-capability");
        /// ```
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum Capability {
            $($(#[$meta])* $variant,)*
            /// A capability this crate does not know, kept as the server wrote it.
            Unknown(String),
        }

        impl Capability {
            /// Every capability SMART App Launch 2.2 defines, in the order of the spec.
            pub const KNOWN: &'static [Capability] = &[$(Capability::$variant,)*];

            /// The capability string, as it appears in the document.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Unknown(other) => other,
                }
            }

            /// The typed variant for a known capability string, `None` for any other.
            fn known(value: &str) -> Option<Self> {
                match value {
                    $($text => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

capabilities! {
    /// `launch-ehr`: SMART's EHR Launch mode.
    LaunchEhr => "launch-ehr",
    /// `launch-standalone`: SMART's Standalone Launch mode.
    LaunchStandalone => "launch-standalone",
    /// `authorize-post`: POST-based authorization.
    AuthorizePost => "authorize-post",
    /// `client-public`: the public client profile (no client authentication).
    ClientPublic => "client-public",
    /// `client-confidential-symmetric`: client secret authentication.
    ClientConfidentialSymmetric => "client-confidential-symmetric",
    /// `client-confidential-asymmetric`: JWT (private key) authentication.
    ClientConfidentialAsymmetric => "client-confidential-asymmetric",
    /// `sso-openid-connect`: SMART's OpenID Connect profile.
    SsoOpenidConnect => "sso-openid-connect",
    /// `context-passthrough-banner`: the server passes the `need_patient_banner` launch
    /// context through to the app. SMART v1 called this `context-banner`; discovery reads
    /// that name as this variant and records a
    /// [`Finding::LegacyCapability`](crate::Finding::LegacyCapability).
    ContextPassthroughBanner => "context-passthrough-banner",
    /// `context-passthrough-style`: the server passes the `smart_style_url` launch context
    /// through to the app (experimental). SMART v1 called this `context-style`; discovery
    /// reads that name as this variant and records a
    /// [`Finding::LegacyCapability`](crate::Finding::LegacyCapability).
    ContextPassthroughStyle => "context-passthrough-style",
    /// `context-ehr-patient`: patient-level launch context in an EHR launch.
    ContextEhrPatient => "context-ehr-patient",
    /// `context-ehr-encounter`: encounter-level launch context in an EHR launch.
    ContextEhrEncounter => "context-ehr-encounter",
    /// `context-standalone-patient`: patient-level launch context in a standalone launch.
    ContextStandalonePatient => "context-standalone-patient",
    /// `context-standalone-encounter`: encounter-level launch context in a standalone launch.
    ContextStandaloneEncounter => "context-standalone-encounter",
    /// `permission-offline`: refresh tokens requested with `offline_access`.
    PermissionOffline => "permission-offline",
    /// `permission-online`: refresh tokens requested with `online_access` (experimental).
    PermissionOnline => "permission-online",
    /// `permission-patient`: patient-level scopes.
    PermissionPatient => "permission-patient",
    /// `permission-user`: user-level scopes.
    PermissionUser => "permission-user",
    /// `permission-v1`: SMART v1 scope syntax.
    PermissionV1 => "permission-v1",
    /// `permission-v2`: SMART v2 granular scope syntax.
    PermissionV2 => "permission-v2",
    /// `smart-app-state`: SMART App State (experimental).
    SmartAppState => "smart-app-state",
}

impl Capability {
    /// The SMART App Launch 2.x capability a SMART v1 capability name was renamed to:
    /// `context-banner` is now [`Capability::ContextPassthroughBanner`] and `context-style`
    /// is [`Capability::ContextPassthroughStyle`]. `None` for any other string.
    ///
    /// [`Capability::from`] is exact and keeps a v1 name as [`Capability::Unknown`];
    /// reading a `.well-known/smart-configuration` document maps the v1 names with this
    /// function and records a [`Finding::LegacyCapability`](crate::Finding::LegacyCapability).
    ///
    /// ```
    /// use smart_discovery::Capability;
    ///
    /// assert_eq!(
    ///     Capability::renamed_from_v1("context-banner"),
    ///     Some(Capability::ContextPassthroughBanner)
    /// );
    /// assert_eq!(Capability::renamed_from_v1("launch-ehr"), None);
    /// ```
    #[must_use]
    pub fn renamed_from_v1(value: &str) -> Option<Self> {
        Self::v1_rename(value).map(|(_, capability)| capability)
    }

    /// The SMART v1 names and the 2.x capabilities they were renamed to: the one table both
    /// [`Capability::renamed_from_v1`] and the [`Finding::LegacyCapability`](crate::Finding::LegacyCapability)
    /// it records read.
    const RENAMED_FROM_V1: [(&'static str, Self); 2] = [
        ("context-banner", Self::ContextPassthroughBanner),
        ("context-style", Self::ContextPassthroughStyle),
    ];

    /// The v1 name as written (with a `'static` lifetime, for findings) and the capability it
    /// is read as, or `None` when `value` is not a renamed v1 name.
    pub(crate) fn v1_rename(value: &str) -> Option<(&'static str, Self)> {
        Self::RENAMED_FROM_V1
            .iter()
            .find(|(v1, _)| *v1 == value)
            .map(|(v1, capability)| (*v1, capability.clone()))
    }

    /// Whether this is one of the capabilities SMART App Launch 2.2 defines.
    #[must_use]
    pub fn is_known(&self) -> bool {
        Self::known(self.as_str()).is_some()
    }
}

impl From<&str> for Capability {
    fn from(value: &str) -> Self {
        Self::known(value).unwrap_or_else(|| Self::Unknown(value.to_owned()))
    }
}

impl From<String> for Capability {
    fn from(value: String) -> Self {
        Self::known(&value).unwrap_or(Self::Unknown(value))
    }
}

impl From<&Capability> for Capability {
    fn from(value: &Capability) -> Self {
        value.clone()
    }
}

impl FromStr for Capability {
    type Err = Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(value))
    }
}

impl AsRef<str> for Capability {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Capability {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Capability {}

impl PartialEq<str> for Capability {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Capability {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for Capability {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Serialize for Capability {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_known_capability_round_trips() {
        assert_eq!(Capability::KNOWN.len(), 20);
        for capability in Capability::KNOWN {
            let parsed = Capability::from(capability.as_str());
            assert!(
                !matches!(parsed, Capability::Unknown(_)),
                "{capability} parsed as unknown"
            );
            assert_eq!(&parsed, capability);
            assert!(parsed.is_known());
            assert_eq!(parsed.to_string(), capability.as_str());
        }
        let distinct: HashSet<&str> = Capability::KNOWN.iter().map(Capability::as_str).collect();
        assert_eq!(distinct.len(), Capability::KNOWN.len());
    }

    #[test]
    fn context_passthrough_capabilities_use_the_2_2_names() {
        assert_eq!(
            Capability::ContextPassthroughBanner.as_str(),
            "context-passthrough-banner"
        );
        assert_eq!(
            Capability::ContextPassthroughStyle.as_str(),
            "context-passthrough-style"
        );
        assert_eq!(
            Capability::from("context-passthrough-banner"),
            Capability::ContextPassthroughBanner
        );
        // The v1 names are not 2.2 capabilities; only the configuration reader maps them.
        assert!(!Capability::from("context-banner").is_known());
        assert_eq!(
            Capability::renamed_from_v1("context-style"),
            Some(Capability::ContextPassthroughStyle)
        );
        let order: Vec<&str> = Capability::KNOWN.iter().map(Capability::as_str).collect();
        assert_eq!(
            order[7..9],
            ["context-passthrough-banner", "context-passthrough-style"]
        );
    }

    #[test]
    fn unknown_capabilities_are_kept_and_compare_by_string() {
        let unknown = Capability::from("http://sdo.example.org/x");
        assert_eq!(
            unknown,
            Capability::Unknown("http://sdo.example.org/x".into())
        );
        assert!(!unknown.is_known());
        assert_eq!(
            Capability::Unknown("launch-ehr".into()),
            Capability::LaunchEhr
        );
        assert!(Capability::Unknown("launch-ehr".into()).is_known());
        // Matching is exact: no case folding, no substrings.
        assert_ne!(Capability::from("Launch-EHR"), Capability::LaunchEhr);
        assert_ne!(Capability::from("launch"), Capability::LaunchEhr);
    }

    #[test]
    fn serde_uses_the_string() {
        let json = serde_json::to_string(&Capability::PermissionV2).unwrap();
        assert_eq!(json, "\"permission-v2\"");
        let back: Capability = serde_json::from_str("\"x-custom\"").unwrap();
        assert_eq!(back, Capability::Unknown("x-custom".into()));
    }
}
