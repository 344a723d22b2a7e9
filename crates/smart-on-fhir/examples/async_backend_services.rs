//! SMART Backend Services with the async shell: a `client_credentials` token with a signed
//! assertion, then a FHIR read, on tokio with the reqwest transport.
//!
//! ```sh
//! cargo run -p smart-on-fhir --example async_backend_services --features backend-services,reqwest
//! ```
//!
//! It runs against the embedded sandbox and its demo backend client; `backend_services` (the
//! blocking form) shows the settings for a real server.
#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use std::error::Error;

use smart_on_fhir::{AsyncSmartClient, ClientConfig, ClientType};

fn main() -> Result<(), Box<dyn Error>> {
    let sandbox = smart_sandbox::Sandbox::start()?;
    println!("started the embedded sandbox at {}", sandbox.base_url());
    let config = ClientConfig::builder(sandbox.base_url())
        .client_id(smart_sandbox::demo::BACKEND_CLIENT_ID)
        .private_key(smart_sandbox::demo::backend_key())
        .kid(smart_sandbox::demo::backend_kid())
        .scopes("system/Patient.rs")
        .allow_insecure_localhost(true)
        .build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(config))
}

async fn run(config: ClientConfig) -> Result<(), Box<dyn Error>> {
    let client = AsyncSmartClient::new(config, ClientType::ConfidentialAsymmetric)?;
    // Discovery happens here, once; every token request signs a fresh assertion. The futures
    // are `Send`: the same calls work inside `tokio::spawn` and axum handlers.
    let token = tokio::spawn({
        let client = client.clone();
        async move { client.backend_services_token(None).await }
    })
    .await??;
    println!(
        "token: expires in {:?} s, scope {:?}",
        token.expires_in(),
        token.scope().map(ToString::to_string)
    );
    let patient = client
        .read_resource(token.access_token(), "Patient/sandbox-patient-1")
        .await?;
    println!("read Patient/{}", patient["id"].as_str().unwrap_or("?"));
    Ok(())
}
