//! The `community` query parameter of UDAP discovery (UDAP Security STU2 §2.1).

use core::fmt;

use smart_core::url::Url;

use crate::error::UdapError;

/// A trust community URI, sent as `?community=` on discovery
/// ([UDAP Security STU2 §2.1](https://hl7.org/fhir/us/udap-security/STU2/discovery.html#multiple-trust-communities)).
///
/// It must be an absolute URI with a scheme and a host or a path: `urn:oid:2.16.840.1.113883`
/// and `https://community.example/ca` are accepted; `not a uri`, `https:` and `foo:` are not.
/// Surrounding whitespace is dropped, and a blank value means "no community" (the default
/// request). The check runs before any request is built.
///
/// ```
/// use smart_udap::Community;
///
/// assert!(Community::parse("urn:oid:2.16.840.1.113883.3.7204.1.1")?.is_some());
/// assert!(Community::parse("   ")?.is_none());
/// assert!(Community::parse("not a uri").is_err());
/// assert!(Community::parse("https:").is_err());
/// # Ok::<(), smart_udap::UdapError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(String);

impl Community {
    /// Checks and normalises a community URI; `Ok(None)` for a blank value.
    ///
    /// # Errors
    ///
    /// [`UdapError::InvalidCommunity`] unless it is an absolute URI with a host or a path.
    pub fn parse(value: &str) -> Result<Option<Self>, UdapError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        if value.chars().any(char::is_control) {
            return Err(UdapError::InvalidCommunity {
                reason: "it contains a control character",
            });
        }
        let url = Url::parse(value).map_err(|_| UdapError::InvalidCommunity {
            reason: "it is not an absolute URI",
        })?;
        let has_host = url.host_str().is_some_and(|host| !host.is_empty());
        let has_path = !url.path().is_empty();
        if !has_host && !has_path {
            return Err(UdapError::InvalidCommunity {
                reason: "it has neither a host nor a path",
            });
        }
        Ok(Some(Self(value.to_owned())))
    }

    /// The URI as given (trimmed).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Community")
            .field(&smart_core::display_text(&self.0, 200))
            .finish()
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&smart_core::display_text(&self.0, 200))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_and_refused() {
        for good in [
            "urn:oid:1.2.3",
            "https://community.example",
            "https://community.example/path?x=1",
            "  urn:x  ",
        ] {
            assert!(Community::parse(good).unwrap().is_some(), "{good}");
        }
        for bad in [
            "not a uri",
            "https:",
            "foo:",
            "/relative",
            "urn:a\nb",
            "://x",
        ] {
            assert!(
                matches!(
                    Community::parse(bad),
                    Err(UdapError::InvalidCommunity { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            Community::parse(" urn:x ").unwrap().unwrap().as_str(),
            "urn:x"
        );
        assert!(Community::parse("").unwrap().is_none());
    }
}
