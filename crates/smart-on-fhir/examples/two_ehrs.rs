//! One app registered at two EHRs: an issuer registry with a public client at the first and
//! a confidential one (its secret read from a file, never written in the registry) at the
//! second, and an EHR
//! launch from each, as each EHR's launch link would start it. A link from an EHR the app does
//! not know is refused before any request.
//!
//! ```sh
//! cargo run -p smart-on-fhir --example two_ehrs --features client-confidential-symmetric,openid
//! ```
//!
//! Both EHRs are embedded sandboxes on loopback.
#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use std::error::Error;

use smart_on_fhir::client::registry::{EhrSettings, IssuerRegistry, SecretRef};
use smart_on_fhir::client::ureq;
use smart_on_fhir::{AuthorizeOptions, ClientType};
use smart_sandbox::{LaunchContext, Sandbox, demo};

fn main() -> Result<(), Box<dyn Error>> {
    let (first, second) = (Sandbox::start()?, Sandbox::start()?);
    // The second EHR's client secret, kept outside the registry (SecretRef::Env works too).
    let secret_file = std::env::temp_dir().join(format!("two-ehrs-{}.secret", std::process::id()));
    std::fs::write(&secret_file, demo::SYMMETRIC_CLIENT_SECRET)?;
    let scopes = "openid fhirUser patient/*.rs";
    let registry = IssuerRegistry::new(vec![
        EhrSettings::new(
            "first",
            first.base_url(),
            demo::PUBLIC_CLIENT_ID,
            ClientType::Public,
        )
        .redirect_uri(demo::REDIRECT_URI)
        .scopes(scopes)
        .allow_insecure_localhost(true),
        EhrSettings::new(
            "second",
            second.base_url(),
            demo::SYMMETRIC_CLIENT_ID,
            ClientType::ConfidentialSymmetric,
        )
        .client_secret(SecretRef::File(secret_file.clone()))
        .redirect_uri(demo::REDIRECT_URI)
        .scopes(scopes)
        .allow_insecure_localhost(true),
    ])?;

    for ehr in [&first, &second] {
        // What the EHR's launch link carries: `?iss=...&launch=...`.
        let (iss, launch) = (ehr.base_url(), ehr.launch(LaunchContext::demo()));
        let client = registry.client_for(iss)?;
        let request = client.authorize(AuthorizeOptions::new().ehr_launch(iss, launch))?;
        // The sandbox approves at once: follow its redirect as the browser would.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .proxy(None)
            .build()
            .into();
        let answer = agent.get(request.url().as_str()).call()?;
        let callback = answer
            .headers()
            .get("location")
            .ok_or("the sandbox did not redirect")?
            .to_str()?;
        let token = client.complete_authorization(callback, request.pending())?;
        println!(
            "{}: launched as {}, patient {}, id_token verified",
            registry.settings(iss)?.name(),
            client.config().client_id().map_or("-", |id| id.as_str()),
            token.context().patient().unwrap_or("-")
        );
    }

    let refused = registry.client_for("https://unknown-ehr.example/fhir");
    println!(
        "an unknown EHR: {}",
        refused.err().ok_or("it was accepted")?
    );
    std::fs::remove_file(secret_file)?;
    Ok(())
}
