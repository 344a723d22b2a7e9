//! Discovery and `signed_metadata`: every gate has a negative case.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use http::Response;
use serde_json::{Value, json};
use smart_core::FixedClock;
use smart_jwt_assertion::{Algorithm, sign_compact};
use smart_udap::test_util::{CertSpec, LeafKey, TestPki, sign_with_x5c};
use smart_udap::{
    BoxError, ChainError, Community, ConformanceFinding, MetadataCache, RevocationStatus,
    SignedMetadataProblem, TrustPolicy, UdapError, X509Certificate, discovery_request,
    read_discovery,
};

use crate::fixture::{BASE, NOW, Server, base, clock, discover, discover_in, has, problems};

#[test]
fn a_good_document_verifies_and_is_conformant() {
    let server = Server::new();
    let verified = server.verified();
    assert_eq!(
        verified.signed().token_endpoint().as_str(),
        format!("{BASE}/token")
    );
    assert_eq!(verified.signed().leaf().uri_sans(), [BASE]);
    let report = verified.metadata().conformance();
    assert!(report.is_conformant(), "{:?}", report.findings());
    assert!(verified.metadata().supports_dynamic_registration());
    assert!(verified.metadata().supports_client_authorization());
    assert!(verified.metadata().supports_authorization_code());
    assert!(verified.metadata().supports_refresh_token());
    assert!(!verified.metadata().supports_tiered_oauth());
    assert!(verified.metadata().supports_signed_metadata());
}

#[test]
fn the_request_carries_the_community() {
    let community = Community::parse("urn:oid:2.16.840.1.113883").unwrap();
    let request = discovery_request(&base(), community.as_ref()).unwrap();
    assert_eq!(
        request.uri().to_string(),
        "https://fhir.example/r4/.well-known/udap?community=urn%3Aoid%3A2.16.840.1.113883"
    );
    assert_eq!(request.method(), http::Method::GET);
    assert_eq!(request.headers()["accept"], "application/json");
    let plain = discovery_request(&base(), None).unwrap();
    assert_eq!(
        plain.uri().to_string(),
        "https://fhir.example/r4/.well-known/udap"
    );
}

