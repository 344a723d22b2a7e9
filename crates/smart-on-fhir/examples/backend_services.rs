//! SMART Backend Services: a `client_credentials` token with a signed assertion, then a FHIR
//! read.
//!
//! ```sh
//! cargo run -p smart-on-fhir --example backend_services --features backend-services
//! ```
//!
//! With no arguments it starts the embedded sandbox and uses its demo backend client. Against
//! a real server, set `SMART_FHIR_BASE`, `SMART_CLIENT_ID`, `SMART_KEY_FILE` (PEM) and
//! optionally `SMART_KID` and `SMART_SCOPE`.
#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use std::error::Error;

use smart_on_fhir::jwt::PrivateKey;
use smart_on_fhir::{ClientConfig, ClientType, SmartClient};

fn main() -> Result<(), Box<dyn Error>> {
    // Either the embedded sandbox, or the server named in the environment.
    let sandbox;
    let (base, client_id, key, kid, scope, loopback) =
        if let Ok(base) = std::env::var("SMART_FHIR_BASE") {
            let key =
                PrivateKey::from_pem(&std::fs::read_to_string(std::env::var("SMART_KEY_FILE")?)?)?;
            (
                base,
                std::env::var("SMART_CLIENT_ID")?,
                key,
                std::env::var("SMART_KID").ok(),
                std::env::var("SMART_SCOPE").ok(),
                false,
            )
        } else {
            sandbox = smart_sandbox::Sandbox::start()?;
            println!("started the embedded sandbox at {}", sandbox.base_url());
            (
                sandbox.base_url().to_owned(),
                smart_sandbox::demo::BACKEND_CLIENT_ID.to_owned(),
                smart_sandbox::demo::backend_key(),
                Some(smart_sandbox::demo::backend_kid().to_owned()),
                Some("system/Patient.rs".to_owned()),
                true,
            )
        };

    let mut builder = ClientConfig::builder(base)
        .client_id(client_id)
        .private_key(key)
        .allow_insecure_localhost(loopback);
    if let Some(kid) = kid {
        builder = builder.kid(kid);
    }
    if let Some(scope) = scope {
        builder = builder.scopes(scope);
    }
    let client = SmartClient::new(builder.build()?, ClientType::ConfidentialAsymmetric)?;

    // Discovery happens here, once; every token request signs a fresh assertion.
    let token = client.backend_services_token(None)?;
    println!(
        "token: expires in {:?} s, scope {:?}",
        token.expires_in(),
        token.scope().map(ToString::to_string)
    );
    for finding in token
        .validate(smart_on_fhir::token::Flow::BackendServices)
        .findings()
    {
        println!("note: {finding}");
    }

    let patient = client.read_resource(token.access_token(), "Patient/sandbox-patient-1");
    match patient {
        Ok(patient) => println!("read Patient/{}", patient["id"].as_str().unwrap_or("?")),
        Err(error) => println!("FHIR read: {error}"),
    }
    Ok(())
}
