//! A standalone launch from a command-line app: the authorization URL, the callback, the code
//! exchange, the `id_token` check, and a read of the patient in context.
//!
//! ```sh
//! cargo run -p smart-on-fhir --example standalone_launch --features openid
//! ```
//!
//! With no arguments it runs against the embedded sandbox and plays the browser itself. Against
//! a real server, set `SMART_FHIR_BASE`, `SMART_CLIENT_ID` and `SMART_REDIRECT_URI`: the
//! example prints the URL to open and reads the URL the browser lands on from standard input.
#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use std::error::Error;
use std::io::BufRead;

use smart_on_fhir::{AuthorizeOptions, ClientConfig, ClientType, SmartClient};

fn main() -> Result<(), Box<dyn Error>> {
    let sandbox;
    let (base, client_id, redirect_uri, loopback) =
        if let Ok(base) = std::env::var("SMART_FHIR_BASE") {
            (
                base,
                std::env::var("SMART_CLIENT_ID")?,
                std::env::var("SMART_REDIRECT_URI")?,
                false,
            )
        } else {
            sandbox = smart_sandbox::Sandbox::start()?;
            println!("started the embedded sandbox at {}", sandbox.base_url());
            (
                sandbox.base_url().to_owned(),
                smart_sandbox::demo::PUBLIC_CLIENT_ID.to_owned(),
                smart_sandbox::demo::REDIRECT_URI.to_owned(),
                true,
            )
        };

    let config = ClientConfig::builder(base)
        .client_id(client_id)
        .redirect_uri(redirect_uri)
        .scopes("launch/patient openid fhirUser patient/*.rs")
        .allow_insecure_localhost(loopback)
        .build()?;
    let client = SmartClient::new(config, ClientType::Public)?;

    // A nonce binds the id_token to this request.
    let nonce = smart_on_fhir::pkce::State::generate()?;
    let request =
        client.authorize(AuthorizeOptions::new().param("nonce", nonce.expose_secret())?)?;
    println!("open: {}", request.url());

    let callback = if loopback {
        // The sandbox approves at once: follow its redirect as a browser would.
        let agent: smart_on_fhir::client::ureq::Agent =
            smart_on_fhir::client::ureq::Agent::config_builder()
                .max_redirects(0)
                .proxy(None)
                .build()
                .into();
        let response = agent.get(request.url().as_str()).call()?;
        response
            .headers()
            .get("location")
            .ok_or("the sandbox did not redirect")?
            .to_str()?
            .to_owned()
    } else {
        println!("paste the URL the browser was sent back to:");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim().to_owned()
    };

    let pending = request.into_pending();
    let token = client.complete_authorization(&callback, &pending)?;
    if let Some(id_token) = token.id_token() {
        let claims = client.verify_id_token(id_token, pending.nonce())?;
        println!(
            "signed in as {}",
            claims.fhir_user().unwrap_or("(no fhirUser)")
        );
    }
    if let Some(patient) = token.context().patient() {
        let resource = client.read_resource(token.access_token(), &format!("Patient/{patient}"))?;
        println!(
            "patient in context: {} {}",
            resource["resourceType"], resource["id"]
        );
    }
    Ok(())
}