fn status(code: u16, body: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(code)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[test]
fn statuses_and_bodies() {
    let server = Server::new();
    let policy = server.policy();
    let community = Community::parse("urn:x:y").unwrap();
    let read = |response: Response<Vec<u8>>, community: Option<&Community>| {
        read_discovery(&base(), community, &response, &policy, &clock())
    };
    let error = read(status(204, ""), community.as_ref()).unwrap_err();
    assert!(matches!(error, UdapError::NoUdapWorkflows { .. }));
    assert!(
        error
            .to_string()
            .contains("no UDAP workflows supported for community urn:x:y")
    );
    assert!(matches!(
        read(status(404, ""), None),
        Err(UdapError::NotSupported { .. })
    ));
    assert!(matches!(
        read(status(500, "{}"), None),
        Err(UdapError::Status { .. })
    ));
    assert!(matches!(
        read(status(200, "<html>"), None),
        Err(UdapError::Body { .. })
    ));
    assert!(matches!(
        read(status(200, "[]"), None),
        Err(UdapError::Body { .. })
    ));
}

#[test]
fn signed_metadata_is_always_required() {
    let server = Server::new();
    let mut document = server.good_document();
    document.remove("signed_metadata");
    assert!(has(
        &problems(discover(&document, &server.policy())),
        "must be a compact-JWS string"
    ));
    document.insert("signed_metadata".into(), json!(42));
    let dev = server.policy().dangerous_skip_chain_validation();
    assert!(has(
        &problems(discover(&document, &dev)),
        "must be a compact-JWS string"
    ));
    document.insert("signed_metadata".into(), json!("a.b"));
    assert!(has(
        &problems(discover(&document, &dev)),
        "could not decode signed_metadata JWT"
    ));
}

#[test]
fn the_community_is_named_in_refusals() {
    let server = Server::new();
    let mut document = server.good_document();
    document.remove("signed_metadata");
    let error = discover_in("urn:c:1", &document, &server.policy()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("signed_metadata validation failed for community urn:c:1"),
        "{error}"
    );
}

#[test]
fn only_rs256_is_accepted() {
    let server = Server::new();
    let rs384 = sign_with_x5c(
        &server.claims(),
        &server.leaf.key,
        Algorithm::Rs384,
        &[&server.leaf.certificate],
    )
    .unwrap();
    let found = problems(discover(&server.document(&rs384), &server.policy()));
    assert_eq!(
        found,
        ["alg 'RS384' is not permitted; expected RS256 (UDAP Security STU2)"]
    );
    // An ES384 leaf: refused for its algorithm before anything else.
    let ec = server
        .pki
        .leaf(&server.pki.leaf_spec(BASE, LeafKey::P384))
        .unwrap();
    let es384 = sign_with_x5c(
        &server.claims(),
        &ec.key,
        Algorithm::Es384,
        &[&ec.certificate],
    )
    .unwrap();
    assert!(has(
        &problems(discover(&server.document(&es384), &server.policy())),
        "alg 'ES384'"
    ));
}

#[test]
fn a_kid_in_the_header_does_not_stop_verification() {
    let server = Server::new();
    let signer = server.leaf.key.signer(Some(Algorithm::Rs256)).unwrap();
    let mut header = serde_json::Map::new();
    header.insert("kid".into(), json!("server-key-2026"));
    header.insert(
        "x5c".into(),
        json!([
            server.leaf.certificate.to_x5c(),
            server.pki.intermediate().to_x5c()
        ]),
    );
    let token = sign_compact(&header, &server.claims(), &signer).unwrap();
    assert!(discover(&server.document(&token), &server.policy()).is_ok());
}

#[test]
fn x5c_is_required_and_must_decode() {
    let server = Server::new();
    let signer = server.leaf.key.signer(Some(Algorithm::Rs256)).unwrap();
    let no_x5c = sign_compact(&serde_json::Map::new(), &server.claims(), &signer).unwrap();
    assert!(has(
        &problems(discover(&server.document(&no_x5c), &server.policy())),
        "x5c header"
    ));
    let mut header = serde_json::Map::new();
    header.insert("x5c".into(), json!([]));
    let empty = sign_compact(&header, &server.claims(), &signer).unwrap();
    assert!(has(
        &problems(discover(&server.document(&empty), &server.policy())),
        "x5c header"
    ));
    header.insert("x5c".into(), json!(["bm90IGEgY2VydA=="]));
    let garbage = sign_compact(&header, &server.claims(), &signer).unwrap();
    assert!(matches!(
        discover(&server.document(&garbage), &server.policy()),
        Err(UdapError::MalformedCertificate {
            what: "x5c leaf",
            ..
        })
    ));
}

#[test]
fn a_tampered_signature_is_refused_even_without_chain_checks() {
    let server = Server::new();
    let token = server.sign(&server.claims());
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let mut bytes: Vec<char> = signature.chars().collect();
    bytes[10] = if bytes[10] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{rest}.{}", bytes.into_iter().collect::<String>());
    let dev = server.policy().dangerous_skip_chain_validation();
    assert!(has(
        &problems(discover(&server.document(&tampered), &dev)),
        "signature verification failed"
    ));
    // A payload swapped under the original signature fails too.
    let (header, _) = rest.split_once('.').unwrap();
    let mut claims = server.claims();
    claims.insert("token_endpoint".into(), json!("https://evil.example/token"));
    let other = server.sign(&claims);
    let payload = other.split('.').nth(1).unwrap();
    let swapped = format!("{header}.{payload}.{signature}");
    assert!(has(
        &problems(discover(&server.document(&swapped), &dev)),
        "signature verification failed"
    ));
}

#[test]
fn a_chain_to_an_untrusted_root_is_refused() {
    let server = Server::new();
    let other = TestPki::new(UNIX_EPOCH + Duration::from_secs(NOW)).unwrap();
    let mut policy = TrustPolicy::new(vec![other.root().clone()]);
    for crl in other.empty_crls().unwrap() {
        policy = policy.with_crl(crl);
    }
    let found = problems(discover(&server.good_document(), &policy));
    assert!(has(&found, "unable to get issuer certificate"), "{found:?}");
    // Without the intermediate in x5c, the path cannot be built either.
    let leaf_only = sign_with_x5c(
        &server.claims(),
        &server.leaf.key,
        Algorithm::Rs256,
        &[&server.leaf.certificate],
    )
    .unwrap();
    assert!(has(
        &problems(discover(&server.document(&leaf_only), &server.policy())),
        "unable to get issuer"
    ));
    // The dev switch skips only the chain: the same document passes.
    assert!(
        discover(
            &server.good_document(),
            &policy.dangerous_skip_chain_validation()
        )
        .is_ok()
    );
}

#[test]
fn an_expired_or_future_leaf_is_refused() {
    let server = Server::new();
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    for (spec_change, state) in [
        (
            (
                now - Duration::from_secs(86_400 * 10),
                now - Duration::from_secs(60),
            ),
            "expired",
        ),
        (
            (
                now + Duration::from_secs(60),
                now + Duration::from_secs(86_400),
            ),
            "not yet valid",
        ),
    ] {
        let mut spec = server.pki.leaf_spec(BASE, LeafKey::ServerRsa);
        (spec.not_before, spec.not_after) = spec_change;
        let leaf = server.pki.leaf(&spec).unwrap();
        let token = sign_with_x5c(
            &server.claims(),
            &leaf.key,
            Algorithm::Rs256,
            &[&leaf.certificate, server.pki.intermediate()],
        )
        .unwrap();
        let found = problems(discover(&server.document(&token), &server.policy()));
        assert!(has(&found, state), "{found:?}");
    }
}

#[test]
fn revocation_through_crls() {
    let server = Server::new();
    let anchors = vec![server.pki.root().clone()];
    let revoked = TrustPolicy::new(anchors.clone())
        .with_crl(server.pki.root_crl(&[]).unwrap())
        .with_crl(
            server
                .pki
                .intermediate_crl(&[&server.leaf.certificate])
                .unwrap(),
        );
    let found = problems(discover(&server.good_document(), &revoked));
    assert!(has(&found, "is revoked"), "{found:?}");
    // The intermediate revoked by the root.
    let intermediate_revoked = TrustPolicy::new(anchors.clone())
        .with_crl(server.pki.root_crl(&[server.pki.intermediate()]).unwrap())
        .with_crl(server.pki.intermediate_crl(&[]).unwrap());
    assert!(has(
        &problems(discover(&server.good_document(), &intermediate_revoked)),
        "is revoked"
    ));
    // A CRL missing for one level fails closed.
    let partial =
        TrustPolicy::new(anchors.clone()).with_crl(server.pki.intermediate_crl(&[]).unwrap());
    assert!(has(
        &problems(discover(&server.good_document(), &partial)),
        "unable to get a current CRL"
    ));
    // A CRL from another PKI with the same issuer name does not verify: fails closed.
    let other = TestPki::new(UNIX_EPOCH + Duration::from_secs(NOW)).unwrap();
    let forged = TrustPolicy::new(anchors.clone())
        .with_crl(server.pki.root_crl(&[]).unwrap())
        .with_crl(other.intermediate_crl(&[]).unwrap());
    assert!(has(
        &problems(discover(&server.good_document(), &forged)),
        "unable to get a current CRL"
    ));
    // A CRL with a critical extension this validator does not process is not used.
    let critical = TrustPolicy::new(anchors.clone())
        .with_crl(server.pki.root_crl(&[]).unwrap())
        .with_crl(
            server
                .pki
                .intermediate_crl_with_critical_extension()
                .unwrap(),
        );
    assert!(has(
        &problems(discover(&server.good_document(), &critical)),
        "unable to get a current CRL"
    ));
    // No revocation source at all.
    let none = TrustPolicy::new(anchors);
    assert_eq!(
        problems(discover(&server.good_document(), &none)),
        ["certificate revocation checking is required when verify_chain is true"]
    );
}

#[test]
fn a_revocation_checker_must_answer_good() {
    let server = Server::new();
    let with = |answer: Result<RevocationStatus, &'static str>| {
        let checker = move |_: &X509Certificate| -> Result<RevocationStatus, BoxError> {
            answer.map_err(Into::into)
        };
        TrustPolicy::new(vec![server.pki.root().clone()]).with_revocation_checker(Arc::new(checker))
    };
    assert!(discover(&server.good_document(), &with(Ok(RevocationStatus::Good))).is_ok());
    for answer in [
        Ok(RevocationStatus::Revoked),
        Ok(RevocationStatus::Unknown),
        Err("ocsp down"),
    ] {
        let found = problems(discover(&server.good_document(), &with(answer)));
        assert!(
            has(&found, "certificate revocation check failed"),
            "{found:?}"
        );
    }
}

