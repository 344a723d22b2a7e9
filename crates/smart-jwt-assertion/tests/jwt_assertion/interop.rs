//! Interoperability: our signatures against OpenSSL's (fixtures) and ring's (run here), and
//! ring verifying ours. Nothing here needs a network.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use smart_core::{ClientId, TokenUrl};
use smart_jwt_assertion::{Algorithm, AssertionSigner, JwkSet, JwsSigner, verify_compact};

use crate::*;

fn split_signature(token: &str) -> (&str, Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').unwrap();
    (input, b64url_decode(signature))
}

#[test]
fn rs384_and_rs256_signatures_are_byte_identical_to_openssl() {
    let key = rsa2048();
    for (fixture, alg) in [
        (OPENSSL_RS384_JWT, Algorithm::Rs384),
        (OPENSSL_RS256_JWT, Algorithm::Rs256),
    ] {
        let (input, openssl_signature) = split_signature(fixture.trim());
        let ours = key
            .signer(Some(alg))
            .unwrap()
            .sign(input.as_bytes())
            .unwrap();
        assert_eq!(ours, openssl_signature, "{alg}");
    }
    // The PKCS#1 and JWK forms of the key sign identically.
    let (input, openssl_signature) = split_signature(OPENSSL_RS384_JWT.trim());
    for key in [
        PrivateKey::from_pem(RSA2048_PKCS1_PEM).unwrap(),
        PrivateKey::from_jwk(RSA2048_PRIVATE_JWK).unwrap(),
    ] {
        let ours = key.signer(None).unwrap().sign(input.as_bytes()).unwrap();
        assert_eq!(ours, openssl_signature);
    }
}

#[test]
fn rs384_signatures_are_byte_identical_to_ring() {
    let rng = SystemRandom::new();
    let ring_key = RsaKeyPair::from_pkcs8(&pem_der(RSA2048_PEM)).unwrap();
    let ours = rsa2048().signer(None).unwrap();
    for input in [&b""[..], b"x", OPENSSL_ES384_INPUT.as_bytes()] {
        let mut theirs = vec![0u8; ring_key.public().modulus_len()];
        ring_key
            .sign(&signature::RSA_PKCS1_SHA384, &rng, input, &mut theirs)
            .unwrap();
        assert_eq!(ours.sign(input).unwrap(), theirs);
    }
}

fn ring_p384_public_point() -> Vec<u8> {
    let jwk: serde_json::Value = serde_json::from_str(P384_PUBLIC_JWK).unwrap();
    let mut point = vec![0x04];
    point.extend(b64url_decode(jwk["x"].as_str().unwrap()));
    point.extend(b64url_decode(jwk["y"].as_str().unwrap()));
    point
}

#[test]
fn ring_verifies_our_es384_and_rs384_assertions() {
    let client_id = ClientId::parse("my-app").unwrap();
    let token_url = TokenUrl::parse("https://ehr.example/token").unwrap();

    let es = AssertionSigner::from_key(&p384(), "p384", None).unwrap();
    let assertion = es.sign(&client_id, &token_url).unwrap();
    let (input, sig) = split_signature(assertion.expose_secret());
    assert_eq!(sig.len(), 96);
    signature::UnparsedPublicKey::new(
        &signature::ECDSA_P384_SHA384_FIXED,
        ring_p384_public_point(),
    )
    .verify(input.as_bytes(), &sig)
    .expect("ring verifies our ES384");
    // Our key's public point is the one in the fixture, which ring derived from the PKCS#8.
    let ring_key = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        &pem_der(P384_PEM),
        &SystemRandom::new(),
    )
    .unwrap();
    assert_eq!(ring_key.public_key().as_ref(), ring_p384_public_point());

    let rs = AssertionSigner::from_key(&rsa2048(), "rsa-2048", None).unwrap();
    let assertion = rs.sign(&client_id, &token_url).unwrap();
    let (input, sig) = split_signature(assertion.expose_secret());
    let jwk: serde_json::Value = serde_json::from_str(RSA2048_PUBLIC_JWK).unwrap();
    RsaPublicKeyComponents {
        n: b64url_decode(jwk["n"].as_str().unwrap()),
        e: b64url_decode(jwk["e"].as_str().unwrap()),
    }
    .verify(
        &signature::RSA_PKCS1_2048_8192_SHA384,
        input.as_bytes(),
        &sig,
    )
    .expect("ring verifies our RS384");
}

#[test]
fn we_verify_ring_es384_signatures() {
    let rng = SystemRandom::new();
    let ring_key = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        &pem_der(P384_PEM),
        &rng,
    )
    .unwrap();
    let input = OPENSSL_ES384_INPUT.trim();
    let jwks = fixture_jwks();
    for _ in 0..5 {
        // ring's ECDSA nonces are random: every signature differs, all verify.
        let sig = ring_key.sign(&rng, input.as_bytes()).unwrap();
        let token = format!("{input}.{}", b64url(sig.as_ref()));
        verify_compact(&token, &jwks, &[Algorithm::Es384]).unwrap();
    }
}

#[test]
fn we_verify_ring_rs384_signatures_with_a_4096_bit_key() {
    let rng = SystemRandom::new();
    let ring_key = RsaKeyPair::from_pkcs8(&pem_der(RSA4096_PEM)).unwrap();
    let key = PrivateKey::from_pem(RSA4096_PEM).unwrap();
    let jwks = JwkSet::from(key.public_jwk(Some("big")));
    let header = b64url(br#"{"alg":"RS384","kid":"big"}"#);
    let input = format!("{header}.{}", b64url(br#"{"sub":"x"}"#));
    let mut sig = vec![0u8; ring_key.public().modulus_len()];
    ring_key
        .sign(
            &signature::RSA_PKCS1_SHA384,
            &rng,
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
    let token = format!("{input}.{}", b64url(&sig));
    let verified = verify_compact(&token, &jwks, &[Algorithm::Rs384]).unwrap();
    assert_eq!(verified.claims()["sub"], "x");
}
