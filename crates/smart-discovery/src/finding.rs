//! Deviations noticed while reading a document, kept on the parsed value.

use core::fmt;

use smart_core::UrlProblem;

/// A deviation from the spec that parsing tolerated.
///
/// Parsing is lenient where leniency is safe: a field of the wrong type is ignored, a relative
/// endpoint URL is resolved against the FHIR base, an insecure link is dropped. Each such case
/// leaves a `Finding` on the parsed value ([`SmartConfiguration::findings`]), so nothing is
/// dropped silently. Findings also appear in the
/// [compliance report](crate::SmartConfiguration::compliance).
///
/// Field names are JSON paths such as `capabilities[2]` or `associated_endpoints[0].url`.
///
/// [`SmartConfiguration::findings`]: crate::SmartConfiguration::findings
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The field has the wrong JSON type and was ignored.
    WrongType {
        /// The field.
        field: String,
        /// What the spec calls for, such as `a string` or `an array of strings`.
        expected: &'static str,
        /// The JSON type found: `null`, `boolean`, `number`, `string`, `array` or `object`.
        found: &'static str,
    },
    /// The field is an empty (or all-whitespace) string and was ignored.
    Empty {
        /// The field.
        field: String,
    },
    /// A field needed to make sense of its parent is absent; the parent was ignored.
    Missing {
        /// The field.
        field: String,
    },
    /// A relative endpoint URL was resolved against the FHIR base URL. The spec requires
    /// absolute URLs and asks clients to resolve relative ones
    /// ([conformance.html#using-well-known](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#using-well-known)).
    ResolvedRelativeUrl {
        /// The field.
        field: String,
        /// The relative reference as written (shortened for display).
        reference: String,
        /// The absolute URL now in the field.
        resolved: String,
    },
    /// A URL that cannot be used was ignored: not a URL, or refused by the
    /// [`TransportPolicy`](smart_core::TransportPolicy). Only links that never receive
    /// credentials are dropped this way; an unusable credential endpoint is a hard
    /// [`DiscoveryError::UnusableEndpoint`](crate::DiscoveryError::UnusableEndpoint).
    DroppedUrl {
        /// The field.
        field: String,
        /// The URL (passwords redacted, long URLs cut).
        url: String,
        /// What is wrong with it.
        problem: UrlProblem,
    },
    /// A value of a tolerated but non-standard shape was read, such as a plain string where a
    /// FHIR `Identifier` object belongs.
    ReadLeniently {
        /// The field.
        field: String,
        /// What the spec calls for.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// The field appears more than once; the first occurrence was used.
    Repeated {
        /// The field.
        field: String,
    },
    /// A SMART v1 capability name was read as the SMART App Launch 2.x capability that
    /// replaced it (`context-banner` as `context-passthrough-banner`, `context-style` as
    /// `context-passthrough-style`).
    LegacyCapability {
        /// The field, such as `capabilities[3]`.
        field: String,
        /// The v1 name the server wrote.
        written: &'static str,
        /// The capability it was read as.
        read_as: crate::Capability,
    },
    /// The configuration was built from the deprecated CapabilityStatement `oauth-uris`
    /// extension, not from `.well-known/smart-configuration`; it has endpoints but no
    /// capabilities.
    FromCapabilityStatement,
}

impl Finding {
    /// The field the finding is about, if it is about one field.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::WrongType { field, .. }
            | Self::Empty { field }
            | Self::Missing { field }
            | Self::ResolvedRelativeUrl { field, .. }
            | Self::DroppedUrl { field, .. }
            | Self::ReadLeniently { field, .. }
            | Self::Repeated { field }
            | Self::LegacyCapability { field, .. } => Some(field),
            Self::FromCapabilityStatement => None,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongType {
                field,
                expected,
                found,
            } => write!(f, "ignored '{field}': expected {expected}, found {found}"),
            Self::Empty { field } => write!(f, "ignored '{field}': it is an empty string"),
            Self::Missing { field } => write!(f, "'{field}' is missing"),
            Self::ResolvedRelativeUrl {
                field,
                reference,
                resolved,
            } => write!(
                f,
                "'{field}' is the relative URL `{reference}`; resolved it against the FHIR base URL to `{resolved}` (endpoint URLs should be absolute)"
            ),
            Self::DroppedUrl {
                field,
                url,
                problem,
            } => write!(f, "ignored '{field}' `{url}`: the URL {problem}"),
            Self::ReadLeniently {
                field,
                expected,
                found,
            } => write!(
                f,
                "read '{field}' leniently: expected {expected}, found {found}"
            ),
            Self::Repeated { field } => write!(
                f,
                "'{field}' appears more than once; the first occurrence is used"
            ),
            Self::LegacyCapability {
                field,
                written,
                read_as,
            } => write!(
                f,
                "'{field}' is the SMART v1 capability `{written}`; read it as `{read_as}`, its SMART App Launch 2.x name"
            ),
            Self::FromCapabilityStatement => f.write_str(
                "the endpoints come from the deprecated CapabilityStatement oauth-uris extension, not from .well-known/smart-configuration; the server's capabilities are unknown",
            ),
        }
    }
}