#[test]
fn leaf_key_usage_and_critical_extensions() {
    let server = Server::new();
    let mut spec = server.pki.leaf_spec(BASE, LeafKey::ServerRsa);
    spec.digital_signature = false;
    let leaf = server.pki.leaf(&spec).unwrap();
    let token = sign_with_x5c(
        &server.claims(),
        &leaf.key,
        Algorithm::Rs256,
        &[&leaf.certificate, server.pki.intermediate()],
    )
    .unwrap();
    assert!(has(
        &problems(discover(&server.document(&token), &server.policy())),
        "does not allow digital signatures"
    ));

    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let cert_spec = CertSpec {
        subject: "CN=critical".into(),
        ca: Some(false),
        key_usage: None,
        uri_sans: vec![BASE.into()],
        validity: (
            now - Duration::from_secs(60),
            now + Duration::from_secs(86_400),
        ),
        extra_critical: Some("1.2.3.4.5"),
    };
    let spki = server
        .leaf
        .certificate
        .certificate()
        .tbs_certificate()
        .subject_public_key_info()
        .clone();
    let critical = server.pki.issue(&cert_spec, spki).unwrap();
    let token = sign_with_x5c(
        &server.claims(),
        &server.leaf.key,
        Algorithm::Rs256,
        &[&critical, server.pki.intermediate()],
    )
    .unwrap();
    assert!(has(
        &problems(discover(&server.document(&token), &server.policy())),
        "unsupported critical extension 1.2.3.4.5"
    ));
}

