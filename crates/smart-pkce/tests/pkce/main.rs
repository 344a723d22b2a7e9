//! Integration tests of smart-pkce: RFC 7636 vectors, every length and alphabet edge,
//! injected randomness, uniqueness, redaction and serde.

mod properties;

use std::collections::HashSet;

use smart_core::{RandomError, RandomSource};
use smart_pkce::{
    Error, MAX_VERIFIER_LEN, MIN_VERIFIER_LEN, PkceChallenge, PkceVerifier, STATE_LEN, State,
};

const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
// RFC 7636 Appendix B. (The value in the project's issue text, `...eKt8zll59cDeeAlmqtM`, is not
// what the RFC prints nor what OpenSSL computes: `printf %s VERIFIER | openssl dgst -sha256
// -binary | base64url` gives the value below.)
const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A deterministic source: 0, 1, 2, ... wrapping.
fn counting() -> impl FnMut(&mut [u8]) -> Result<(), RandomError> {
    let mut next = 0u8;
    move |buf: &mut [u8]| {
        for byte in buf {
            *byte = next;
            next = next.wrapping_add(1);
        }
        Ok(())
    }
}

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[test]
fn rfc7636_appendix_b_vector() {
    let verifier = PkceVerifier::parse(RFC_VERIFIER).unwrap();
    let challenge = verifier.challenge();
    assert_eq!(challenge.as_str(), RFC_CHALLENGE);
    assert_eq!(challenge.method(), "S256");
    assert!(challenge.is_satisfied_by(RFC_VERIFIER));
    let parsed = PkceChallenge::parse(RFC_CHALLENGE).unwrap();
    assert_eq!(parsed, challenge);
}

#[test]
fn default_verifier_is_128_base64url_characters() {
    let verifier = PkceVerifier::generate().unwrap();
    assert_eq!(verifier.expose_secret().len(), MAX_VERIFIER_LEN);
    assert!(is_base64url(verifier.expose_secret()));
    let challenge = verifier.challenge();
    assert_eq!(challenge.as_str().len(), 43);
    assert!(is_base64url(challenge.as_str()));
    assert!(challenge.is_satisfied_by(verifier.expose_secret()));
}

#[test]
fn every_allowed_length_can_be_generated() {
    for len in MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN {
        let verifier = PkceVerifier::generate_with_len(len).unwrap();
        assert_eq!(verifier.expose_secret().len(), len);
        assert!(is_base64url(verifier.expose_secret()));
        // What we make, we accept.
        PkceVerifier::parse(verifier.expose_secret()).unwrap();
    }
}

#[test]
fn lengths_outside_the_range_are_refused() {
    for len in [0, 1, 42, 129, 4096] {
        assert!(matches!(
            PkceVerifier::generate_with_len(len),
            Err(Error::VerifierLength { len: got }) if got == len
        ));
        assert!(matches!(
            PkceVerifier::parse("a".repeat(len)),
            Err(Error::VerifierLength { len: got }) if got == len
        ));
    }
    PkceVerifier::parse("a".repeat(43)).unwrap();
    PkceVerifier::parse("a".repeat(128)).unwrap();
}

#[test]
fn the_whole_unreserved_alphabet_is_accepted() {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    PkceVerifier::parse(alphabet).unwrap();
    PkceVerifier::parse(&alphabet[..43]).unwrap();
}

#[test]
fn reserved_and_non_ascii_characters_are_refused() {
    let base = "a".repeat(50);
    for bad in [
        ' ', '+', '/', '=', '%', '!', '*', '\'', '(', ')', ':', '@', '\n', '\0', 'é', '🦀',
    ] {
        let mut value = base.clone();
        value.insert(7, bad);
        match PkceVerifier::parse(value) {
            Err(Error::VerifierCharacter { position }) => assert_eq!(position, 7, "{bad:?}"),
            other => panic!("{bad:?}: expected a character error, got {other:?}"),
        }
    }
}

#[test]
fn errors_never_contain_the_value() {
    let secret = format!("{}!", "Zq9".repeat(20));
    let err = PkceVerifier::parse(secret.clone()).unwrap_err();
    assert!(!err.to_string().contains("Zq9Zq9"), "{err}");
    assert!(!format!("{err:?}").contains("Zq9Zq9"), "{err:?}");
    let err = State::parse(format!("{}/", "Zq9".repeat(20))).unwrap_err();
    assert!(!err.to_string().contains("Zq9Zq9"), "{err}");
}

