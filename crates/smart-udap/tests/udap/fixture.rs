//! A UDAP server's signed metadata over a fresh test PKI.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use http::Response;
use serde_json::{Map, Value, json};
use smart_core::{Clock, FhirBaseUrl, FixedClock};
use smart_jwt_assertion::Algorithm;
use smart_udap::test_util::{Leaf, LeafKey, TestPki, sign_with_x5c};
use smart_udap::{Community, TrustPolicy, UdapError, VerifiedUdapMetadata, read_discovery};

pub(crate) const BASE: &str = "https://fhir.example/r4";
pub(crate) const NOW: u64 = 1_800_000_000;

pub(crate) fn clock() -> FixedClock {
    FixedClock::from_unix_seconds(NOW)
}

pub(crate) fn clock_at(seconds: u64) -> Arc<dyn Clock> {
    Arc::new(FixedClock::from_unix_seconds(seconds))
}

pub(crate) fn base() -> FhirBaseUrl {
    FhirBaseUrl::parse(BASE).unwrap()
}

pub(crate) struct Server {
    pub(crate) pki: TestPki,
    pub(crate) leaf: Leaf,
}

impl Server {
    pub(crate) fn new() -> Self {
        let pki = TestPki::new(UNIX_EPOCH + Duration::from_secs(NOW)).unwrap();
        let leaf = pki.leaf(&pki.leaf_spec(BASE, LeafKey::ServerRsa)).unwrap();
        Self { pki, leaf }
    }

    /// Anchors = the root, both CRLs empty.
    pub(crate) fn policy(&self) -> TrustPolicy {
        let mut policy = TrustPolicy::new(vec![self.pki.root().clone()]);
        for crl in self.pki.empty_crls().unwrap() {
            policy = policy.with_crl(crl);
        }
        policy
    }

    pub(crate) fn claims(&self) -> Map<String, Value> {
        json!({
            "iss": BASE, "sub": BASE, "iat": NOW - 60, "exp": NOW + 3600, "jti": "jti-1",
            "token_endpoint": format!("{BASE}/token"),
            "registration_endpoint": format!("{BASE}/register"),
            "authorization_endpoint": format!("{BASE}/authorize"),
        })
        .as_object()
        .unwrap()
        .clone()
    }

    pub(crate) fn sign(&self, claims: &Map<String, Value>) -> String {
        sign_with_x5c(
            claims,
            &self.leaf.key,
            Algorithm::Rs256,
            &[&self.leaf.certificate, self.pki.intermediate()],
        )
        .unwrap()
    }

    pub(crate) fn document(&self, signed_metadata: &str) -> Map<String, Value> {
        json!({
            "udap_versions_supported": ["1"],
            "udap_profiles_supported": ["udap_dcr", "udap_authn", "udap_authz"],
            "udap_authorization_extensions_supported": ["hl7-b2b"],
            "udap_authorization_extensions_required": ["hl7-b2b"],
            "udap_certifications_supported": [],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "scopes_supported": ["openid", "system/*.rs"],
            "authorization_endpoint": format!("{BASE}/authorize"),
            "token_endpoint": format!("{BASE}/token"),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES384"],
            "registration_endpoint": format!("{BASE}/register"),
            "registration_endpoint_jwt_signing_alg_values_supported": ["RS256", "ES384"],
            "signed_metadata": signed_metadata,
        })
        .as_object()
        .unwrap()
        .clone()
    }

    pub(crate) fn good_document(&self) -> Map<String, Value> {
        self.document(&self.sign(&self.claims()))
    }

    pub(crate) fn verified(&self) -> VerifiedUdapMetadata {
        discover(&self.good_document(), &self.policy()).unwrap()
    }
}

pub(crate) fn ok(document: &Map<String, Value>) -> Response<Vec<u8>> {
    Response::builder()
        .status(200)
        .body(serde_json::to_vec(document).unwrap())
        .unwrap()
}

pub(crate) fn discover(
    document: &Map<String, Value>,
    policy: &TrustPolicy,
) -> Result<VerifiedUdapMetadata, UdapError> {
    read_discovery(&base(), None, &ok(document), policy, &clock())
}

pub(crate) fn discover_in(
    community: &str,
    document: &Map<String, Value>,
    policy: &TrustPolicy,
) -> Result<VerifiedUdapMetadata, UdapError> {
    let community = Community::parse(community).unwrap();
    read_discovery(&base(), community.as_ref(), &ok(document), policy, &clock())
}

/// The problems' messages of a `signed_metadata` refusal.
pub(crate) fn problems(result: Result<VerifiedUdapMetadata, UdapError>) -> Vec<String> {
    match result {
        Err(UdapError::SignedMetadata { problems, .. }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("expected a signed_metadata refusal, got {other}"),
        Ok(_) => panic!("expected a signed_metadata refusal, got success"),
    }
}

pub(crate) fn has(problems: &[String], needle: &str) -> bool {
    problems.iter().any(|p| p.contains(needle))
}

/// The key's public JWK Set without an `alg`, so RS256 and RS384 both fit.
pub(crate) fn any_alg_keys(key: &smart_jwt_assertion::PrivateKey) -> smart_jwt_assertion::JwkSet {
    let mut value = serde_json::to_value(key.public_jwk(None)).unwrap();
    value.as_object_mut().unwrap().remove("alg");
    let jwk = smart_jwt_assertion::Jwk::from_object(value.as_object().unwrap().clone()).unwrap();
    smart_jwt_assertion::JwkSet { keys: vec![jwk] }
}
