//! SMART Backend Services with the token cache: 8 workers read FHIR with one shared
//! `client_credentials` token, requested once and renewed a buffer before it expires.
//!
//! ```sh
//! cargo run -p smart-on-fhir --example backend_services --features backend-services,session
//! ```
//!
//! It runs against the embedded sandbox and its demo backend client. Against a real server,
//! put its FHIR base, your `client_id`, key (`PrivateKey::from_pem`) and `kid` in the builder.
#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use std::sync::Arc;

use smart_on_fhir::session::{BackendTokenCache, SessionConfig};
use smart_on_fhir::{ClientConfig, ClientType, SmartClient};
use smart_sandbox::{Sandbox, demo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start()?;
    let config = ClientConfig::builder(sandbox.base_url())
        .client_id(demo::BACKEND_CLIENT_ID)
        .private_key(demo::backend_key())
        .kid(demo::backend_kid())
        .scopes("system/Patient.rs")
        .allow_insecure_localhost(true)
        .build()?;
    let client = SmartClient::new(config, ClientType::ConfidentialAsymmetric)?;
    let cache = Arc::new(BackendTokenCache::new(client, SessionConfig::new()));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let cache = Arc::clone(&cache);
            std::thread::spawn(
                move || -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
                    let token = cache.access_token(None)?; // one request for all 8 workers
                    let patient = cache
                        .source()
                        .read_resource(&token, "Patient/sandbox-patient-1")?;
                    Ok(patient["id"].as_str().unwrap_or("?").to_owned())
                },
            )
        })
        .collect();
    for worker in workers {
        let id = worker
            .join()
            .map_err(|_| "a worker panicked")?
            .map_err(|e| e.to_string())?;
        println!("read Patient/{id}");
    }
    let requests = sandbox
        .token_requests(demo::BACKEND_CLIENT_ID)
        .client_credentials;
    println!("token requests: {requests} for 8 workers");
    Ok(())
}
