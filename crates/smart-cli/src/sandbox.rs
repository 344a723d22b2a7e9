//! `smart sandbox`: the embedded SMART server as a process.

use crate::output::outln;
use smart_sandbox::{Sandbox, SandboxConfig, demo};

use crate::args::{Global, SandboxArgs};
use crate::common::{Failure, error_chain};

pub(crate) fn run(global: &Global, args: &SandboxArgs) -> Result<(), Failure> {
    let mut config = SandboxConfig::new()
        .port(args.port)
        .interactive(args.interactive);
    if let Some(path) = &args.clients {
        config = config
            .clients_from_file(path)
            .map_err(|error| Failure::usage(error_chain(&error)))?;
    }
    let sandbox =
        Sandbox::start_with(config).map_err(|error| Failure::usage(error_chain(&error)))?;
    let base = sandbox.base_url().to_owned();
    if global.json {
        outln!(
            "{}",
            serde_json::json!({"ok": true, "fhir_base": base, "token_endpoint": sandbox.token_url()})
        );
    } else {
        outln!("SMART sandbox listening at {base} (FHIR base and issuer)");
        outln!("  discovery:  {base}/.well-known/smart-configuration");
        outln!("  demo clients (public test credentials, never use them elsewhere):");
        outln!(
            "    {:<30} public, redirect {}",
            demo::PUBLIC_CLIENT_ID,
            demo::REDIRECT_URI
        );
        outln!(
            "    {:<30} client secret \"{}\"",
            demo::SYMMETRIC_CLIENT_ID,
            demo::SYMMETRIC_CLIENT_SECRET
        );
        outln!(
            "    {:<30} key crates/smart-sandbox/keys/es384.pem, kid {}",
            demo::ASYMMETRIC_CLIENT_ID,
            demo::asymmetric_kid()
        );
        outln!(
            "    {:<30} key crates/smart-sandbox/keys/rs384.pem, kid {}",
            demo::BACKEND_CLIENT_ID,
            demo::backend_kid()
        );
        outln!("  try: smart --allow-insecure-localhost discover {base}");
        outln!("Press Ctrl-C to stop.");
    }
    sandbox.wait();
    Ok(())
}
