//! The UDAP flows of the harness (`smart demo`, `cargo xtask conformance`): signed discovery,
//! registration with a software statement, and a B2B token with an `x5c` assertion.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use smart_client::core::{ClientId, FhirBaseUrl, SystemClock, TokenUrl, TransportPolicy};
use smart_client::token::TokenRequest;
use smart_client::token::scope::ScopeSet;
use smart_client::{HttpClient as _, HttpOptions, UreqClient};
use smart_udap::{
    B2bExtension, Crl, TrustPolicy, UdapClientAssertion, UdapCredentials, UdapRegistration,
    VerifiedUdapMetadata, X509Certificate, discovery_request, read_discovery, read_registration,
};

use crate::profile::{Profile, error_text as error_chain};
use crate::report::{StepResult, fail};
use crate::transcript::Transcript;

/// The demo's UDAP client URI (a URI SAN of its certificate).
pub(crate) const CLIENT_URI: &str = "https://demo.example/udap-client";
/// What the B2B client asks for.
const B2B_SCOPE: &str = "system/Patient.rs";

/// What the UDAP flows need: whom to trust, and the client's certificate and key.
#[expect(missing_debug_implementations, reason = "holds a private key")]
pub struct UdapProfile {
    /// The trust anchors the signed metadata must chain to.
    pub anchors: Vec<X509Certificate>,
    /// The CRLs checked along the chain.
    pub crls: Vec<Crl>,
    /// The client certificate chain and its key.
    pub credentials: Arc<UdapCredentials>,
    /// The client URI (a URI SAN of the certificate).
    pub client_uri: String,
}

fn policy(profile: &Profile<'_>, udap: &UdapProfile) -> TrustPolicy {
    let mut policy = TrustPolicy::new(udap.anchors.clone())
        .with_transport(TransportPolicy::new(profile.allow_insecure_localhost));
    for crl in &udap.crls {
        policy = policy.with_crl(crl.clone());
    }
    policy
}

fn b2b_metadata() -> Map<String, Value> {
    let mut metadata = Map::new();
    metadata.insert("client_name".into(), json!("Demo UDAP B2B client"));
    metadata.insert("contacts".into(), json!(["mailto:ops@demo.example"]));
    metadata.insert("scope".into(), json!(B2B_SCOPE));
    metadata.insert("grant_types".into(), json!(["client_credentials"]));
    metadata
}

fn http(timeout: Duration) -> Result<UreqClient, String> {
    UreqClient::new(&HttpOptions::new().timeout(timeout)).map_err(|e| error_chain(&e))
}

/// Runs the UDAP steps (skipped without a UDAP profile).
#[expect(
    clippy::too_many_lines,
    reason = "one linear script of the three UDAP steps, in the order the transcript tells them"
)]
pub(crate) fn run(
    profile: &Profile<'_>,
    out: &Transcript<'_>,
    step: &mut dyn FnMut(&str, Result<StepResult, String>),
    title: &dyn Fn(&str),
) {
    let verified: RefCell<Option<VerifiedUdapMetadata>> = RefCell::new(None);
    let client_id: RefCell<Option<ClientId>> = RefCell::new(None);
    let none = || "no UDAP trust anchors or client certificate configured".to_owned();

    title("UDAP discovery: signed metadata verified to the trust anchors");
    step(
        "UDAP discovery (signed metadata)",
        profile.udap.as_ref().ok_or_else(none).map(|udap| {
            let base = FhirBaseUrl::parse(profile.fhir_base.clone()).map_err(|e| e.to_string())?;
            let request = discovery_request(&base, None).map_err(|e| error_chain(&e))?;
            out.line(format!("GET {}", request.uri()));
            let response = http(profile.timeout)?
                .send(request)
                .map_err(|e| error_chain(&e))?;
            let metadata =
                read_discovery(&base, None, &response, &policy(profile, udap), &SystemClock)
                    .map_err(|e| error_chain(&e))?;
            out.line(format!(
                "signed_metadata verified: RS256 by {}, chain and CRLs checked",
                metadata.signed().leaf().subject()
            ));
            let report = metadata.metadata().conformance();
            if !report.is_conformant() {
                return Err(fail!(
                    "{} conformance finding(s): {}",
                    report.findings().len(),
                    report
                        .findings()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
            out.line("conformance report: no findings");
            *verified.borrow_mut() = Some(metadata);
            Ok(())
        }),
    );

    title("UDAP Dynamic Client Registration: an X.509-signed software statement");
    step(
        "UDAP registration (software statement)",
        match (profile.udap.as_ref(), verified.borrow().as_ref()) {
            (None, _) => Err(none()),
            (_, None) => Err("UDAP discovery did not pass".to_owned()),
            (Some(udap), Some(metadata)) => Ok((|| -> StepResult {
                let request =
                    UdapRegistration::new(metadata, &udap.credentials, udap.client_uri.clone())
                        .register_request(&b2b_metadata())
                        .map_err(|e| error_chain(&e))?;
                out.line(format!(
                    "POST {} (software_statement, udap=1)",
                    request.uri()
                ));
                let response = http(profile.timeout)?
                    .send(request)
                    .map_err(|e| error_chain(&e))?;
                let client = read_registration(&response).map_err(|e| error_chain(&e))?;
                out.line(format!(
                    "registered client_id {} (HTTP {})",
                    client.client_id().as_str(),
                    response.status().as_u16()
                ));
                *client_id.borrow_mut() = Some(client.client_id().clone());
                Ok(())
            })()),
        },
    );

    title("UDAP B2B token: client_credentials with an x5c assertion and hl7-b2b");
    step(
        "UDAP B2B token (x5c assertion)",
        match (
            profile.udap.as_ref(),
            verified.borrow().as_ref(),
            client_id.borrow().clone(),
        ) {
            (None, _, _) => Err(none()),
            (_, None, _) | (_, _, None) => Err("UDAP registration did not pass".to_owned()),
            (Some(udap), Some(metadata), Some(client_id)) => Ok((|| -> StepResult {
                let advertised = metadata
                    .metadata()
                    .token_endpoint_auth_signing_alg_values_supported()
                    .unwrap_or_default();
                let b2b = B2bExtension::new(
                    "https://demo.example/organization",
                    vec!["urn:oid:2.16.840.1.113883.5.8#TREAT".to_owned()],
                );
                let auth =
                    UdapClientAssertion::new(Arc::clone(&udap.credentials), &advertised, None)
                        .map_err(|e| error_chain(&e))?
                        .with_b2b(&b2b)
                        .into_client_auth(client_id);
                let token_url = TokenUrl::parse(metadata.signed().token_endpoint().as_str())
                    .map_err(|e| e.to_string())?;
                let scope = ScopeSet::parse(B2B_SCOPE).map_err(|e| e.to_string())?;
                let request = TokenRequest::client_credentials(Some(&scope))
                    .and_then(|request| request.build(&token_url, &auth))
                    .map_err(|e| error_chain(&e))?;
                out.line(format!(
                    "POST {token_url} (client_assertion with x5c, udap=1)"
                ));
                let response = http(profile.timeout)?
                    .send(request)
                    .map_err(|e| error_chain(&e))?;
                let token = smart_client::token::TokenResponse::parse(&response)
                    .map_err(|e| error_chain(&e))?;
                out.line(format!(
                    "access token issued (expires_in {}), scope {}",
                    token
                        .expires_in()
                        .map_or_else(|| "-".to_owned(), |s| s.to_string()),
                    token
                        .scope()
                        .map_or_else(|| "-".to_owned(), ToString::to_string)
                ));
                Ok(())
            })()),
        },
    );
}