#[test]
fn an_issuer_that_is_not_a_ca_is_refused() {
    // A certificate with the intermediate's name and key but basicConstraints CA=false, placed
    // before the real intermediate in x5c: the path goes leaf -> it -> intermediate -> root,
    // and it may not issue.
    let server = Server::new();
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let intermediate = server.pki.intermediate();
    let spec = CertSpec {
        subject: intermediate.subject(),
        ca: Some(false),
        key_usage: None,
        uri_sans: Vec::new(),
        validity: (
            now - Duration::from_secs(60),
            now + Duration::from_secs(86_400),
        ),
        extra_critical: None,
    };
    let spki = intermediate
        .certificate()
        .tbs_certificate()
        .subject_public_key_info()
        .clone();
    let not_ca = server.pki.issue(&spec, spki).unwrap();
    let token = sign_with_x5c(
        &server.claims(),
        &server.leaf.key,
        Algorithm::Rs256,
        &[&server.leaf.certificate, &not_ca, intermediate],
    )
    .unwrap();
    let found = problems(discover(&server.document(&token), &server.policy()));
    assert!(has(&found, "is not a CA certificate"), "{found:?}");
}

#[test]
fn claims_are_all_checked_and_all_reported() {
    let server = Server::new();
    let mut claims = server.claims();
    claims.insert("sub".into(), json!("https://other.example"));
    claims.insert("iat".into(), json!("yesterday"));
    claims.remove("jti");
    claims.insert("token_endpoint".into(), json!("http://fhir.example/token"));
    claims.remove("registration_endpoint");
    claims.remove("authorization_endpoint");
    let found = problems(discover(
        &server.document(&server.sign(&claims)),
        &server.policy(),
    ));
    for needle in [
        "sub claim must equal iss",
        "iat claim must be an integer",
        "jti claim is missing",
        "token_endpoint claim must be an absolute HTTPS URL",
        "registration_endpoint claim is missing",
        "authorization_endpoint claim is missing",
    ] {
        assert!(has(&found, needle), "{needle}: {found:?}");
    }
    assert_eq!(found.len(), 6, "{found:?}");
}

