//! `smart sandbox`: the embedded SMART server as a process.

use smart_sandbox::{Sandbox, SandboxConfig, demo};

use crate::args::{Global, SandboxArgs};
use crate::common::Failure;

pub(crate) fn run(global: &Global, args: &SandboxArgs) -> Result<(), Failure> {
    let mut config = SandboxConfig::new()
        .port(args.port)
        .interactive(args.interactive);
    if let Some(path) = &args.clients {
        config = config
            .clients_from_file(path)
            .map_err(|error| Failure::usage(error.to_string()))?;
    }
    let sandbox = Sandbox::start_with(config).map_err(|error| Failure::usage(error.to_string()))?;
    let base = sandbox.base_url().to_owned();
    if global.json {
        println!(
            "{}",
            serde_json::json!({"ok": true, "fhir_base": base, "token_endpoint": sandbox.token_url()})
        );
    } else {
        println!("SMART sandbox listening at {base} (FHIR base and issuer)");
        println!("  discovery:  {base}/.well-known/smart-configuration");
        println!("  demo clients (public test credentials, never use them elsewhere):");
        println!(
            "    {:<30} public, redirect {}",
            demo::PUBLIC_CLIENT_ID,
            demo::REDIRECT_URI
        );
        println!(
            "    {:<30} client secret \"{}\"",
            demo::SYMMETRIC_CLIENT_ID,
            demo::SYMMETRIC_CLIENT_SECRET
        );
        println!(
            "    {:<30} key crates/smart-sandbox/keys/es384.pem, kid {}",
            demo::ASYMMETRIC_CLIENT_ID,
            demo::asymmetric_kid()
        );
        println!(
            "    {:<30} key crates/smart-sandbox/keys/rs384.pem, kid {}",
            demo::BACKEND_CLIENT_ID,
            demo::backend_kid()
        );
        println!("  try: smart --allow-insecure-localhost discover {base}");
        println!("Press Ctrl-C to stop.");
    }
    sandbox.wait();
    Ok(())
}
