//! CapabilityStatement (`/metadata`) parsing: the `oauth-uris` extension, for any body,
//! base URL and policy.
//!
//! Input: one selector byte (base URL, policy), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smart_core::{FhirBaseUrl, TransportPolicy};
use smart_discovery::capability_statement;

const BASES: [&str; 4] = [
    "https://ehr.example/fhir",
    "https://ehr.example/r4/",
    "http://127.0.0.1:8080/fhir",
    "https://ehr.example",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let base = FhirBaseUrl::parse(BASES[usize::from(selector & 3)]).expect("a valid base");
    let policy = TransportPolicy::new(selector & 4 != 0);
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/fhir+json")
        .body(body.to_vec())
        .expect("a valid response");
    match capability_statement::parse(&base, &response, policy) {
        Ok(uris) => {
            for finding in uris.findings() {
                let _ = finding.to_string();
            }
            let configuration = uris.into_smart_configuration();
            let _ = format!("{configuration:?}");
            let _ = configuration.compliance();
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
        }
    }
});
