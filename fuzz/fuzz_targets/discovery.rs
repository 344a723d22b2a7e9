//! `.well-known/smart-configuration` and OpenID configuration parsing, and everything a
//! parsed configuration answers (capabilities, compliance), for any body, base URL and
//! policy.
//!
//! Input: one selector byte (base URL, policy, status), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smart_core::{FhirBaseUrl, IssuerUrl, TransportPolicy};

const BASES: [&str; 4] = [
    "https://ehr.example/fhir",
    "https://ehr.example/r4/",
    "http://localhost:8080/fhir?tenant=1",
    "https://ehr.example",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let base = FhirBaseUrl::parse(BASES[usize::from(selector & 3)]).expect("a valid base");
    let policy = TransportPolicy::new(selector & 4 != 0);
    let status = if selector & 8 == 0 { 200 } else { 203 };
    let response = http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .expect("a valid response");

    match smart_discovery::parse(&base, &response, policy) {
        Ok(configuration) => {
            let _ = format!("{configuration:?}");
            let report = configuration.compliance();
            for finding in report.iter() {
                let _ = finding.to_string();
            }
            let _ = configuration.supports_ehr_launch();
            let _ = configuration.supports_standalone_launch();
            let _ = configuration.supports_public_auth();
            let _ = configuration.supports_symmetric_auth();
            let _ = configuration.supports_asymmetric_auth();
            let _ = configuration.asymmetric_signing_algorithms_supported();
            let _ = configuration.supports_backend_services();
            let _ = configuration.supports_dynamic_registration();
            let _ = configuration.supports_post_based_authorization();
            let _ = configuration.supports_openid_connect();
            for finding in configuration.findings() {
                let _ = finding.to_string();
            }
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
        }
    }

    let issuer = IssuerUrl::parse("https://ehr.example/auth").expect("a valid issuer");
    match smart_discovery::openid::parse(&issuer, &response, policy) {
        Ok(configuration) => {
            let _ = format!("{configuration:?}");
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
        }
    }
});
