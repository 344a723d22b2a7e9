//! The built-in demo clients, their credentials and keys, and the demo FHIR data.
//!
//! # Security
//!
//! Everything here is **public test material**: the secret and the private keys are committed
//! to a public repository (`crates/smart-sandbox/keys/`). Use them only with the sandbox, never
//! with a real server.

use smart_jwt_assertion::{JwkSet, PrivateKey};
use smart_token::scope::ScopeSet;

use crate::config::{ClientKeys, GrantType, RegisteredClient};

/// A public client (no authentication; PKCE): `client-public`. Its [`REDIRECT_URI`] matches
/// on any port, for `smart launch`'s ephemeral loopback listener.
pub const PUBLIC_CLIENT_ID: &str = "sandbox-public";
/// A confidential client with a client secret, registered for `client_secret_basic` (what
/// smart-client sends by default; the secret in the body is refused):
/// `client-confidential-symmetric`. Its [`REDIRECT_URI`] matches on any port, for the
/// `ehr_launch_web_app` example's app on an ephemeral port.
pub const SYMMETRIC_CLIENT_ID: &str = "sandbox-symmetric";
/// The secret of [`SYMMETRIC_CLIENT_ID`]. It has `:`, `+`, `/` and `=` on purpose: servers
/// compare the Basic credentials raw, and a client that form-encodes them (RFC 6749 §2.3.1)
/// must still be understood.
pub const SYMMETRIC_CLIENT_SECRET: &str = "sandbox-only:s3cret+/=";
/// A confidential client with an inline JWK Set ([`client_jwks`]):
/// `client-confidential-asymmetric`.
pub const ASYMMETRIC_CLIENT_ID: &str = "sandbox-asymmetric";
/// A confidential asymmetric client whose JWK Set is registered by URL: the sandbox serves
/// [`client_jwks`] at [`CLIENT_JWKS_PATH`] and reads it from there.
pub const ASYMMETRIC_JKU_CLIENT_ID: &str = "sandbox-asymmetric-jwks-uri";
/// A SMART Backend Services client (`client_credentials` with a signed assertion).
pub const BACKEND_CLIENT_ID: &str = "sandbox-backend";
/// The redirect URI of the user-facing demo clients. The sandbox matches redirect URIs
/// exactly; only [`PUBLIC_CLIENT_ID`] and [`SYMMETRIC_CLIENT_ID`] are registered with
/// [`loopback_redirect_any_port`](crate::RegisteredClient::with_loopback_redirect_any_port)
/// (RFC 8252 §7.3), so for them `http://127.0.0.1:8765/callback` is accepted too. The
/// asymmetric demo clients accept this URI alone.
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// Where the sandbox serves the demo clients' JWK Set (append to the base URL).
pub const CLIENT_JWKS_PATH: &str = "/demo/client-jwks.json";

/// The scopes the demo user-facing clients are registered for.
pub const CLIENT_SCOPES: &str = crate::config::DEFAULT_USER_SCOPES;
/// The scopes the demo backend client is registered for.
pub const BACKEND_SCOPES: &str = "system/*.rs";

/// The demo patient: chosen by default in standalone launches, and in [`LaunchContext::demo`](crate::LaunchContext::demo).
pub const PATIENT_ID: &str = "sandbox-patient-1";
/// A second patient, for "wrong patient" tests.
pub const OTHER_PATIENT_ID: &str = "sandbox-patient-2";
/// The demo encounter (of [`PATIENT_ID`]).
pub const ENCOUNTER_ID: &str = "sandbox-encounter-1";
/// The demo practitioner: the signed-in user (`fhirUser`) of EHR launches and provider apps.
pub const PRACTITIONER_ID: &str = "sandbox-practitioner-1";

/// The demo clinician's username on the login page
/// ([`SandboxConfig::login_and_consent`](crate::SandboxConfig::login_and_consent)): signs in
/// as [`PRACTITIONER_ID`]. Its password is [`USER_PASSWORD`].
pub const PRACTITIONER_USERNAME: &str = "clinician";
/// The demo patient's username on the login page: signs in as [`PATIENT_ID`]. Its password
/// is [`USER_PASSWORD`].
pub const PATIENT_USERNAME: &str = "amy";
/// The password of every demo user. Public test material.
pub const USER_PASSWORD: &str = "sandbox-password";

/// The signed-in user (a relative reference) of a demo username.
pub(crate) fn user_of(username: &str) -> Option<String> {
    match username {
        PRACTITIONER_USERNAME => Some(format!("Practitioner/{PRACTITIONER_ID}")),
        PATIENT_USERNAME => Some(format!("Patient/{PATIENT_ID}")),
        _ => None,
    }
}

/// The `kid` of the ES384 demo client key ([`es384_key`]).
pub const ES384_KID: &str = "sandbox-es384";
/// The `kid` of the RS384 demo client key ([`rs384_key`]).
pub const RS384_KID: &str = "sandbox-rs384";
/// The `kid` of the sandbox's own RS256 `id_token` key, published at `/jwks`.
pub const ID_TOKEN_KID: &str = "sandbox-id-token-rs256";

