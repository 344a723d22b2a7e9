//! A standalone launch with the async shell: the authorization URL, the callback, the code
//! exchange, the `id_token` check, and a read of the patient in context, on tokio with the
//! reqwest transport.
//!
//! ```sh
//! cargo run -p smart-on-fhir --example async_standalone_launch --features openid,reqwest
//! ```
//!
//! It runs against the embedded sandbox, which approves at once, and plays the browser
//! itself; `standalone_launch` (the blocking form) shows how to run it against a real server.
#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use std::error::Error;

use smart_on_fhir::{AsyncSmartClient, AuthorizeOptions, ClientConfig, ClientType};

fn main() -> Result<(), Box<dyn Error>> {
    let sandbox = smart_sandbox::Sandbox::start()?;
    println!("started the embedded sandbox at {}", sandbox.base_url());
    let config = ClientConfig::builder(sandbox.base_url())
        .client_id(smart_sandbox::demo::PUBLIC_CLIENT_ID)
        .redirect_uri(smart_sandbox::demo::REDIRECT_URI)
        .scopes("launch/patient openid fhirUser patient/*.rs")
        .allow_insecure_localhost(true)
        .build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(config))
}

async fn run(config: ClientConfig) -> Result<(), Box<dyn Error>> {
    let client = AsyncSmartClient::new(config, ClientType::Public)?;

    // A nonce binds the id_token to this request.
    let nonce = smart_on_fhir::pkce::State::generate()?;
    let request = client
        .authorize(AuthorizeOptions::new().param("nonce", nonce.expose_secret())?)
        .await?;
    println!("open: {}", request.url());

    // The browser's part: follow the sandbox's redirect back to the app. (The re-exported
    // reqwest has no TLS provider of its own: start from the transport's builder.)
    let options = smart_on_fhir::client::HttpOptions::new();
    let browser = smart_on_fhir::client::ReqwestClient::client_builder(&options)?.build()?;
    let answer = browser.get(request.url().as_str()).send().await?;
    let callback = answer
        .headers()
        .get("location")
        .ok_or("the sandbox did not redirect")?
        .to_str()?
        .to_owned();

    let pending = request.into_pending(); // a web app keeps this in its session store
    let token = client.complete_authorization(&callback, &pending).await?;
    if let Some(id_token) = token.id_token() {
        let claims = client.verify_id_token(id_token, pending.nonce()).await?;
        println!(
            "signed in as {}",
            claims.fhir_user().unwrap_or("(no fhirUser)")
        );
    }
    if let Some(patient) = token.context().patient() {
        let resource = client
            .read_resource(token.access_token(), &format!("Patient/{patient}"))
            .await?;
        println!(
            "patient in context: {} {}",
            resource["resourceType"], resource["id"]
        );
    }
    Ok(())
}
