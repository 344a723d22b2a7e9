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
    let mut out = String::new();
    for (name, value) in pairs {
        append_pair(&mut out, name, value);
    }
    out
}

/// Appends `name=value` to `out`, both encoded, after a `&` unless `out` is empty.
///
/// ```
/// let mut query = String::from("a=1");
/// smart_core::form::append_pair(&mut query, "scope", "launch openid");
/// assert_eq!(query, "a=1&scope=launch+openid");
/// ```
pub fn append_pair(out: &mut String, name: &str, value: &str) {
    out.reserve(name.len() + value.len() + 2);
    if !out.is_empty() {
        out.push('&');
    }
    append_encoded(out, name);
    out.push('=');
    append_encoded(out, value);
}

/// Appends `text` encoded as the serializer does: ASCII alphanumerics and `*-._` as they are,
/// a space as `+`, every other byte (UTF-8) as `%XX` in upper-case hex.
///
/// ```
/// let mut out = String::new();
/// smart_core::form::append_encoded(&mut out, "a b+é");
/// assert_eq!(out, "a+b%2B%C3%A9");
/// ```
pub fn append_encoded(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = text.as_bytes();
    // The start of the run of bytes that go out as they are.
    let mut run = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        if is_unreserved(byte) {
            continue;
        }
        // A run holds only ASCII bytes, so both of its ends are character boundaries.
        if run < at {
            out.push_str(&text[run..at]);
        }
        if byte == b' ' {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        run = at + 1;
    }
    if run < bytes.len() {
        out.push_str(&text[run..]);
    }
}

/// `text` encoded as [`append_encoded`] does.
#[must_use]
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    append_encoded(&mut out, text);
    out
}

/// The bytes the form serializer leaves as they are.
const fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'*' | b'-' | b'.' | b'_')
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

    #[test]
    fn encodes_every_byte_as_the_url_crates_serializer() {
        let all: String = (0u32..0x800).filter_map(char::from_u32).collect();
        for text in [
            all.as_str(),
            "",
            "plain",
            " lead and trail ",
            "é",
            "a\u{0}b",
        ] {
            let ours = encode_component(text);
            let theirs: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
            assert_eq!(ours, theirs, "{text:?}");
            let body = encode([("n a", text), ("", "x")]);
            let theirs = form_urlencoded::Serializer::new(String::new())
                .extend_pairs([("n a", text), ("", "x")])
                .finish();
            assert_eq!(body, theirs);
        }
    }
}
