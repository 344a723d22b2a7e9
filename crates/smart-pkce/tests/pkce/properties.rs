//! Property tests of PKCE (RFC 7636 §4.1, §4.2) and `state`.

use proptest::prelude::*;
use smart_core::RandomError;
use smart_pkce::{
    MAX_STATE_LEN, MAX_VERIFIER_LEN, MIN_VERIFIER_LEN, PkceChallenge, PkceVerifier, STATE_LEN,
    State,
};

/// RFC 3986's unreserved characters, the verifier alphabet.
const UNRESERVED: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

fn is_unreserved(c: char) -> bool {
    c.is_ascii() && UNRESERVED.contains(c)
}

fn valid_verifier() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{43,128}"
}

/// Strings around the length limits, mostly from the verifier alphabet, with characters
/// outside it (reserved, space, `=`, `+`, `/`, non-ASCII) now and then.
fn near_verifier() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            30 => proptest::sample::select(UNRESERVED.chars().collect::<Vec<_>>()),
            1 => proptest::sample::select(vec!['+', '/', '=', ' ', '%', '!', '*', '\'', '(', ')', '[', ':']),
            1 => any::<char>(),
        ],
        35..136,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #[test]
    fn a_valid_verifier_satisfies_its_own_challenge_only(
        verifier in valid_verifier(),
        other in valid_verifier(),
    ) {
        let parsed = PkceVerifier::parse(verifier.clone()).unwrap();
        let challenge = parsed.challenge();
        prop_assert_eq!(challenge.as_str().len(), 43);
        prop_assert!(challenge.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        prop_assert_eq!(challenge.method(), "S256");
        prop_assert!(challenge.is_satisfied_by(&verifier));
        prop_assert_eq!(challenge.is_satisfied_by(&other), other == verifier);
        // The challenge is what an authorization server receives: it parses back.
        prop_assert_eq!(&PkceChallenge::parse(challenge.as_str()).unwrap(), &challenge);
    }

    #[test]
    fn parse_accepts_exactly_rfc_7636_verifiers(text in near_verifier()) {
        let valid = (MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&text.len())
            && text.chars().all(is_unreserved);
        prop_assert_eq!(PkceVerifier::parse(text.clone()).is_ok(), valid, "{:?}", text);
        // A verifier that is not valid never satisfies any challenge.
        if !valid {
            let challenge = PkceVerifier::generate().unwrap().challenge();
            prop_assert!(!challenge.is_satisfied_by(&text));
        }
    }

    #[test]
    fn generated_verifiers_are_valid_for_any_randomness(
        len in MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN,
        seed in any::<u8>(),
    ) {
        let mut next = seed;
        let mut rng = |buf: &mut [u8]| -> Result<(), RandomError> {
            for byte in buf {
                *byte = next;
                next = next.wrapping_mul(31).wrapping_add(7);
            }
            Ok(())
        };
        let verifier = PkceVerifier::generate_with_rng(&mut rng, len).unwrap();
        prop_assert_eq!(verifier.expose_secret().len(), len);
        prop_assert!(PkceVerifier::parse(verifier.expose_secret()).is_ok());
    }

    #[test]
    fn challenge_parse_accepts_exactly_43_base64url_characters(text in "[A-Za-z0-9_=+/ -]{40,46}") {
        let valid = text.len() == 43
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        prop_assert_eq!(PkceChallenge::parse(text.clone()).is_ok(), valid, "{:?}", text);
    }

    #[test]
    fn state_parse_accepts_exactly_its_alphabet_and_lengths(
        text in proptest::collection::vec(
            prop_oneof![
                30 => proptest::sample::select(UNRESERVED.chars().collect::<Vec<_>>()),
                1 => any::<char>(),
            ],
            28..40,
        ).prop_map(|chars| chars.into_iter().collect::<String>()),
    ) {
        let valid = (STATE_LEN..=MAX_STATE_LEN).contains(&text.len())
            && text.chars().all(is_unreserved);
        let parsed = State::parse(text.clone());
        prop_assert_eq!(parsed.is_ok(), valid, "{:?}", text);
        if let Ok(state) = parsed {
            prop_assert!(state.matches(&text));
            let mut other = text.clone();
            other.push('x');
            prop_assert!(!state.matches(&other));
        }
    }
}