#[test]
fn expiry_window() {
    let server = Server::new();
    let mut claims = server.claims();
    claims.insert("exp".into(), json!(NOW));
    assert!(has(
        &problems(discover(
            &server.document(&server.sign(&claims)),
            &server.policy()
        )),
        "signed_metadata has expired"
    ));
    claims.insert("iat".into(), json!(NOW - 10));
    claims.insert("exp".into(), json!(NOW - 10 + 365 * 86_400 + 1));
    assert!(has(
        &problems(discover(
            &server.document(&server.sign(&claims)),
            &server.policy()
        )),
        "no more than one year after iat"
    ));
    claims.insert("exp".into(), json!(NOW - 10 + 365 * 86_400));
    assert!(discover(&server.document(&server.sign(&claims)), &server.policy()).is_ok());
    claims.remove("exp");
    assert!(has(
        &problems(discover(
            &server.document(&server.sign(&claims)),
            &server.policy()
        )),
        "exp claim must be an integer"
    ));
}

#[test]
fn iss_must_be_a_san_and_the_base() {
    let server = Server::new();
    // SAN mismatch: a leaf for another URI.
    let other_leaf = server
        .pki
        .leaf(
            &server
                .pki
                .leaf_spec("https://other.example/fhir", LeafKey::ServerRsa),
        )
        .unwrap();
    let token = sign_with_x5c(
        &server.claims(),
        &other_leaf.key,
        Algorithm::Rs256,
        &[&other_leaf.certificate, server.pki.intermediate()],
    )
    .unwrap();
    let found = problems(discover(&server.document(&token), &server.policy()));
    assert_eq!(
        found,
        ["iss claim does not match any URI SAN of the x5c leaf certificate"]
    );
    // iss != base, though it is the leaf's SAN.
    let mut claims = server.claims();
    claims.insert("iss".into(), json!("https://other.example/fhir"));
    claims.insert("sub".into(), json!("https://other.example/fhir"));
    let token = sign_with_x5c(
        &claims,
        &other_leaf.key,
        Algorithm::Rs256,
        &[&other_leaf.certificate, server.pki.intermediate()],
    )
    .unwrap();
    let found = problems(discover(&server.document(&token), &server.policy()));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("does not equal the base URL \"https://fhir.example/r4\""),
        "{found:?}"
    );
    // A trailing slash on the configured base is not part of the comparison.
    let slash = smart_core::FhirBaseUrl::parse(format!("{BASE}/")).unwrap();
    let response = crate::fixture::ok(&server.good_document());
    assert!(read_discovery(&slash, None, &response, &server.policy(), &clock()).is_ok());
    claims.remove("iss");
    let found = problems(discover(
        &server.document(&server.sign(&claims)),
        &server.policy(),
    ));
    assert!(has(&found, "iss claim is missing"));
}

#[test]
fn signed_endpoints_override_unsigned_ones() {
    let server = Server::new();
    let mut document = server.good_document();
    document.insert(
        "token_endpoint".into(),
        json!("https://attacker.example/token"),
    );
    document.insert(
        "registration_endpoint".into(),
        json!("https://attacker.example/register"),
    );
    let verified = discover(&document, &server.policy()).unwrap();
    assert_eq!(
        verified.metadata().token_endpoint(),
        Some(format!("{BASE}/token").as_str())
    );
    assert_eq!(
        verified.metadata().registration_endpoint(),
        Some(format!("{BASE}/register").as_str())
    );
    assert_eq!(
        verified.signed().registration_endpoint().as_str(),
        format!("{BASE}/register")
    );
}