#[test]
fn injected_randomness_gives_exact_values() {
    let mut rng = counting();
    let verifier = PkceVerifier::generate_with_rng(&mut rng, 43).unwrap();
    // 33 bytes 0x00..0x20, base64url, cut to 43 characters.
    assert_eq!(
        verifier.expose_secret(),
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
    );
    let state = State::generate_with_rng(&mut rng).unwrap();
    assert_eq!(state.expose_secret(), "2122232425262728292a2b2c2d2e2f30");
}

#[test]
fn a_failing_rng_is_an_error_not_a_weak_value() {
    let mut broken = |_: &mut [u8]| Err(RandomError::unavailable());
    assert!(matches!(
        PkceVerifier::generate_with_rng(&mut broken, 128),
        Err(Error::Random(_))
    ));
    assert!(matches!(
        State::generate_with_rng(&mut broken),
        Err(Error::Random(_))
    ));
}

#[test]
fn draws_are_unique() {
    let verifiers: HashSet<String> = (0..10_000)
        .map(|_| {
            PkceVerifier::generate_with_len(43)
                .unwrap()
                .expose_secret()
                .to_owned()
        })
        .collect();
    assert_eq!(verifiers.len(), 10_000);
    let states: HashSet<String> = (0..10_000)
        .map(|_| State::generate().unwrap().expose_secret().to_owned())
        .collect();
    assert_eq!(states.len(), 10_000);
}

#[test]
fn generated_state_is_32_lowercase_hex() {
    let state = State::generate().unwrap();
    assert_eq!(state.expose_secret().len(), STATE_LEN);
    assert!(
        state
            .expose_secret()
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
}

#[test]
fn state_comparison() {
    let state = State::generate().unwrap();
    let same = state.expose_secret().to_owned();
    assert!(state.matches(&same));
    let mut flipped = same.clone().into_bytes();
    flipped[31] = if flipped[31] == b'0' { b'1' } else { b'0' };
    assert!(!state.matches(std::str::from_utf8(&flipped).unwrap()));
    assert!(!state.matches(&same[..31]));
    assert!(!state.matches(""));
}

#[test]
fn state_parse_rules() {
    State::parse("0".repeat(32)).unwrap();
    State::parse("a-._~".repeat(100)).unwrap();
    assert!(matches!(
        State::parse("0".repeat(31)),
        Err(Error::StateLength { len: 31 })
    ));
    assert!(matches!(
        State::parse("0".repeat(513)),
        Err(Error::StateLength { len: 513 })
    ));
    assert!(matches!(
        State::parse(format!("{} ", "0".repeat(40))),
        Err(Error::StateCharacter { position: 40 })
    ));
}

#[test]
fn challenge_parse_and_mismatch() {
    assert!(PkceChallenge::parse("short").is_err());
    assert!(PkceChallenge::parse(format!("{}=", &RFC_CHALLENGE[..42])).is_err());
    let challenge = PkceChallenge::parse(RFC_CHALLENGE).unwrap();
    assert!(!challenge.is_satisfied_by(&"a".repeat(43)));
    // A verifier that breaks RFC 7636 never satisfies a challenge, even a matching one.
    assert!(!challenge.is_satisfied_by("plain"));
}

#[test]
fn secrets_are_redacted_in_debug() {
    let verifier = PkceVerifier::parse(RFC_VERIFIER).unwrap();
    let state = State::generate().unwrap();
    assert_eq!(format!("{verifier:?}"), "PkceVerifier([redacted])");
    assert_eq!(format!("{state:#?}"), "State([redacted])");
    let challenge = verifier.challenge();
    assert!(
        format!("{challenge:?}").contains(RFC_CHALLENGE),
        "challenges are public"
    );
}

#[cfg(feature = "serde")]
#[test]
fn serde_round_trip_revalidates() {
    let verifier = PkceVerifier::parse(RFC_VERIFIER).unwrap();
    let json = serde_json::to_string(&verifier).unwrap();
    assert_eq!(json, format!("\"{RFC_VERIFIER}\""));
    let back: PkceVerifier = serde_json::from_str(&json).unwrap();
    assert_eq!(back.challenge().as_str(), RFC_CHALLENGE);
    assert!(serde_json::from_str::<PkceVerifier>("\"too-short\"").is_err());

    let state = State::generate().unwrap();
    let json = serde_json::to_string(&state).unwrap();
    let back: State = serde_json::from_str(&json).unwrap();
    assert!(back.matches(state.expose_secret()));
    assert!(serde_json::from_str::<State>("\"x\"").is_err());
}

#[test]
fn closures_and_references_are_random_sources() {
    fn draw(rng: &mut impl RandomSource) -> State {
        State::generate_with_rng(rng).unwrap()
    }
    let mut rng = counting();
    let first = draw(&mut rng);
    let second = draw(&mut rng);
    assert!(!first.matches(second.expose_secret()));
}
