//! Property tests of smart-core: `application/x-www-form-urlencoded` bodies round-trip any
//! names and values, and decoding any bytes never fails.

use proptest::prelude::*;
use smart_core::form;

/// Strings with the characters that matter to the form syntax (`&`, `=`, `+`, `%`, space)
/// well represented, and any other Unicode scalar value.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            2 => proptest::sample::select(vec!['&', '=', '+', '%', ' ', '/', '?', '#', ';', '\0']),
            1 => any::<char>(),
        ],
        0..24,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #[test]
    fn encode_then_decode_gives_the_pairs_back(pairs in proptest::collection::vec((text(), text()), 0..8)) {
        let body = form::encode(pairs.iter().map(|(name, value)| (name.as_str(), value.as_str())));
        // Every byte outside `*-._` and ASCII alphanumerics is encoded: nothing else is left
        // to be misread.
        prop_assert!(
            body.bytes().all(|b| b.is_ascii_alphanumeric() || b"*-._%+=&".contains(&b)),
            "{}",
            body
        );
        let back = form::decode(body.as_bytes());
        // An empty pair list encodes to nothing; every other list comes back whole.
        prop_assert_eq!(back, pairs);
    }

    #[test]
    fn decoding_any_bytes_never_fails(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let pairs = form::decode(&bytes);
        // What decodes re-encodes and decodes to the same pairs.
        let again = form::decode(
            form::encode(pairs.iter().map(|(name, value)| (name.as_str(), value.as_str()))).as_bytes(),
        );
        prop_assert_eq!(again, pairs);
    }
}