const ES384_PEM: &str = include_str!("../keys/es384.pem");
const RS384_PEM: &str = include_str!("../keys/rs384.pem");
const ID_TOKEN_PEM: &str = include_str!("../keys/id-token-rs256.pem");

fn committed_key(pem: &str) -> PrivateKey {
    PrivateKey::from_pem(pem).expect("the committed demo keys parse (checked by a unit test)")
}

/// The ES384 (P-384) demo client key, registered under [`ES384_KID`] by the asymmetric and
/// backend demo clients. Public test material.
#[must_use]
pub fn es384_key() -> PrivateKey {
    committed_key(ES384_PEM)
}

/// The RS384 (RSA 2048) demo client key, registered under [`RS384_KID`] by the asymmetric
/// and backend demo clients. Public test material.
#[must_use]
pub fn rs384_key() -> PrivateKey {
    committed_key(RS384_PEM)
}

/// The key [`ASYMMETRIC_CLIENT_ID`] and [`ASYMMETRIC_JKU_CLIENT_ID`] sign with in the demo:
/// [`es384_key`].
#[must_use]
pub fn asymmetric_key() -> PrivateKey {
    es384_key()
}

/// The `kid` of [`asymmetric_key`].
#[must_use]
pub fn asymmetric_kid() -> &'static str {
    ES384_KID
}

/// The key [`BACKEND_CLIENT_ID`] signs with in the demo: [`rs384_key`].
#[must_use]
pub fn backend_key() -> PrivateKey {
    rs384_key()
}

/// The `kid` of [`backend_key`].
#[must_use]
pub fn backend_kid() -> &'static str {
    RS384_KID
}

/// The public JWK Set of the demo client keys: [`es384_key`] as [`ES384_KID`] and
/// [`rs384_key`] as [`RS384_KID`].
#[must_use]
pub fn client_jwks() -> JwkSet {
    [
        es384_key().public_jwk(Some(ES384_KID)),
        rs384_key().public_jwk(Some(RS384_KID)),
    ]
    .into_iter()
    .collect()
}

/// The sandbox's `id_token` signing key.
pub(crate) fn id_token_key() -> PrivateKey {
    committed_key(ID_TOKEN_PEM)
}

fn scopes(text: &str) -> ScopeSet {
    ScopeSet::parse(text).expect("the demo scope strings are valid (checked by a unit test)")
}

/// The built-in clients of a sandbox at `base_url` (the `jwks_uri` client points into it).
#[must_use]
pub fn clients(base_url: &str) -> Vec<RegisteredClient> {
    let redirect = vec![REDIRECT_URI.to_owned()];
    vec![
        // `smart launch` listens on an ephemeral port (its CLI test uses this client).
        RegisteredClient::public(PUBLIC_CLIENT_ID, redirect.clone())
            .with_scopes(scopes(CLIENT_SCOPES))
            .with_loopback_redirect_any_port(true),
        // The ehr_launch_web_app example serves its app on an ephemeral port.
        RegisteredClient::confidential_symmetric(
            SYMMETRIC_CLIENT_ID,
            SYMMETRIC_CLIENT_SECRET,
            redirect.clone(),
        )
        .with_scopes(scopes(CLIENT_SCOPES))
        .with_loopback_redirect_any_port(true),
        RegisteredClient::confidential_asymmetric(
            ASYMMETRIC_CLIENT_ID,
            ClientKeys::Jwks(client_jwks()),
            redirect.clone(),
        )
        .with_scopes(scopes(CLIENT_SCOPES)),
        RegisteredClient::confidential_asymmetric(
            ASYMMETRIC_JKU_CLIENT_ID,
            ClientKeys::JwksUri(format!("{base_url}{CLIENT_JWKS_PATH}")),
            redirect,
        )
        .with_scopes(scopes(CLIENT_SCOPES)),
        RegisteredClient::backend_service(BACKEND_CLIENT_ID, ClientKeys::Jwks(client_jwks()))
            .with_scopes(scopes(BACKEND_SCOPES))
            .with_grant_types(vec![GrantType::ClientCredentials]),
    ]
}

/// A demo patient: its id, its name, its encounter.
pub(crate) struct DemoPatient {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) encounter: Option<&'static str>,
}

pub(crate) const PATIENTS: [DemoPatient; 2] = [
    DemoPatient {
        id: PATIENT_ID,
        name: "Amy V. Shaw",
        encounter: Some(ENCOUNTER_ID),
    },
    DemoPatient {
        id: OTHER_PATIENT_ID,
        name: "Daniel X. Adams",
        encounter: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_material_loads() {
        assert_eq!(es384_key().key_type(), "EC");
        assert_eq!(rs384_key().bits(), 2048);
        assert_eq!(id_token_key().bits(), 2048);
        assert_eq!(client_jwks().keys.len(), 2);
        assert!(!scopes(CLIENT_SCOPES).is_empty());
        assert!(!scopes(BACKEND_SCOPES).is_empty());
        assert_eq!(clients("http://127.0.0.1:1").len(), 5);
        for patient in &PATIENTS {
            assert!(crate::fhir_data::read("Patient", patient.id).is_some());
        }
    }
}