#[test]
fn conformance_findings_use_safires_texts() {
    let server = Server::new();
    let mut document = server.good_document();
    document.insert("udap_versions_supported".into(), json!(["1", "2"]));
    document.insert(
        "token_endpoint_auth_methods_supported".into(),
        json!(["client_secret_basic"]),
    );
    document.insert("udap_profiles_supported".into(), json!(["udap_authn"]));
    document.insert(
        "udap_certifications_supported".into(),
        json!(["https://cert.example/a"]),
    );
    document.insert(
        "udap_authorization_extensions_required".into(),
        json!(["hl7-b2b", "tefca"]),
    );
    document.insert("scopes_supported".into(), json!([]));
    let doc = smart_udap::UdapMetadata::from_object(
        document.clone(),
        smart_core::TransportPolicy::STRICT,
    );
    let texts: Vec<String> = doc
        .conformance()
        .findings()
        .iter()
        .map(ToString::to_string)
        .collect();
    for expected in [
        "udap_versions_supported must be the fixed array ['1'] (UDAP Security STU2 fixed value)",
        "'udap_dcr' is missing from udap_profiles_supported (required by UDAP Security STU2)",
        "token_endpoint_auth_methods_supported must be the fixed array ['private_key_jwt'] (required by UDAP Security STU2)",
        "scopes_supported must be a non-empty array (required by UDAP Security STU2)",
        "udap_certifications_required must be present when udap_certifications_supported is non-empty",
        "'udap_authz' is required in udap_profiles_supported when client_credentials grant type is supported",
        "udap_authorization_extensions_required contains values not in udap_authorization_extensions_supported: tefca",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "{expected}\n{texts:#?}"
        );
    }
    document.remove("token_endpoint");
    document.insert("grant_types_supported".into(), json!("client_credentials"));
    let doc = smart_udap::UdapMetadata::from_object(document, smart_core::TransportPolicy::STRICT);
    assert_eq!(
        doc.conformance().findings(),
        [
            ConformanceFinding::MissingField("token_endpoint"),
            ConformanceFinding::NotStringArray("grant_types_supported")
        ]
    );
}

#[test]
fn the_cache_reverifies_on_every_hit() {
    let server = Server::new();
    let cache = MetadataCache::new();
    let policy = server.policy();
    let verified = server.verified();
    cache.insert(&policy, &verified);
    assert!(cache.get(&base(), None, &policy, &clock()).is_some());
    // Another policy (no CRLs, dev switch) is another entry: a miss.
    let lenient =
        TrustPolicy::new(vec![server.pki.root().clone()]).dangerous_skip_chain_validation();
    assert!(cache.get(&base(), None, &lenient, &clock()).is_none());
    // Another community: a miss.
    let community = Community::parse("urn:c:2").unwrap();
    assert!(
        cache
            .get(&base(), community.as_ref(), &policy, &clock())
            .is_none()
    );
    // After signed_metadata's exp the hit fails verification and the entry is dropped.
    let later = FixedClock::from_unix_seconds(NOW + 7200);
    assert!(cache.get(&base(), None, &policy, &later).is_none());
    assert!(cache.is_empty());
}

#[test]
fn problems_are_typed() {
    let server = Server::new();
    let mut claims = server.claims();
    claims.remove("jti");
    match discover(&server.document(&server.sign(&claims)), &server.policy()) {
        Err(UdapError::SignedMetadata {
            problems,
            community: None,
        }) => {
            assert!(matches!(
                problems[..],
                [SignedMetadataProblem::Claim("jti claim is missing")]
            ));
        }
        other => panic!("{other:?}"),
    }
    let none = TrustPolicy::new(vec![server.pki.root().clone()]);
    match discover(&server.good_document(), &none) {
        Err(UdapError::SignedMetadata { problems, .. }) => {
            assert!(matches!(
                problems[..],
                [SignedMetadataProblem::Chain(ChainError::RevocationRequired)]
            ));
        }
        other => panic!("{other:?}"),
    }
    let _: Value = json!(null);
}
