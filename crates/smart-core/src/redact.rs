//! The secrets of one request, to be taken out of whatever the server says back.

use core::fmt;

use crate::secret::Secret;

/// What replaces a secret found in server text.
pub const REDACTED: &str = "[redacted]";

/// The secrets one request carried (a client secret, a token, a code, a PKCE verifier, an
/// assertion, the `Authorization` header's credentials), so that text the server sends back
/// (an `error_description`, an error page) can be shown without them.
///
/// A server that echoes what it received ("invalid client secret 'hunter2'") would otherwise
/// have the client print its own secret into a terminal, a log or a CI transcript. The client
/// knows exactly what it has just sent, so it can take each of those values out again.
///
/// [`Redactions::secret`] records a value as sent raw, form-urlencoded (`+` for a space) and
/// percent-encoded (`%20`); [`Redactions::exact`] records one exact string (such as the base64
/// of a Basic header). [`Redactions::redact`] replaces every recorded string in a text with
/// `[redacted]`, longest first. The values are zeroized on drop and never printed: `Debug`
/// shows how many there are.
///
/// ```
/// use smart_core::Redactions;
///
/// let mut redactions = Redactions::new();
/// redactions.secret("p@ss word");
/// assert_eq!(
///     redactions.redact("bad secret p@ss word (sent as p%40ss+word)"),
///     "bad secret [redacted] (sent as [redacted])"
/// );
/// assert_eq!(format!("{redactions:?}"), "Redactions { values: 3 }");
/// ```
#[derive(Clone, Default)]
pub struct Redactions {
    /// Every recorded value as given (none empty, no duplicates), and whether its encoded
    /// forms count too. The encoded forms are made only when a text is redacted: recording
    /// costs a request no encoding.
    entries: Vec<(Secret<String>, bool)>,
}

impl Redactions {
    /// No secrets: [`Redactions::redact`] gives the text back unchanged.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `value` as sent: raw, form-urlencoded and percent-encoded. An empty value is
    /// ignored.
    pub fn secret(&mut self, value: &str) -> &mut Self {
        self.record(value, true)
    }

    /// Records exactly `value` (no other encoding). An empty value is ignored.
    pub fn exact(&mut self, value: &str) -> &mut Self {
        self.record(value, false)
    }

    fn record(&mut self, value: &str, encoded: bool) -> &mut Self {
        if value.is_empty() {
            return self;
        }
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|(known, _)| known.expose_secret() == value)
        {
            entry.1 |= encoded;
            return self;
        }
        self.entries.push((Secret::new(value.to_owned()), encoded));
        self
    }

    /// Adds every value of `other`.
    pub fn extend(&mut self, other: &Self) -> &mut Self {
        for (value, encoded) in &other.entries {
            self.record(value.expose_secret(), *encoded);
        }
        self
    }

    /// Whether nothing is recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every form of every recorded value, longest first, no duplicates, none empty.
    fn forms(&self) -> Vec<Secret<String>> {
        let mut forms: Vec<Secret<String>> = Vec::new();
        let mut add = |form: Secret<String>| {
            if !form.expose_secret().is_empty()
                && !forms
                    .iter()
                    .any(|known| known.expose_secret() == form.expose_secret())
            {
                forms.push(form);
            }
        };
        for (value, encoded) in &self.entries {
            add(value.clone());
            if *encoded {
                let form = Secret::new(crate::form::encode_component(value.expose_secret()));
                let percent = Secret::new(form.expose_secret().replace('+', "%20"));
                add(form);
                add(percent);
            }
        }
        // Stable: among values of one length, the first recorded stays first.
        forms.sort_by_key(|form| core::cmp::Reverse(form.expose_secret().len()));
        forms
    }

    /// `text` with every recorded value replaced by `[redacted]`, longest value first (so a
    /// secret inside a longer recorded string, such as a Basic header's base64, never leaves a
    /// piece of the longer one behind).
    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        if self.entries.is_empty() {
            return out;
        }
        for value in &self.forms() {
            let value = value.expose_secret();
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), REDACTED);
            }
        }
        out
    }
}

impl fmt::Debug for Redactions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactions")
            .field("values", &self.forms().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_of_a_secret_is_replaced() {
        let mut redactions = Redactions::new();
        redactions.secret("a+b/c=d é&x");
        let raw = "a+b/c=d é&x";
        let form = "a%2Bb%2Fc%3Dd+%C3%A9%26x";
        let percent = "a%2Bb%2Fc%3Dd%20%C3%A9%26x";
        let text = format!("[{raw}] [{form}] [{percent}] [{raw}]");
        assert_eq!(
            redactions.redact(&text),
            "[[redacted]] [[redacted]] [[redacted]] [[redacted]]"
        );
    }

    #[test]
    fn longest_first_and_no_empty_values() {
        let mut redactions = Redactions::new();
        redactions
            .exact("abc")
            .exact("")
            .exact("xxabcxx")
            .secret("");
        assert_eq!(
            redactions.redact("1 xxabcxx 2 abc"),
            "1 [redacted] 2 [redacted]"
        );
        assert_eq!(format!("{redactions:?}"), "Redactions { values: 2 }");
        assert_eq!(Redactions::new().redact("as is"), "as is");
        assert!(Redactions::new().is_empty());
        let mut both = Redactions::new();
        both.extend(&redactions).exact("abc");
        assert_eq!(format!("{both:?}"), "Redactions { values: 2 }");
    }

    #[test]
    fn debug_never_shows_a_value() {
        let mut redactions = Redactions::new();
        redactions.secret("hunter2-secret");
        let debug = format!("{redactions:?} {redactions:#?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
