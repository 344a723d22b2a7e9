//! JWK and JWK Set export and parsing; RFC 7638 thumbprints.

use serde_json::{Value, json};
use smart_jwt_assertion::{Error, Jwk, JwkSet};

use crate::*;

/// RFC 7638 §3.1: the example RSA key and its thumbprint.
const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

#[test]
fn rfc7638_example_thumbprint() {
    let jwk = Jwk::parse(
        &json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"})
            .to_string(),
    )
    .unwrap();
    assert_eq!(jwk.thumbprint().unwrap(), RFC7638_THUMBPRINT);
    // Optional members and their order do not matter.
    let bare = Jwk::parse(&json!({"e": "AQAB", "n": RFC7638_N, "kty": "RSA"}).to_string()).unwrap();
    assert_eq!(bare.thumbprint().unwrap(), RFC7638_THUMBPRINT);
}

#[test]
fn thumbprints_match_an_independent_implementation() {
    assert_eq!(rsa2048().thumbprint(), RSA2048_THUMBPRINT.trim());
    assert_eq!(p384().thumbprint(), P384_THUMBPRINT.trim());
    assert_eq!(
        Jwk::parse(RSA2048_PUBLIC_JWK)
            .unwrap()
            .thumbprint()
            .unwrap(),
        RSA2048_THUMBPRINT.trim()
    );
    assert_eq!(
        Jwk::parse(P384_PUBLIC_JWK).unwrap().thumbprint().unwrap(),
        P384_THUMBPRINT.trim()
    );
    assert!(matches!(
        Jwk::parse(r#"{"kty": "RSA", "e": "AQAB"}"#)
            .unwrap()
            .thumbprint(),
        Err(Error::InvalidJwk {
            member: Some("n"),
            ..
        })
    ));
    assert!(matches!(
        Jwk::parse(r#"{"kty": "OKP", "x": "AA"}"#)
            .unwrap()
            .thumbprint(),
        Err(Error::UnsupportedKeyType { .. })
    ));
}

#[test]
fn rsa_public_jwk_has_exactly_the_registration_members() {
    let key = rsa2048();
    let jwk = serde_json::to_value(key.public_jwk(None)).unwrap();
    let python: Value = serde_json::from_str(RSA2048_PUBLIC_JWK).unwrap();
    assert_eq!(
        jwk,
        json!({
            "kty": "RSA",
            "kid": RSA2048_THUMBPRINT.trim(),
            "use": "sig",
            "alg": "RS384",
            "n": python["n"],
            "e": "AQAB",
        })
    );
    let named = key.public_jwk(Some("my-key"));
    assert_eq!(named.kid(), Some("my-key"));
}

#[test]
fn ec_public_jwk_has_exactly_the_registration_members() {
    let key = p384();
    let jwk = serde_json::to_value(key.public_jwk(Some("k1"))).unwrap();
    let python: Value = serde_json::from_str(P384_PUBLIC_JWK).unwrap();
    assert_eq!(
        jwk,
        json!({
            "kty": "EC",
            "kid": "k1",
            "use": "sig",
            "alg": "ES384",
            "crv": "P-384",
            "x": python["x"],
            "y": python["y"],
        })
    );
    assert_eq!(
        python["x"].as_str().unwrap().len(),
        64,
        "48 bytes, full length"
    );
}

#[test]
fn jwk_set_export() {
    let set = p384().public_jwk_set(None);
    let json: Value = serde_json::from_str(&set.to_json()).unwrap();
    assert_eq!(json["keys"].as_array().unwrap().len(), 1);
    assert_eq!(json["keys"][0]["kid"], P384_THUMBPRINT.trim());
    assert_eq!(JwkSet::parse(&set.to_json_pretty()).unwrap(), set);
    let both: JwkSet = [rsa2048().public_jwk(None), p384().public_jwk(None)]
        .into_iter()
        .collect();
    assert_eq!(both.keys.len(), 2);
    assert_eq!(both.find(P384_THUMBPRINT.trim()).count(), 1);
    assert_eq!(JwkSet::from(p384().public_jwk(None)), set);
}

#[test]
fn jwk_set_parsing_skips_what_it_cannot_use() {
    let document = json!({
        "keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "oct", "k": "c2VjcmV0"},
            "not an object",
            {"n": "no kty"},
            {"kty": "RSA", "kid": 5, "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "r1", "n": "AQAB", "e": "AQAB", "x5t#S256": "abc", "key_ops": ["verify"]},
            {"kty": "EC", "kid": "e1", "crv": "P-384", "x": "AA", "y": "AA", "d": "c2VjcmV0"},
        ],
        "extra": true,
    })
    .to_string();
    for set in [
        JwkSet::parse(&document).unwrap(),
        serde_json::from_str::<JwkSet>(&document).unwrap(),
    ] {
        let kids: Vec<_> = set.keys.iter().map(|key| key.kid().unwrap()).collect();
        assert_eq!(kids, ["r1", "e1"]);
        assert_eq!(set.keys[0].extra()["x5t#S256"], "abc");
        let json = serde_json::to_string(&set).unwrap();
        assert!(!json.contains("\"d\""), "{json}");
        assert!(!json.contains("c2VjcmV0"), "{json}");
    }
}

#[test]
fn jwk_set_documents_that_are_not_sets() {
    for (document, problem) in [
        ("[]", "is not a usable JSON object"),
        ("{", "is not a usable JSON object"),
        (r#"{"keys": {}}"#, "member `keys` is not an array"),
        (r#"{"kty": "RSA"}"#, "has no `keys` member"),
        (r#"{"keys": [], "keys": []}"#, "is not a usable JSON object"),
    ] {
        let err = JwkSet::parse(document).unwrap_err();
        assert!(
            matches!(err, Error::InvalidJwkSet { problem: p, .. } if p == problem),
            "{document}: {err:?}"
        );
    }
    assert!(JwkSet::parse(r#"{"keys": []}"#).unwrap().keys.is_empty());
}

#[test]
fn jwk_members_of_the_wrong_type_are_errors() {
    for (json, member) in [
        (r#"{"kty": 1}"#, "kty"),
        (r#"{"kty": "RSA", "kid": 1}"#, "kid"),
        (r#"{"kty": "RSA", "use": ["sig"]}"#, "use"),
        (r#"{"kty": "EC", "x": null}"#, "x"),
    ] {
        let err = Jwk::parse(json).unwrap_err();
        assert!(
            matches!(err, Error::InvalidJwk { member: Some(m), .. } if m == member),
            "{json}: {err:?}"
        );
    }
    assert!(matches!(Jwk::parse("{}"), Err(Error::InvalidJwk { .. })));
    assert!(matches!(Jwk::parse("[1]"), Err(Error::JwkJson(_))));
}

#[test]
fn private_jwk_read_as_public_drops_the_secret() {
    let jwk = Jwk::parse(P384_PRIVATE_JWK).unwrap();
    let private: Value = serde_json::from_str(P384_PRIVATE_JWK).unwrap();
    let d = private["d"].as_str().unwrap();
    let shown = format!("{jwk:?} {}", serde_json::to_string(&jwk).unwrap());
    assert!(!shown.contains(d), "{shown}");
    let rsa = Jwk::parse(RSA2048_PRIVATE_JWK).unwrap();
    let json = serde_json::to_value(&rsa).unwrap();
    for member in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(json.get(member).is_none(), "{member}");
    }
    assert_eq!(rsa.thumbprint().unwrap(), RSA2048_THUMBPRINT.trim());
}

#[test]
fn with_alg_pins_a_fitting_algorithm() {
    use smart_jwt_assertion::Algorithm;

    let rsa = rsa2048().public_jwk(Some("k"));
    assert_eq!(rsa.alg(), Some("RS384"));
    let rs256 = rsa.clone().with_alg(Algorithm::Rs256).unwrap();
    assert_eq!(rs256.alg(), Some("RS256"));
    assert_eq!(rs256.thumbprint().unwrap(), rsa.thumbprint().unwrap());
    let err = rsa.with_alg(Algorithm::Es384).unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlgorithmMismatch {
                alg: Algorithm::Es384,
                key: "an RSA key"
            }
        ),
        "{err:?}"
    );
    let ec = p384().public_jwk(None);
    assert!(matches!(
        ec.with_alg(Algorithm::Rs256),
        Err(Error::AlgorithmMismatch {
            key: "an EC key",
            ..
        })
    ));
}
