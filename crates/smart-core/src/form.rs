//! `application/x-www-form-urlencoded` bodies and queries (the WHATWG URL standard's
//! serializer, which percent-encodes every byte outside `*-._` and ASCII alphanumerics).

use url::form_urlencoded;

/// Encodes `pairs` as a form body: every name and value percent-encoded, `&`-separated, in the
/// order given.
///
/// ```
/// let body = smart_core::form::encode([("grant_type", "authorization_code"), ("code", "a+b/c=")]);
/// assert_eq!(body, "grant_type=authorization_code&code=a%2Bb%2Fc%3D");
/// ```
pub fn encode<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Decodes a form body or query string into its pairs, in order. Invalid UTF-8 is replaced
/// (U+FFFD), never an error.
#[must_use]
pub fn decode(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_awkward_values() {
        let pairs = [
            ("scope", "patient/*.rs launch openid"),
            ("secret", ":+/=%&é"),
            ("empty", ""),
        ];
        let body = encode(pairs);
        assert!(!body.contains(' '));
        let back = decode(body.as_bytes());
        let expected: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(back, expected);
    }
}
