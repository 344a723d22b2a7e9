use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `client_id` the authorization server assigned to the app (RFC 6749 §2.2).
///
/// It is public: it appears in authorization URLs, request bodies and assertion claims.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

/// A `client_id` that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientIdError {
    /// It is empty or only whitespace.
    #[error(
        "client_id is empty; set the client_id the authorization server registered for this app"
    )]
    Blank,
    /// It contains a control character.
    #[error("client_id contains a control character at byte {position}")]
    ControlCharacter {
        /// Byte offset of the first control character.
        position: usize,
    },
}

impl ClientId {
    /// Checks and keeps `value`.
    ///
    /// # Errors
    ///
    /// Returns [`ClientIdError`] for a blank value or one with control characters.
    pub fn parse(value: impl Into<String>) -> Result<Self, ClientIdError> {
        let value = value.into();
        if value.trim().is_empty() {
            return Err(ClientIdError::Blank);
        }
        if let Some(position) = value
            .char_indices()
            .find(|(_, c)| c.is_control())
            .map(|(i, _)| i)
        {
            return Err(ClientIdError::ControlCharacter { position });
        }
        Ok(Self(value))
    }

    /// The client id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientId").field(&self.0).finish()
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for ClientId {
    type Err = ClientIdError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl TryFrom<&str> for ClientId {
    type Error = ClientIdError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl TryFrom<String> for ClientId {
    type Error = ClientIdError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl Serialize for ClientId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ClientId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rules() {
        assert_eq!(ClientId::parse("my-app").unwrap().as_str(), "my-app");
        assert_eq!(ClientId::parse("  ").unwrap_err(), ClientIdError::Blank);
        assert_eq!(
            ClientId::parse("ab\ncd").unwrap_err(),
            ClientIdError::ControlCharacter { position: 2 }
        );
    }
}
